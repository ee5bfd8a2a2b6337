"""The eligible-for-policy lists' request and response models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from libs.api.pagination import Page
from libs.api.schemas import RequestModel, example

Status = Literal["eligible", "notified", "applied", "granted", "refused", "withdrawn"]
Action = Literal["notified", "applied", "granted", "refused"]

STATUS_NAMES: dict[str, str] = {
    "eligible": "符合条件（待告知）",
    "notified": "已告知",
    "applied": "已申请",
    "granted": "已发放",
    "refused": "不予发放",
    "withdrawn": "条件不再满足",
}
WHAT_NAMES: dict[str, str] = {
    "found": "经比对符合条件",
    "facts": "依据的情况有变化",
    "withdrawn": "条件不再满足",
    "restored": "重新符合条件",
    "notified": "已告知本人（单位）",
    "applied": "已提出申请",
    "granted": "已发放",
    "refused": "不予发放",
}

CLAIM = {
    "id": "5b1d7c44-2a51-4a8e-9c53-1f0a3e2d9b77",
    "policy_code": "transport-subsidy",
    "policy_name": "跨省就业一次性交通补贴",
    "policy_version": 2,
    "beneficiary": "worker",
    "beneficiary_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "person_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "station_id": "3f1c2b5e-8d7a-4c2e-9b1a-6d5e4f3a2b1c",
    "province_code": "52",
    "city_code": "3205",
    "employer_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "base_id": None,
    "occasion": "placement",
    "occasion_id": "a3bb189e-8bf9-3888-9912-ace4e6543002",
    "period_key": "2026",
    "eligible_on": "2026-06-01",
    "facts": {"as_of": "2026-06-01", "placement.months_employed": 3, "placement.cross_province": True},
    "status": "eligible",
    "status_name": "符合条件（待告知）",
    "amount": None,
    "granted_on": None,
    "reason": None,
    "updated_at": "2026-06-01T01:00:00Z",
}


class Claim(BaseModel):
    """One beneficiary's claim under one item for one occasion (a placement, a training, an employer's year):
    the facts on the day it arose, and where the officers' work on it stands."""

    model_config = example(CLAIM)

    id: str
    policy_code: str
    policy_name: str
    policy_version: int = Field(description="作出判断时的政策项目版本")
    beneficiary: str
    beneficiary_id: str
    person_id: str | None = Field(description="劳动者的随机编号（不含姓名、身份证号）")
    station_id: str | None
    province_code: str | None
    city_code: str | None
    employer_id: str | None
    base_id: str | None
    occasion: str
    occasion_id: str
    period_key: str = Field(
        description="同一人（单位）同一项目同一期间只能发放一次：once | 年份 | 就业（培训）编号"
    )
    eligible_on: date = Field(description="符合条件之日")
    facts: dict[str, Any] = Field(description="符合条件之日的事实（政策用语见 GET /v1/policy-vocabulary）")
    status: str
    status_name: str
    amount: Decimal | None
    granted_on: date | None
    reason: str | None
    updated_at: datetime


class ClaimChange(BaseModel):
    status: str
    what: str
    what_name: str
    by: str
    at: datetime
    note: str | None
    facts: dict[str, Any] | None


class ClaimDetail(Claim):
    model_config = example(
        {
            **CLAIM,
            "history": [
                {
                    "status": "eligible",
                    "what": "found",
                    "what_name": "经比对符合条件",
                    "by": "system",
                    "at": "2026-06-01T01:00:00Z",
                    "note": None,
                    "facts": CLAIM["facts"],
                }
            ],
        }
    )

    history: list[ClaimChange]


class ClaimPage(Page[Claim]):
    pass


class ClaimAction(RequestModel):
    """An officer's step on a claim: told the beneficiary, they applied, granted (amount and day) or refused
    (with the reason)."""

    model_config = example(
        {"action": "granted", "amount": "500.00", "granted_on": "2026-07-15", "note": "已发放到社保卡"}
    )
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"note", "reason"})

    action: Action = Field(description="notified 已告知 | applied 已申请 | granted 已发放 | refused 不予发放")
    amount: Decimal | None = Field(
        default=None, ge=0, le=1_000_000, decimal_places=2, description="发放金额（元）"
    )
    granted_on: date | None = Field(default=None, description="发放日期（默认今天）")
    reason: str | None = Field(default=None, min_length=2, max_length=500, description="不予发放的原因")
    note: str | None = Field(default=None, max_length=500, description="备注")
