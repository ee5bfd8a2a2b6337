"""The insurance import's answer: what the file held, what matched, which warnings it raised, every bad row."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from libs.api.schemas import example
from libs.reference.labels import INSURANCE_WARNINGS, WARNING_NAMES
from libs.spreadsheet_cells import RowError

KINDS = "；".join(f"{kind} {WARNING_NAMES[kind]}" for kind in INSURANCE_WARNINGS)


class InsuranceImportOut(BaseModel):
    model_config = example(
        {
            "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            "filename": "2026年11月社保缴费.xlsx",
            "months": ["2026-11"],
            "rows": 1200,
            "matched": 310,
            "unmatched": 880,
            "warnings": {"insurance_stopped": 12, "insurance_unrecorded_job": 3},
            "rejected": [
                {
                    "row": 17,
                    "column": "身份证号",
                    "code": "id_number_checksum",
                    "message": "身份证号码校验位不正确",
                }
            ],
            "created_at": "2026-12-02T01:30:00Z",
        }
    )

    id: str
    filename: str
    months: list[str] = Field(description="文件中的缴费月份")
    rows: int = Field(description="数据行数")
    matched: int = Field(description="其中已登记的务工人员")
    unmatched: int = Field(description="未在本平台登记的人员（只计数，不保存）")
    warnings: dict[str, int] = Field(description=f"本次比对产生的预警，按类型：{KINDS}")
    rejected: list[RowError]
    created_at: datetime


class InsuranceImportList(BaseModel):
    model_config = example({"items": []})

    items: list[InsuranceImportOut]
