"""Demand's public contract (API.md): workers, status, warnings, demand lists. Responses carry masked data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from libs.api.schemas import RequestModel, example
from libs.db import beijing_date, utcnow
from libs.events.contracts import (
    WORK_HISTORY_SPELLS,
    Employment,
    EmploymentHow,
    EmploymentWhere,
    PersonPayload,
    WorkSpell,
)
from libs.pii import PiiError, normalise_phone, parse_resident_id
from libs.reference.education import Education
from libs.reference.occupations import is_occupation_code
from libs.reference.regions import JIANGSU_CITIES
from libs.spreadsheet_cells import RowError

Category = Literal["poverty_alleviated", "registered_low_income", "rural_low_income", "dibao"]
Status = Literal["seeking", "employed", "unemployed", "training", "inactive"]
ShortText = Annotated[str, Field(min_length=1, max_length=30)]


class Strict(RequestModel):
    pass


PERSON_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
STATION_ID = "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d"
LIST_ID = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a"
_INTENTION = {
    "occupation_codes": ["6-25-04-07"],
    "keywords": "电子厂 包住",
    "city_codes": ["3205", "3202"],
    "min_salary": 4500,
    "needs_dormitory": True,
    "available_from": "2026-12-15",
}
_SPELL = {
    "workplace_kind": "电子厂",
    "occupation_code": "6-25-04-07",
    "started": "2019-03-01",
    "ended": "2023-06-30",
    "duties": "SMT 贴片线操作工，会看贴片程序、换料、首件检验；后两年做线长，带 12 人，两班倒",
}
_PROFILE = {
    "education": "初中",
    "categories": ["poverty_alleviated"],
    "key_region": True,
    "skills": ["电焊", "叉车"],
    "certificates": ["焊工（五级）"],
    "speciality": "会开叉车，能看懂简单的电路图",
    "past_training": "2024 年县人社局电工培训 15 天",
    "intention": _INTENTION,
}
_HISTORY = [{**_SPELL, "employer": "昆山某电子有限公司"}]
_ROW_ERROR = {"row": 7, "column": "身份证号", "code": "id_number_invalid", "message": "身份证号校验位不正确"}


class IntentionIn(Strict):
    occupation_codes: list[str] = Field(default=[], max_length=10)
    keywords: str | None = Field(default=None, max_length=500)
    city_codes: list[str] = Field(default=[], max_length=13)
    min_salary: int | None = Field(default=None, ge=0, le=100000)
    needs_dormitory: bool = False
    available_from: date | None = None

    @field_validator("occupation_codes")
    @classmethod
    def _occupations(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if not is_occupation_code(code)]
        if unknown:
            raise ValueError(f"未知的职业代码：{'、'.join(unknown)}")
        return codes

    @field_validator("city_codes")
    @classmethod
    def _cities(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if code not in JIANGSU_CITIES]
        if unknown:
            raise ValueError(f"意向城市须为江苏设区市代码（3201 至 3213）：{'、'.join(unknown)}")
        return codes


class WorkSpellIn(Strict, WorkSpell):
    """A spell as a station records it: what matching reads (`WorkSpell`) plus the employer's name, which stays
    in demand. Dates are checked against each other and today; the occupation against the 大典."""

    multiline_fields = frozenset({"duties"})

    employer: str | None = Field(default=None, max_length=100, description="用人单位名称（仅联络站可见）")

    @field_validator("occupation_code")
    @classmethod
    def _occupation(cls, code: str | None) -> str | None:
        if code is not None and not is_occupation_code(code):
            raise ValueError(f"未知的职业代码：{code}")
        return code

    @field_validator("started", "ended")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > beijing_date():
            raise ValueError("工作经历的日期不能晚于今天")
        return value

    @field_validator("ended")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        started = info.data.get("started")
        if value is not None and started is not None and value < started:
            raise ValueError("结束日期不能早于开始日期")
        return value


class WorkSpellOut(WorkSpell):
    employer: str | None = None


class Consent(Strict):
    given_at: AwareDatetime
    scope: str = Field(min_length=2, max_length=200, description="授权范围，如：就业帮扶信息登记与岗位推荐")

    @field_validator("given_at")
    @classmethod
    def _not_future(cls, value: datetime) -> datetime:
        if value > utcnow() + timedelta(seconds=300):
            raise ValueError("授权时间不能晚于当前时间")
        return value


def _id_number(value: str) -> str:
    try:
        return parse_resident_id(value).number
    except PiiError as error:
        raise ValueError(str(error)) from error


def _phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except PiiError as error:
        raise ValueError(str(error)) from error


class ProfileFields(Strict):
    """What a station may change after registration."""

    multiline_fields = frozenset({"speciality", "past_training"})

    name: str | None = Field(default=None, min_length=2, max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    education: Education | None = None
    categories: list[Category] | None = Field(default=None, max_length=4)
    key_region: bool | None = None
    skills: list[ShortText] | None = Field(default=None, max_length=30)
    certificates: list[ShortText] | None = Field(default=None, max_length=20)
    speciality: str | None = Field(default=None, max_length=1000, description="技能特长，自由文字")
    past_training: str | None = Field(default=None, max_length=1000, description="以往参加的培训，自由文字")
    work_history: list[WorkSpellIn] | None = Field(
        default=None, max_length=WORK_HISTORY_SPELLS, description="工作经历，最近的在前或在后均可"
    )
    intention: IntentionIn | None = None

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return None if value is None else _phone(value)


class PersonCreate(ProfileFields):
    multiline_fields = ProfileFields.multiline_fields | {"note"}
    model_config = example(
        {
            "station_id": STATION_ID,
            "name": "张明",
            "id_number": "610102199203151232",
            "phone": "13912345678",
            **_PROFILE,
            "work_history": _HISTORY,
            "consent": {"given_at": "2026-11-01T09:00:00+08:00", "scope": "就业帮扶信息登记与岗位推荐"},
            "note": "在联络站现场登记",
        }
    )

    station_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=2, max_length=50)
    id_number: str = Field(min_length=1, max_length=30, description="居民身份证号码（18 位，GB 11643）")
    phone: str = Field(max_length=20)
    consent: Consent = Field(description="个人信息处理授权：时间与范围；没有授权不能登记")
    note: str | None = Field(default=None, max_length=500)

    @field_validator("id_number")
    @classmethod
    def _check_id_number(cls, value: str) -> str:
        return _id_number(value)


class PersonPatch(ProfileFields):
    """Only the fields sent change."""

    model_config = example({"phone": "13987654321", "skills": ["电焊", "叉车", "电子装配"]})


class ConsentOut(BaseModel):
    given_at: datetime | None
    scope: str | None


class Person(PersonPayload):
    """A worker as their station sees them: the anonymous profile every service gets (libs/events/contracts.py
    `PersonPayload`), and the name, masked identifiers and consent that only demand holds."""

    model_config = example(
        {
            "id": PERSON_ID,
            "station_id": STATION_ID,
            "province_code": "61",
            "name": "张*",
            "id_number_masked": "6101**********1232",
            "phone_masked": "139****5678",
            "birth_date": "1992-03-15",
            "gender": "male",
            "age": 34,
            **_PROFILE,
            "work_history": _HISTORY,
            "consent": {"given_at": "2026-11-01T09:00:00+08:00", "scope": "就业帮扶信息登记与岗位推荐"},
            "status": "seeking",
            "status_since": "2026-11-01",
            "demand_list_id": None,
            "version": 1,
            "created_at": "2026-11-01T09:05:00+08:00",
            "updated_at": "2026-11-01T09:05:00+08:00",
            "erased": False,
        }
    )

    name: str | None
    id_number_masked: str | None
    phone_masked: str | None
    birth_date: date | None
    work_history: list[WorkSpellOut] = Field(  # type: ignore[assignment]
        default=[], description="工作经历，含用人单位名称（仅联络站可见）"
    )
    consent: ConsentOut
    demand_list_id: str | None
    created_at: datetime
    erased: bool = False


class EmploymentIn(Strict):
    """Where and how the worker works. `region_code` (GB/T 2260) at the precision the station knows: a Jiangsu
    city (3205) or county for `jiangsu`, the county for `home_county`, a province or lower elsewhere."""

    how: EmploymentHow = Field(
        description="placed 平台介绍；self_found 自主就业；public_welfare 公益性岗位；self_employed 自主创业；flexible 灵活就业"
    )
    where: EmploymentWhere | None = Field(
        default=None,
        description="jiangsu 在苏；home_county 县内就近；home_province 省内县外；other_province 其他省份",
    )
    region_code: str | None = Field(
        default=None, pattern=r"^\d{2}(\d{2}(\d{2})?)?$", description="就业地区划代码"
    )

    @field_validator("region_code")
    @classmethod
    def _region_fits(cls, code: str | None, info: ValidationInfo) -> str | None:
        where = info.data.get("where")
        if code is None:
            return code
        in_jiangsu = code.startswith("32")
        if where == "jiangsu" and not (in_jiangsu and (len(code) == 2 or code[:4] in JIANGSU_CITIES)):
            raise ValueError("where 为 jiangsu 时，region_code 须为江苏的设区市或县区代码")
        if where in ("home_county", "home_province", "other_province") and in_jiangsu:
            raise ValueError("就业地在江苏时 where 应为 jiangsu")
        return code


class StatusChangeIn(Strict):
    multiline_fields = frozenset({"note"})
    model_config = example(
        {
            "status": "employed",
            "since": "2026-11-25",
            "employment": {"how": "self_found", "where": "home_county", "region_code": "610125"},
            "note": "在县城的食品厂自主就业",
        }
    )

    status: Status
    since: date
    employment: EmploymentIn | None = Field(
        default=None, description="就业去向（仅 status 为 employed 时；不填视为自主就业）"
    )
    note: str | None = Field(default=None, max_length=500)

    @field_validator("employment")
    @classmethod
    def _only_when_employed(
        cls, employment: EmploymentIn | None, info: ValidationInfo
    ) -> EmploymentIn | None:
        if employment is not None and info.data.get("status") != "employed":
            raise ValueError("只有 status 为 employed 时才能填写就业去向")
        return employment

    @field_validator("since")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > beijing_date():
            raise ValueError("状态起始日期不能晚于今天")
        return value


class StatusChangeOut(BaseModel):
    model_config = example(
        {
            "id": "e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b",
            "status": "employed",
            "previous_status": "seeking",
            "since": "2026-11-25",
            "source": "station",
            "recorded_at": "2026-11-25T10:00:00+08:00",
        }
    )

    id: str
    status: str
    previous_status: str | None
    since: date
    employment: Employment | None = None
    source: str
    recorded_at: datetime


class Warning(BaseModel):
    model_config = example(
        {
            "id": "f3a4b5c6-d7e8-4f9a-8b1c-2d3e4f5a6b7c",
            "person_id": PERSON_ID,
            "station_id": STATION_ID,
            "kind": "placement_ended",
            "raised_at": "2026-11-30T18:00:00+08:00",
            "resolved_at": None,
        }
    )

    id: str
    person_id: str
    station_id: str
    kind: str
    raised_at: datetime
    resolved_at: datetime | None


class ImportResult(BaseModel):
    model_config = example(
        {"list_id": LIST_ID, "accepted": 48, "rejected": [_ROW_ERROR], "person_ids": [PERSON_ID]}
    )

    list_id: str
    accepted: int
    rejected: list[RowError]
    person_ids: list[str] = []


class DemandListOut(BaseModel):
    model_config = example(
        {
            "id": LIST_ID,
            "station_id": STATION_ID,
            "province_code": "61",
            "filename": "花名册-2026年11月.xlsx",
            "accepted": 48,
            "rejected": [_ROW_ERROR],
            "created_at": "2026-11-20T09:30:00+08:00",
        }
    )

    id: str
    station_id: str
    province_code: str
    filename: str
    accepted: int
    rejected: list[RowError]
    created_at: datetime
