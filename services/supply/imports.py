"""岗位供给清单 import: spreadsheet rows -> `JobCreate` or per-cell errors, with no I/O.

Employers fill these sheets by hand, so cells are read the way people write them ("苏州", "5,500元",
"45岁以下", "2025年6月30日") and every problem of a row is reported at once, against the Chinese column
header, so a whole sheet can be fixed in one pass instead of one error per upload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from libs.db import beijing_date
from libs.reference import education
from libs.reference.occupations import INDUSTRIES
from libs.spreadsheet_cells import (
    NOTHING,
    CellError,
    ImportColumn,
    RowError,
    parse_bool,
    parse_date,
    parse_integer,
    parse_jiangsu_city,
    parse_occupation,
    plain,
    schema_row_errors,
    split_items,
)
from libs.spreadsheets import SheetRow, write_table
from services.supply.schemas import JobCreate, credit_code

__all__ = [
    "REGIONAL_COLUMNS",
    "REGIONAL_REQUIRED_HEADERS",
    "REQUIRED_HEADERS",
    "SUPPLY_COLUMNS",
    "ImportColumn",
    "ListedEmployer",
    "parse_regional_rows",
    "parse_supply_rows",
    "supply_template",
]

EDUCATION_LEVELS = education.JOB_MINIMUMS


_LIST_HINT = "多项用 、 或 , 或 ， 或 ； 分隔，每项最多 30 个字"
_BOOL_HINT = "填 是 或 否，不填视为 否"

SUPPLY_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("岗位名称", "title", True, "岗位名称，2 至 100 个字", "电子产品装配工"),
    ImportColumn(
        "岗位描述",
        "description",
        False,
        "工作内容、工作环境等，最多 4000 个字",
        "负责手机主板插件、焊接与外观检查，流水线坐班作业，车间恒温",
    ),
    ImportColumn(
        "工种",
        "occupation_code",
        False,
        "国家职业分类大典中的职业名称或代码，如 电子设备装接工 或 6-25-04-07；常用叫法（如 电子产品装配工）也可",
        "电子产品装配工",
    ),
    ImportColumn("行业", "industry", False, f"以下之一：{'、'.join(INDUSTRIES.values())}", "制造业"),
    ImportColumn("工作城市", "city_code", True, "江苏省设区市的名称或代码，如 苏州 或 3205", "苏州"),
    ImportColumn("招聘人数", "headcount", True, "整数，1 至 10000", "50"),
    ImportColumn("月薪下限", "salary_min", True, "税前月薪，元/月，整数", "5500"),
    ImportColumn("月薪上限", "salary_max", True, "税前月薪，元/月，整数，不小于月薪下限", "7500"),
    ImportColumn(
        "年龄要求",
        "age_range",
        False,
        "如 18-45、18至45、45岁以下、18岁以上；年龄须在 16 至 70 岁之间，不填为不限",
        "18-45",
    ),
    ImportColumn(
        "学历要求",
        "education_min",
        False,
        f"最低学历，以下之一：{'、'.join(EDUCATION_LEVELS)}；不填为不限",
        "初中",
    ),
    ImportColumn("技能要求", "skills", False, _LIST_HINT, "电子元器件识别、电烙铁焊接"),
    ImportColumn("证书要求", "certificates_required", False, _LIST_HINT + "，最多 10 项", ""),
    ImportColumn("包住", "benefits.dormitory", False, "是否提供住宿，" + _BOOL_HINT, "是"),
    ImportColumn("包吃", "benefits.meals", False, "是否提供工作餐，" + _BOOL_HINT, "是"),
    ImportColumn("五险", "benefits.social_insurance", False, "是否依法缴纳五险，" + _BOOL_HINT, "是"),
    ImportColumn("班制", "shift", False, "如 长白班、两班倒、三班倒，最多 40 个字", "两班倒"),
    ImportColumn(
        "有效期至",
        "valid_until",
        False,
        "招聘截止日期，如 2025-06-30、2025/6/30 或 2025年6月30日；不能早于今天，最长一年，填 长期 或不填为不设截止",
        "",
    ),
)
REQUIRED_HEADERS: tuple[str, ...] = tuple(column.header for column in SUPPLY_COLUMNS if column.required)
# A region's list (区域岗位供给清单: a bureau's, many employers) leads each row with its employer.
EMPLOYER_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "用人单位名称", "employer.name", True, "营业执照上的单位全称，2 至 100 个字", "苏州精密电子有限公司"
    ),
    ImportColumn(
        "统一社会信用代码",
        "employer.credit_code",
        True,
        "18 位，见营业执照（GB 32100）",
        "91320500MA00000010",
    ),
)
REGIONAL_COLUMNS: tuple[ImportColumn, ...] = EMPLOYER_COLUMNS + SUPPLY_COLUMNS
REGIONAL_REQUIRED_HEADERS: tuple[str, ...] = tuple(
    column.header for column in REGIONAL_COLUMNS if column.required
)
# Typed into General cells, Excel turns "10-12" into 12 October; text format keeps what was typed.
_TEXT_HEADERS = ("工种", "年龄要求")
_HEADER_BY_FIELD: dict[str, str] = {
    **{column.field: column.header for column in SUPPLY_COLUMNS},
    "age_min": "年龄要求",
    "age_max": "年龄要求",
}
_COLUMN_ORDER = {column.header: index for index, column in enumerate(REGIONAL_COLUMNS)}
_DUPLICATE_KEY_HEADERS = ("岗位名称", "工作城市", "月薪下限", "月薪上限")

_AGE_BETWEEN = re.compile(r"(\d{1,3})岁?(?:-|—|–|―|~|至|到)(\d{1,3})岁?")
_AGE_AT_MOST = re.compile(r"(\d{1,3})岁?(?:及以下|以下|以内)")
_AGE_AT_LEAST = re.compile(r"(\d{1,3})岁?(?:及以上|以上)")
_EDUCATION_SUFFIXES = ("及以上学历", "以上学历", "及以上", "或以上", "以上", "学历")


def _text(text: str, column: ImportColumn) -> str:
    return text


def _integer(text: str, column: ImportColumn) -> int:
    hint = "（元/月）" if column.field.startswith("salary") else ""
    return parse_integer(text, column.header, column.example, hint)


def _city(text: str, column: ImportColumn) -> str:
    return parse_jiangsu_city(text)


def _occupation(text: str, column: ImportColumn) -> str:
    return parse_occupation(text)


def _industry(text: str, column: ImportColumn) -> str:
    value = plain(text)
    if value.lower() in INDUSTRIES:
        return value.lower()
    by_name = [key for key, name in INDUSTRIES.items() if name == value]
    # "制造" or "物流" for 制造业 / 快递物流, as long as only one industry matches.
    partial = [key for key, name in INDUSTRIES.items() if len(value) >= 2 and value in name]
    if by_name or len(partial) == 1:
        return (by_name or partial)[0]
    raise CellError(
        "invalid_industry", f"行业「{text}」无法识别，请填写以下之一：{'、'.join(INDUSTRIES.values())}"
    )


def _age_range(text: str, column: ImportColumn) -> tuple[int | None, int | None]:
    value = plain(text).replace("周岁", "岁")
    if match := _AGE_BETWEEN.fullmatch(value):
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise CellError("invalid_age_range", f"年龄要求「{text}」的下限大于上限")
        return low, high
    if match := _AGE_AT_MOST.fullmatch(value):
        return None, int(match.group(1))
    if match := _AGE_AT_LEAST.fullmatch(value):
        return int(match.group(1)), None
    raise CellError("invalid_age_range", f"年龄要求「{text}」无法识别，请填写如 18-45、45岁以下 或 18岁以上")


def _education(text: str, column: ImportColumn) -> str:
    value = plain(text)
    if value in NOTHING:
        return "不限"
    for suffix in _EDUCATION_SUFFIXES:
        if value.endswith(suffix) and value != suffix:
            value = value.removesuffix(suffix)
            break
    # Anything else is left to the schema, which names the allowed levels.
    return education.ALIASES.get(value, value)


def _items(text: str, column: ImportColumn) -> list[str]:
    return split_items(text)


def _boolean(text: str, column: ImportColumn) -> bool:
    return parse_bool(text, column.header)


def _date(text: str, column: ImportColumn) -> date | None:
    if plain(text) == "长期":
        return None
    return parse_date(text, column.header)


_PARSERS: dict[str, Callable[[str, ImportColumn], object]] = {
    "title": _text,
    "description": _text,
    "occupation_code": _occupation,
    "industry": _industry,
    "city_code": _city,
    "headcount": _integer,
    "salary_min": _integer,
    "salary_max": _integer,
    "education_min": _education,
    "skills": _items,
    "certificates_required": _items,
    "shift": _text,
    "valid_until": _date,
}
# Optional cells where "无" / "不限" means "left empty" rather than a value to validate.
_NOTHING_MEANS_EMPTY = frozenset(
    {"occupation_code", "industry", "age_range", "skills", "certificates_required"}
)


@dataclass(frozen=True)
class ListedEmployer:
    """The employer a row of a region's list names (matched by credit code, or registered, by the service)."""

    name: str
    credit_code: str


