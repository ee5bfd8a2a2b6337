"""The live-stream sign-up and call-back list contract: what the board posts, what a station reads."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from libs.api.schemas import RequestModel, example
from libs.pii import PiiError, normalise_phone

STREAM_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_STREAM_ID = re.compile(STREAM_ID_PATTERN)
_NAME_MARKS = frozenset("·•・.． ")
LeadStatus = Literal["new", "contacted", "registered"]

RECEIVED_MESSAGE = "报名已提交：劳务联络站工作人员会尽快与您联系，确认报名并帮您办理后续手续。"
# What the viewer agrees to by ticking the box; the page shows these words (tests/integration/test_live_board.py
# checks that it does) and every kept sign-up stores them with the time.
LIVE_SIGNUP_CONSENT = (
    "我同意将本人姓名和手机号提供给所选的劳务联络站，用于回电联系、办理务工登记，并向所选岗位的用人单位报名"
)
CONSENT_REQUIRED = "请阅读并勾选“同意授权”：联络站需要您的姓名和手机号才能联系您、为您报名"


def normalise_name(value: str) -> str:
    """The spelling names are compared in: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


class LiveSignupIn(RequestModel):
    """The board's sign-up form; each refusal names its field with a message a viewer understands."""

    model_config = example(
        {
            "stream_id": "kuaishou-live-7",
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
            "name": "李娟",
            "phone": "13712345678",
            "consent": True,
        }
    )

    stream_id: str = Field(description="直播间编号（页面地址中的 stream_id）")
    job_id: str = Field(description="报名的岗位")
    station_id: str = Field(description="户籍所在地的劳务联络站")
    name: str = Field(description="姓名")
    phone: str = Field(description="11 位手机号")
    consent: bool = Field(description=f"已勾选个人信息授权（须为 true）：{LIVE_SIGNUP_CONSENT}")

    @field_validator("stream_id")
    @classmethod
    def _stream(cls, value: str) -> str:
        if not _STREAM_ID.match(value):
            raise ValueError("直播间编号无效：请从直播间提供的链接打开报名页面")
        return value

    @field_validator("job_id")
    @classmethod
    def _job(cls, value: str) -> str:
        if not value or len(value) > 36:
            raise ValueError("请选择要报名的岗位")
        return value

    @field_validator("station_id")
    @classmethod
    def _station(cls, value: str) -> str:
        if not value or len(value) > 36:
            raise ValueError("请选择户籍所在地的联络站")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = unicodedata.normalize("NFKC", value).strip()
        if not 2 <= len(name) <= 30 or not all(c.isalpha() or c in _NAME_MARKS for c in name):
            raise ValueError("请填写真实姓名（2 至 30 个字，不含数字和符号）")
        return name

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalise_phone(value[:30])
        except PiiError as error:
            raise ValueError(f"{error}，请检查后重新填写") from error

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(CONSENT_REQUIRED)
        return value


class LiveSignupOut(BaseModel):
    """The same for a registered worker and for anyone else: the answer tells a caller nothing about who is
    registered."""

    model_config = example(
        {
            "status": "received",
            "message": RECEIVED_MESSAGE,
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "stream_id": "kuaishou-live-7",
        }
    )

    status: Literal["received"] = "received"
    message: str = RECEIVED_MESSAGE
    job_id: str
    stream_id: str


class LeadOut(BaseModel):
    model_config = example(
        {
            "id": "a4b5c6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d",
            "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
            "province_code": "61",
            "stream_id": "kuaishou-live-7",
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "job_title": "电子产品装配工",
            "employer_name": "苏州精密电子有限公司",
            "city_code": "3205",
            "name": "李娟",
            "phone_masked": "137****5678",
            "status": "new",
            "person_id": None,
            "consent_given_at": "2026-11-20T20:15:00+08:00",
            "consent_scope": LIVE_SIGNUP_CONSENT,
            "created_at": "2026-11-20T20:15:00+08:00",
            "updated_at": "2026-11-20T20:15:00+08:00",
        }
    )

    id: str
    station_id: str
    province_code: str
    stream_id: str
    job_id: str
    job_title: str | None
    employer_name: str | None
    city_code: str | None
    name: str | None
    phone_masked: str | None
    status: str
    person_id: str | None
    consent_given_at: datetime | None = Field(description="报名时勾选授权的时间")
    consent_scope: str | None = Field(description="勾选时页面上的授权说明")
    created_at: datetime
    updated_at: datetime


class LeadPatch(RequestModel):
    model_config = example({"status": "contacted"})

    status: Literal["new", "contacted"] = Field(description="回访进度；registered 由登记自动设置")


class LeadPhone(BaseModel):
    model_config = example({"id": "a4b5c6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d", "phone": "13712345678"})

    id: str
    phone: str
