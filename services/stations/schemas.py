"""Stations' public contract (API.md): requests validated field by field, responses typed."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from pydantic import Field, ValidationInfo, field_validator

from libs.api.schemas import RequestModel, example
from libs.events.contracts import StationListing
from libs.reference.divisions import county_in, is_current_county, is_current_prefecture
from libs.reference.regions import JIANGSU_CITIES, PROVINCES

JIANGSU = "32"
NAME_MAX = 100

_SPACES = re.compile(r"\s+")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
# Area codes 010 and 020-029 have three digits and eight-digit numbers; all others four digits and 7 or 8.
_LANDLINE = re.compile(r"^(0(?:10|2\d)|0[3-9]\d{2})-?([2-9]\d{6,7})(?:-(\d{1,6}))?$")
STATION_ID = "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d"
_SUMMARY_EXAMPLE = {
    "id": STATION_ID,
    "name": "江苏驻西安新城劳务联络站",
    "province_code": "61",
    "city_code": "6101",
    "county_code": "610102",
    "partner_city_code": "3205",
    "active": True,
}
_STATION_EXAMPLE = {
    **_SUMMARY_EXAMPLE,
    "address": "西安市新城区解放路 100 号",
    "contact_phone": "029-88886666",
    "version": 1,
    "created_at": "2026-11-20T09:30:00+08:00",
    "updated_at": "2026-11-20T09:30:00+08:00",
}
PHONE_RULE = "联系电话须为手机号（如 13912345678）或带区号的固定电话（如 029-88886666，分机可写在最后：-801）"


def normalize_name(value: str) -> str:
    """NFKC and single spaces, so "新城区 联络站" and "新城区　联络站" are one name to the duplicate check."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def normalize_phone(value: str) -> str:
    """One spelling per number ("13912345678", "029-88886666", "0913-2123456-801"); ValueError if implausible."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", value))
    if mobile := _MOBILE.match(text):
        return mobile[1]
    landline = _LANDLINE.match(text)
    if landline is None:
        raise ValueError(PHONE_RULE)
    area, number, extension = landline.groups()
    if len(area) == 3 and len(number) != 8:
        raise ValueError(PHONE_RULE)
    return "-".join(part for part in (area, number, extension) if part)


def _partner_city(value: str) -> str:
    if value not in JIANGSU_CITIES:
        raise ValueError("partner_city_code 必须是江苏 13 个设区市之一的代码（3201 至 3213）")
    return value


class StationFields(RequestModel):
    """Fields create and patch share; each check names its field."""

    name: str | None = Field(default=None, min_length=2, max_length=NAME_MAX, description="联络站名称")
    partner_city_code: str | None = Field(
        default=None, pattern=r"^\d{4}$", description="结对的江苏设区市（3201 至 3213）"
    )
    address: str | None = Field(default=None, min_length=2, max_length=200, description="办公地址")
    contact_phone: str | None = Field(
        default=None, max_length=30, description="手机号或带区号的固定电话，如 029-88886666"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("联络站名称不能为空")
        name = normalize_name(value)  # NFKC may lengthen ("㍿" is four characters): check again
        if not 2 <= len(name) <= NAME_MAX:
            raise ValueError(f"联络站名称须为 2 至 {NAME_MAX} 个字")
        return name

    @field_validator("partner_city_code")
    @classmethod
    def _partner(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("partner_city_code 不能为空")
        return _partner_city(value)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)


class StationCreate(StationFields):
    """Where the station is (an origin county, never Jiangsu) and which Jiangsu city it pairs with."""

    model_config = example(
        {
            "name": "江苏驻西安新城劳务联络站",
            "province_code": "61",
            "county_code": "610102",
            "partner_city_code": "3205",
            "address": "西安市新城区解放路 100 号",
            "contact_phone": "029-88886666",
        }
    )

    name: str = Field(min_length=2, max_length=NAME_MAX, description="联络站名称")
    province_code: str = Field(
        pattern=r"^\d{2}$", description="所在省份（GB/T 2260 两位代码，不能是江苏 32）"
    )
    city_code: str | None = Field(
        default=None,
        pattern=r"^\d{4}$",
        description="所在地级市（GB/T 2260 四位代码）；不填则取 county_code 的前四位",
    )
    county_code: str = Field(pattern=r"^\d{6}$", description="所在县级行政区（GB/T 2260 六位代码，现行）")
    partner_city_code: str = Field(pattern=r"^\d{4}$", description="结对的江苏设区市（3201 至 3213）")

    @field_validator("province_code")
    @classmethod
    def _province(cls, value: str) -> str:
        if value not in PROVINCES:
            raise ValueError("province_code 不是有效的省级行政区划代码")
        if value == JIANGSU:
            raise ValueError("联络站设在劳务输出省份，不能设在江苏（32）")
        return value

    @field_validator("city_code")
    @classmethod
    def _city(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not is_current_prefecture(value):
            raise ValueError("city_code 不是现行的地级行政区划代码")
        province = info.data.get("province_code")
        if province is not None and value[:2] != province:
            raise ValueError(f"city_code {value} 不在 province_code {province} 所指的省份内")
        return value

    @field_validator("county_code")
    @classmethod
    def _county(cls, value: str, info: ValidationInfo) -> str:
        if not is_current_county(value):
            raise ValueError("county_code 不是现行的县级行政区划代码（GB/T 2260）")
        province = info.data.get("province_code")
        if province is not None and not county_in(value, province):
            raise ValueError(f"county_code {value} 不在 province_code {province} 所指的省份内")
        city = info.data.get("city_code")
        if province is not None and city is not None and not county_in(value, province, city):
            raise ValueError(f"county_code {value} 不在 city_code {city} 所指的地级市内")
        return value


class StationPatch(StationFields):
    """Only the fields sent change; `null` clears address or contact_phone, nothing else.

    Where a station is (province, city, county) is fixed: a station that moves is a new station."""

    model_config = example({"contact_phone": "13912345678", "active": True})

    active: bool | None = Field(default=None, description="停用的联络站不再出现在目录中")

    @field_validator("active")
    @classmethod
    def _active(cls, value: bool | None) -> bool | None:
        if value is None:
            raise ValueError("active 不能为空")
        return value


class StationSummary(StationListing):
    """The directory entry recruiters and training bases see: no address or contact phone."""

    model_config = example(_SUMMARY_EXAMPLE)


class Station(StationSummary):
    """The full record, for admins, the station's partner province and the station itself."""

    model_config = example(_STATION_EXAMPLE)

    address: str | None
    contact_phone: str | None
    version: int
    created_at: datetime
    updated_at: datetime
