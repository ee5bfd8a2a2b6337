"""Training's public contract (API.md): requests validated field by field, responses typed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from libs.api.schemas import RequestModel, example
from libs.reference.occupations import is_occupation_code
from libs.reference.regions import is_province_code

JIANGSU = "32"
BaseKind = Literal["origin", "jiangsu"]
EnrolmentStatus = Literal["enrolled", "completed"]
Id = Annotated[str, Field(min_length=1, max_length=36)]
ShortText = Annotated[str, Field(min_length=1, max_length=30)]


class Strict(RequestModel):
    pass


BASE_ID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
PROGRAMME_ID = "8f9a0b1c-2d3e-4f4a-8b5c-6d7e8f9a0b1c"
ENROLMENT_ID = "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b"
_BASE_IN = {
    "name": "西安新城区订单式培训基地",
    "kind": "origin",
    "province_code": "61",
    "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
}
_ORDER = {
    "employer_id": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "job_ids": ["5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"],
    "committed_hires": 15,
}
_PROGRAMME_IN = {
    "base_id": BASE_ID,
    "title": "电子设备装接工订单班",
    "occupation_code": "6-25-04-07",
    "skills": ["电子装配", "焊接"],
    "capacity": 30,
    "starts_on": "2027-03-01",
    "ends_on": "2027-03-28",
    "order": _ORDER,
}


class TrainingBaseCreate(Strict):
    model_config = example(_BASE_IN)

    name: str = Field(min_length=2, max_length=100)
    kind: BaseKind = Field(description="origin：输出地（中西部）基地；jiangsu：江苏基地")
    province_code: str = Field(pattern=r"^\d{2}$", description="GB/T 2260 省级代码")
    station_id: Id | None = Field(default=None, description="所属劳务联络站（输出地基地）")
    employer_id: Id | None = Field(default=None, description="依托的用人单位（江苏基地）")

    @field_validator("province_code")
    @classmethod
    def _province(cls, value: str, info: ValidationInfo) -> str:
        if not is_province_code(value):
            raise ValueError("province_code 不是有效的省级行政区划代码（GB/T 2260）")
        kind = info.data.get("kind")
        if kind == "jiangsu" and value != JIANGSU:
            raise ValueError("江苏基地（kind=jiangsu）的 province_code 必须是 32")
        if kind == "origin" and value == JIANGSU:
            raise ValueError("输出地基地（kind=origin）的 province_code 不能是 32（江苏）")
        return value


class TrainingBase(BaseModel):
    model_config = example(
        {"id": BASE_ID, **_BASE_IN, "employer_id": None, "created_at": "2026-11-20T09:30:00+08:00"}
    )

    id: str
    name: str
    kind: BaseKind
    province_code: str
    station_id: str | None
    employer_id: str | None
    created_at: datetime


class Order(Strict):
    """订单式培训: the employer that ordered the course, the jobs it trains for, how many it will hire."""

    employer_id: Id
    job_ids: list[Id] = Field(default_factory=list, max_length=50)
    committed_hires: int = Field(default=0, ge=0, le=10000)


class ProgrammeCreate(Strict):
    model_config = example(_PROGRAMME_IN)

    base_id: Id
    title: str = Field(min_length=2, max_length=100)
    occupation_code: str = Field(max_length=20)
    skills: list[ShortText] = Field(default_factory=list, max_length=30)
    capacity: int = Field(ge=1, le=10000)
    starts_on: date
    ends_on: date
    order: Order | None = None

    @field_validator("occupation_code")
    @classmethod
    def _occupation(cls, value: str) -> str:
        if not is_occupation_code(value):
            raise ValueError("未知的职业代码（国家职业分类大典格式，如 6-18-01-01）")
        return value

    @field_validator("ends_on")
    @classmethod
    def _dates(cls, value: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and value < starts_on:
            raise ValueError("ends_on 不能早于 starts_on")
        return value


class Programme(BaseModel):
    model_config = example(
        {
            "id": PROGRAMME_ID,
            **_PROGRAMME_IN,
            "seats_taken": 12,
            "seats_left": 18,
            "created_at": "2026-11-20T09:30:00+08:00",
        }
    )

    id: str
    base_id: str
    title: str
    occupation_code: str
    skills: list[str]
    capacity: int
    seats_taken: int
    seats_left: int
    starts_on: date
    ends_on: date
    order: Order | None
    created_at: datetime


class EnrolmentCreate(Strict):
    model_config = example({"person_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"})

    person_id: Id


class Completion(Strict):
    model_config = example({"certificate": "电子设备装接工（五级）证书", "completed_on": "2026-11-28"})

    certificate: str | None = Field(default=None, min_length=1, max_length=100, description="证书名称或编号")
    completed_on: date | None = Field(default=None, description="结业日期，默认今天（北京时间）")


class Enrolment(BaseModel):
    model_config = example(
        {
            "id": ENROLMENT_ID,
            "programme_id": PROGRAMME_ID,
            "base_id": BASE_ID,
            "person_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
            "status": "completed",
            "certificate": "电子设备装接工（五级）证书",
            "completed_on": "2026-11-28",
            "employed_on": "2026-12-01",
            "created_at": "2026-11-01T09:30:00+08:00",
            "completed_at": "2026-11-28T17:00:00+08:00",
        }
    )

    id: str
    programme_id: str
    base_id: str
    person_id: str | None = Field(description="人员删除（个人信息删除权）后为 null；记录仍计入统计")
    status: EnrolmentStatus
    certificate: str | None
    completed_on: date | None
    employed_on: date | None = Field(description="结业后首次上岗日期（来自匹配服务的上岗事件）")
    created_at: datetime
    completed_at: datetime | None


class Outcomes(BaseModel):
    """培训后就业率: of those who completed, how many started a job on or after their completion date."""

    model_config = example(
        {
            "programme_id": PROGRAMME_ID,
            "enrolled": 30,
            "completed": 28,
            "employed_after": 21,
            "employment_rate": 0.75,
        }
    )

    programme_id: str
    enrolled: int
    completed: int
    employed_after: int
    employment_rate: float | None = Field(description="employed_after / completed；无人结业时为 null")
