"""Valid request bodies for the tests, built from the reference data so they stay valid."""

from __future__ import annotations

from itertools import count
from typing import Any

from stdnum.cn import uscc

_serial = count(1)


def credit_code(serial: int | None = None) -> str:
    """A checksummed 统一社会信用代码 for a Suzhou company."""
    number = serial if serial is not None else next(_serial)
    body = f"91320500MA{number:07d}"
    return body + uscc.calc_check_digit(body)


def employer_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "苏州精密电子有限公司", "credit_code": credit_code(), "city_code": "3205", **overrides}


def job_body(employer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "employer_id": employer_id,
        "title": "电子产品装配工",
        "description": "流水线装配手机配件，熟练后计件，有师傅带教。",
        "industry": "manufacturing",
        "city_code": "3205",
        "headcount": 30,
        "salary_min": 5200,
        "salary_max": 7200,
        "age_min": 18,
        "age_max": 45,
        "skills": ["装配", "质检"],
        "benefits": {"dormitory": True, "meals": True, "social_insurance": True},
        "shift": "两班倒",
        "contract_months": 24,
        **overrides,
    }


def id_number(serial: int, county: str = "610102", born: str = "19900101") -> str:
    """A valid (checksummed) but fictitious resident ID number; the serial varies the sequence code."""
    from stdnum.cn import ric

    body = f"{county}{born}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def phone(serial: int) -> str:
    return f"139{serial:08d}"


def person_body(station_id: str, serial: int, **overrides: Any) -> dict[str, Any]:
    born = f"{1984 + serial % 20}{1 + serial % 12:02d}{1 + serial % 28:02d}"
    return {
        "station_id": station_id,
        "name": "张" + "三四五六七八九十"[serial % 8] + "明",
        "id_number": id_number(serial, born=born),
        "phone": phone(serial),
        "education": "初中",
        "categories": ["poverty_alleviated"],
        "key_region": serial % 3 == 0,
        "skills": ["电焊", "叉车"],
        "intention": {"city_codes": ["3205", "3202"], "min_salary": 4500, "needs_dormitory": True},
        "consent": {"given_at": "2026-11-01T09:00:00+08:00", "scope": "就业帮扶信息登记与岗位推荐"},
        **overrides,
    }


def station_body(province_code: str = "61", **overrides: Any) -> dict[str, Any]:
    county = {"61": "610102", "52": "520102", "63": "630102"}[province_code]
    return {
        "name": f"江苏驻{county}劳务联络站",
        "province_code": province_code,
        "county_code": county,
        "partner_city_code": "3205",
        "address": "人民路 1 号",
        "contact_phone": "029-88886666",
        **overrides,
    }