def parse_supply_rows(
    rows: Sequence[SheetRow], employer_id: str
) -> tuple[list[tuple[int, JobCreate]], list[RowError]]:
    """Split rows into jobs ready to create (with their row numbers) and every error of every bad row."""
    jobs, errors = _parse_rows(rows, regional=False, employer_id=employer_id)
    return [(number, job) for number, _, job in jobs], errors


def parse_regional_rows(
    rows: Sequence[SheetRow],
) -> tuple[list[tuple[int, ListedEmployer, JobCreate]], list[RowError]]:
    """A region's list: each good row's employer and job (its `employer_id` left for the service to fill),
    and every error of every bad row. Duplicates are judged within an employer, not across the list."""
    jobs, errors = _parse_rows(rows, regional=True, employer_id="")
    return [(number, employer, job) for number, employer, job in jobs if employer is not None], errors


def _parse_rows(
    rows: Sequence[SheetRow], *, regional: bool, employer_id: str
) -> tuple[list[tuple[int, ListedEmployer | None, JobCreate]], list[RowError]]:
    jobs: list[tuple[int, ListedEmployer | None, JobCreate]] = []
    errors: list[RowError] = []
    first_row_by_key: dict[tuple[object, ...], int] = {}
    names: dict[str, tuple[str, int]] = {}  # credit code: the name it first came with, and on which row
    for row in rows:
        data, row_errors = _parse_row(row)
        employer = None
        if regional:
            employer, employer_errors = _listed_employer(row, names)
            row_errors = employer_errors + row_errors
        job = None
        try:
            job = JobCreate.model_validate({**data, "employer_id": employer_id or "-"})
        except ValidationError as error:
            failed = {item.column for item in row_errors}
            row_errors.extend(
                e
                for e in schema_row_errors(row.number, error, _HEADER_BY_FIELD, name_fields=True)
                if e.column not in failed
            )
        row_errors.sort(key=lambda item: _COLUMN_ORDER.get(item.column, len(_COLUMN_ORDER)))
        key = _duplicate_key(data)
        if key is not None and (employer is not None or not regional):
            key = (employer.credit_code if employer else "", *key)
            first = first_row_by_key.setdefault(key, row.number)
            if first != row.number:
                within = "同一用人单位的" if regional else ""
                row_errors.append(
                    RowError(
                        row=row.number,
                        column="岗位名称",
                        code="duplicate_in_file",
                        message=f"与第 {first} 行重复（{within}{'、'.join(_DUPLICATE_KEY_HEADERS)}均相同）",
                    )
                )
        if row_errors:
            errors.extend(row_errors)
        elif job is not None:
            jobs.append((row.number, employer, job))
    return jobs, errors


