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
