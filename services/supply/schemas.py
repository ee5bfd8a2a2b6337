"""Supply's public contract (API.md): requests validated field by field, responses typed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from stdnum.cn import uscc

from libs.api.schemas import RequestModel, example
from libs.db import beijing_date
from libs.events.contracts import JOB_EXAMPLE, PublishedJob
from libs.reference.education import EducationMinimum
from libs.reference.occupations import INDUSTRIES, is_occupation_code
from libs.reference.regions import JIANGSU_CITIES
from libs.spreadsheet_cells import RowError

ShortText = Annotated[str, Field(min_length=1, max_length=30)]
JobStatus = Literal["published", "flagged", "closed"]


class Strict(RequestModel):
    pass


EMPLOYER_ID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
JOB_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
_EMPLOYER_IN = {
    "name": "苏州精密电子有限公司",
    "credit_code": "91320500MA00000010",
    "city_code": "3205",
    "assistance_base": True,
    "caring_employer": False,
}
_JOB_IN = {"employer_id": EMPLOYER_ID, **JOB_EXAMPLE}
_JOB = {
    **_JOB_IN,
    "id": JOB_ID,
    "employer_name": "苏州精密电子有限公司",
    "employer_assistance_base": False,
    "employer_caring": False,
    "headcount_left": 20,
    "valid_until": None,
    "status": "published",
    "compliance": [],
    "version": 1,
    "supply_list_id": None,
    "created_at": "2026-11-20T09:30:00+08:00",
    "updated_at": "2026-11-20T09:30:00+08:00",
    "published_at": "2026-11-20T09:30:00+08:00",
    "closed_at": None,
}


def credit_code(value: str) -> str:
    """The code as GB 32100 writes it, or a ValueError saying why not (in Chinese)."""
    try:
        return str(uscc.validate(value))
    except Exception as error:
        raise ValueError("统一社会信用代码无效（长度、字符或校验位不符合 GB 32100）") from error


def _jiangsu_city(value: str) -> str:
    if value not in JIANGSU_CITIES:
        raise ValueError("city_code 必须是江苏 13 个设区市之一的代码（3201 至 3213）")
    return value


class BenefitsIn(Strict):
    dormitory: bool = False
    meals: bool = False
    social_insurance: bool = False


class EmployerCreate(Strict):
    model_config = example(_EMPLOYER_IN)

    name: str = Field(min_length=2, max_length=100)
    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100)")
    city_code: str = Field(pattern=r"^\d{4}$")
    assistance_base: bool = False
    caring_employer: bool = False

    @field_validator("credit_code")
    @classmethod
    def _check_credit_code(cls, value: str) -> str:
        return credit_code(value)

    @field_validator("city_code")
    @classmethod
    def _check_city(cls, value: str) -> str:
        return _jiangsu_city(value)


class EmployerRisk(BaseModel):
    """回访发现的问题（自上次核查以来的次数），仅管理员可见。"""

    wage_arrears: int = Field(description="工资未足额按时发放")
    no_contract: int = Field(description="未签劳动合同")
    insurance_unpaid: int = Field(description="未缴社会保险")
    last_reported_on: date | None
    reviewed_on: date | None = Field(description="管理员上次核查日期")


class Employer(BaseModel):
    model_config = example(
        {"id": EMPLOYER_ID, **_EMPLOYER_IN, "created_at": "2026-11-20T09:30:00+08:00", "risk": None}
    )

    id: str
    name: str
    credit_code: str
    city_code: str
    assistance_base: bool
    caring_employer: bool
    created_at: datetime
    risk: EmployerRisk | None = Field(default=None, description="回访风险信号（仅管理员可见）")


class JobFields(Strict):
    """Fields shared by create and patch; every check names its field."""

    multiline_fields = frozenset({"description"})

    title: str | None = Field(default=None, min_length=2, max_length=100)
    description: str | None = Field(default=None, max_length=4000)
    occupation_code: str | None = Field(default=None, max_length=20)
    industry: str | None = None
    city_code: str | None = Field(default=None, pattern=r"^\d{4}$")
    headcount: int | None = Field(default=None, ge=1, le=10000)
    salary_min: int | None = Field(default=None, ge=1, le=200000, description="元/月")
    salary_max: int | None = Field(default=None, ge=1, le=200000, description="元/月")
    age_min: int | None = Field(default=None, ge=16, le=70)
    age_max: int | None = Field(default=None, ge=16, le=70)
    education_min: EducationMinimum | None = None
    skills: list[ShortText] | None = Field(default=None, max_length=30)
    certificates_required: list[ShortText] | None = Field(default=None, max_length=10)
    benefits: BenefitsIn | None = None
    shift: str | None = Field(default=None, max_length=40)
    valid_until: date | None = None
    public_welfare: bool | None = None
    contract_months: int | None = Field(default=None, ge=1, le=120)

    @field_validator("occupation_code")
    @classmethod
    def _occupation(cls, value: str | None) -> str | None:
        if value is not None and not is_occupation_code(value):
            raise ValueError("未知的职业代码（国家职业分类大典格式，如 6-18-01-01）")
        return value

    @field_validator("industry")
    @classmethod
    def _industry(cls, value: str | None) -> str | None:
        if value is not None and value not in INDUSTRIES:
            raise ValueError(f"行业须为以下之一：{', '.join(INDUSTRIES)}")
        return value

    @field_validator("city_code")
    @classmethod
    def _city(cls, value: str | None) -> str | None:
        return None if value is None else _jiangsu_city(value)

    @field_validator("salary_max")
    @classmethod
    def _salary_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("salary_min")
        if value is not None and low is not None and value < low:
            raise ValueError("salary_max 不能小于 salary_min")
        return value

    @field_validator("age_max")
    @classmethod
    def _age_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("age_min")
        if value is not None and low is not None and value < low:
            raise ValueError("age_max 不能小于 age_min")
        return value

    @field_validator("valid_until")
    @classmethod
    def _not_past(cls, value: date | None) -> date | None:
        if value is not None and value < beijing_date():
            raise ValueError("有效期不能早于今天")
        if value is not None and (value - beijing_date()).days > 366:
            raise ValueError("有效期最长一年")
        return value


class JobCreate(JobFields):
    model_config = example(_JOB_IN)

    employer_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=2, max_length=100)
    city_code: str = Field(pattern=r"^\d{4}$")
    headcount: int = Field(ge=1, le=10000)
    salary_min: int = Field(ge=1, le=200000, description="元/月")
    salary_max: int = Field(ge=1, le=200000, description="元/月")


class JobPatch(JobFields):
    """Only the fields sent change; `null` is not a way to clear a required field."""

    model_config = example({"headcount": 30, "salary_max": 7500})


class ComplianceNote(BaseModel):
    code: str
    message: str


class Job(PublishedJob):
    """A job as supply answers it: the published job (libs/events/contracts.py), its status and compliance notes,
    and where it came from."""

    model_config = example(_JOB)

    status: JobStatus
    compliance: list[ComplianceNote]
    supply_list_id: str | None
    created_at: datetime
    closed_at: datetime | None


class ImportResult(BaseModel):
    model_config = example(
        {
            "list_id": "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f",
            "accepted": 2,
            "flagged": 1,
            "rejected": [
                {"row": 4, "column": "月薪下限", "code": "int_parsing", "message": "月薪下限必须是整数"}
            ],
            "job_ids": [JOB_ID, "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"],
        }
    )

    list_id: str
    accepted: int
    flagged: int = 0
    rejected: list[RowError]
    job_ids: list[str] = []
    employers_matched: int = Field(0, description="区域清单：按统一社会信用代码找到的已登记单位数")
    employers_created: int = Field(0, description="区域清单：新登记的单位数")
