"""Follow-up visits: what a station reads and what it records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from libs.api.schemas import RequestModel, example
from libs.db import beijing_date

FollowUpState = Literal["due", "overdue", "done", "cancelled"]

_VISIT = {
    "visited_on": "2026-12-20",
    "still_employed": True,
    "contract_signed": True,
    "insurance_paid": True,
    "wages_on_time": False,
    "problem": "11 月工资推迟两周发放",
}


class FollowUpOut(BaseModel):
    model_config = example(
        {
            "id": "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d",
            "placement_id": "b8c9d0e1-f2a3-4b4c-9d5e-6f7a8b9c0d1e",
            "person_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
            "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "start_date": "2026-11-20",
            "months": 1,
            "due_on": "2026-12-20",
            "state": "done",
            **_VISIT,
            "recorded_at": "2026-12-20T15:00:00+08:00",
        }
    )

    id: str
    placement_id: str
    person_id: str
    station_id: str
    job_id: str
    start_date: date
    months: int = Field(description="到岗后第几个月的回访")
    due_on: date
    state: FollowUpState = Field(description="due 待回访；overdue 已逾期；done 已回访；cancelled 已离岗取消")
    visited_on: date | None
    still_employed: bool | None
    contract_signed: bool | None
    insurance_paid: bool | None
    wages_on_time: bool | None
    problem: str | None
    recorded_at: datetime | None


class FollowUpIn(RequestModel):
    """One visit. Unknown answers stay null; `still_employed` is what the visit is for, so it must be given."""

    multiline_fields = frozenset({"problem"})
    model_config = example(_VISIT)

    visited_on: date
    still_employed: bool = Field(description="是否仍在岗")
    contract_signed: bool | None = Field(default=None, description="是否签订劳动合同")
    insurance_paid: bool | None = Field(default=None, description="是否缴纳社会保险")
    wages_on_time: bool | None = Field(default=None, description="工资是否足额按时发放")
    problem: str | None = Field(default=None, max_length=1000, description="反映的问题")

    @field_validator("visited_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > beijing_date():
            raise ValueError("回访日期不能晚于今天")
        return value
