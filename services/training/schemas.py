"""Training's public contract (API.md): requests validated field by field, responses typed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from libs.api.schemas import RequestModel
from libs.reference.occupations import is_occupation_code
from libs.reference.regions import is_province_code

JIANGSU = "32"
BaseKind = Literal["origin", "jiangsu"]
EnrolmentStatus = Literal["enrolled", "completed"]
Id = Annotated[str, Field(min_length=1, max_length=36)]
ShortText = Annotated[str, Field(min_length=1, max_length=30)]


class Strict(RequestModel):
    pass


class TrainingBaseCreate(Strict):
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
    person_id: Id


class Completion(Strict):
    certificate: str | None = Field(default=None, min_length=1, max_length=100, description="证书名称或编号")
    completed_on: date | None = Field(default=None, description="结业日期，默认今天（北京时间）")


class Enrolment(BaseModel):
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

    programme_id: str
    enrolled: int
    completed: int
    employed_after: int
    employment_rate: float | None = Field(description="employed_after / completed；无人结业时为 null")