def _listed_employer(
    row: SheetRow, names: dict[str, tuple[str, int]]
) -> tuple[ListedEmployer | None, list[RowError]]:
    name_column, code_column = EMPLOYER_COLUMNS
    name = re.sub(r"\s+", " ", row.values.get(name_column.header, "").strip())
    number = plain(row.values.get(code_column.header, "")).upper()
    errors: list[RowError] = []

    def refuse(column: ImportColumn, code: str, message: str) -> None:
        errors.append(RowError(row=row.number, column=column.header, code=code, message=message))

    if not name:
        refuse(name_column, "required", f"{name_column.header}为必填项，不能为空")
    elif not 2 <= len(name) <= 100:
        refuse(name_column, "length", f"{name_column.header}应为 2 至 100 个字")
    if not number:
        refuse(code_column, "required", f"{code_column.header}为必填项，不能为空")
    else:
        try:
            number = credit_code(number)
        except ValueError as problem:
            refuse(code_column, "invalid_credit_code", str(problem))
    if errors:
        return None, errors
    first_name, first_row = names.setdefault(number, (name, row.number))
    if first_name != name:
        message = f"与第 {first_row} 行的统一社会信用代码相同，但单位名称不同（第 {first_row} 行为「{first_name}」）"
        refuse(name_column, "name_mismatch", message)
        return None, errors
    return ListedEmployer(name, number), errors


def _parse_row(row: SheetRow) -> tuple[dict[str, Any], list[RowError]]:
    data: dict[str, Any] = {}
    benefits: dict[str, bool] = {}
    errors: list[RowError] = []
    for column in SUPPLY_COLUMNS:
        text = row.values.get(column.header, "").strip()
        if column.field in _NOTHING_MEANS_EMPTY and plain(text) in NOTHING:
            text = ""
        if not text:
            if column.required:
                message = f"{column.header}为必填项，不能为空"
                errors.append(
                    RowError(row=row.number, column=column.header, code="required", message=message)
                )
            continue
        try:
            if column.field == "age_range":
                low, high = _age_range(text, column)
                data.update(
                    {key: age for key, age in (("age_min", low), ("age_max", high)) if age is not None}
                )
            elif column.field.startswith("benefits."):
                benefits[column.field.removeprefix("benefits.")] = _boolean(text, column)
            else:
                value = _PARSERS[column.field](text, column)
                if value is not None and value != []:
                    data[column.field] = value
        except CellError as error:
            errors.append(
                RowError(row=row.number, column=column.header, code=error.code, message=error.message)
            )
    # A 是/否 column left empty means 否, so benefits are always stated.
    data["benefits"] = benefits
    return data, errors


def _duplicate_key(data: dict[str, Any]) -> tuple[object, ...] | None:
    """Rows whose key cells parsed; the comparison is on parsed values, so 苏州 and 3205 are the same city."""
    fields = ("title", "city_code", "salary_min", "salary_max")
    if not all(field in data for field in fields):
        return None
    return (re.sub(r"\s+", " ", str(data["title"]).strip()), *(data[field] for field in fields[1:]))


def supply_template(fmt: Literal["xlsx", "csv"], *, regional: bool = False) -> bytes:
    """The sheet employers (or, `regional`, bureaus) download: required headers starred, one valid example row,
    and notes (xlsx)."""
    columns = REGIONAL_COLUMNS if regional else SUPPLY_COLUMNS
    headers = [f"{column.header}*" if column.required else column.header for column in columns]
    example: list[object] = []
    for column in columns:
        if column.field in ("headcount", "salary_min", "salary_max"):
            example.append(int(column.example))
        elif column.field == "valid_until":
            # A fixed date would fail the "not in the past" check once it passes; keep the example valid.
            example.append(beijing_date() + timedelta(days=90))
        else:
            example.append(column.example)
    notes = [
        (header, ("必填。" if column.required else "选填。") + column.description)
        for header, column in zip(headers, columns, strict=True)
    ]
    per_row = "每行一个岗位，并写明其用人单位；同一单位的多个岗位各占一行" if regional else "每行一个岗位"
    notes.append(("说明", f"示例行仅供参考，导入前请删除或替换；列名后带 * 的为必填列；{per_row}。"))
    return write_table(
        headers,
        [example],
        fmt,
        sheet_title="区域岗位供给清单" if regional else "岗位供给清单",
        notes=notes,
        text_headers=[
            header for header in headers if header.rstrip("*") in (*_TEXT_HEADERS, "统一社会信用代码")
        ],
    )
