"""Reading single spreadsheet cells the way people fill them in, shared by every import (供给清单, 花名册).

Cells are typed by hand in Excel or WPS: full-width digits, "5,500元", "是/否/√", "2025年6月30日", lists
separated by whatever punctuation came to hand. Each parser returns the value or raises `CellError` with a
stable code and a Chinese message naming the column, so an import can report every bad cell of a row at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ValidationError

from libs.api.problems import FieldError, Problem, describe_error
from libs.reference.occupations import is_occupation_code, occupation_code_by_name
from libs.reference.regions import jiangsu_city_code
from libs.spreadsheets import SheetRow, SpreadsheetError, read_table_bounded


@dataclass(frozen=True)
class ImportColumn:
    """One template column; `field` is the model field it fills, dotted for nested ones ("benefits.meals")."""

    header: str
    field: str
    required: bool
    description: str
    example: str


class CellError(Exception):
    """One cell that cannot be read; `code` is stable for clients, `message` is shown to the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# What people write in an optional cell to mean "nothing".
NOTHING = frozenset({"无", "不限", "无要求", "没有", "/", "-", "—", "——"})

_TRUE = frozenset({"是", "有", "包", "提供", "y", "yes", "true", "1", "√", "✓"})
_FALSE = frozenset({"否", "无", "不包", "不提供", "没有", "n", "no", "false", "0", "×", "✗"})
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(万|千|k)?")
_NUMBER_UNITS = ("元/月", "元每月", "元", "人", "名")
_LIST_SEPARATORS = re.compile(r"[、,，;；\n]+")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
# `write_table` prefixes cells starting with these with "'" in CSV, so Excel does not run them as formulas.
_FORMULA_STARTS = ("=", "+", "-", "@")


def plain(text: str) -> str:
    """Full-width digits and punctuation from Chinese input methods, and stray spaces, mean nothing."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def unescape_formula(text: str) -> str:
    """Undo the CSV formula guard, so a file the platform wrote (an export, an upload chunk) reads back as is."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def parse_integer(text: str, header: str, example: str, hint: str = "") -> int:
    """A whole number with the units and shorthands people add ("5,500元", "0.55万", "5.5k", "30人")."""
    value = plain(text).replace(",", "").lower()
    for unit in _NUMBER_UNITS:
        value = value.removesuffix(unit)
    match = _NUMBER.fullmatch(value)
    error = CellError("invalid_number", f"{header}须为整数{hint}，如 {example}，当前为「{text}」")
    if match is None:
        raise error
    amount = Decimal(match.group(1)) * {"万": 10000, "千": 1000, "k": 1000, None: 1}[match.group(2)]
    if amount != amount.to_integral_value():
        raise error
    return int(amount)


def split_items(text: str) -> list[str]:
    """Items of a list cell, in order, without repeats or "无"-style placeholders."""
    items: list[str] = []
    for part in _LIST_SEPARATORS.split(text):
        item = part.strip()
        if item and item not in items and item not in NOTHING:
            items.append(item)
    return items


def parse_bool(text: str, header: str) -> bool:
    """是/否 and the other ways people say yes or no (√, Y, 有, 包...)."""
    value = plain(text).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CellError("invalid_bool", f"{header}请填写“是”或“否”，当前为「{text}」")


def parse_date(text: str, header: str) -> date:
    """2025-06-30, 2025/6/30, 2025.6.30, 2025年6月30日 or 20250630; a time after the date is ignored."""
    value = unicodedata.normalize("NFKC", text).strip()
    match = _DATE.fullmatch(value) or _COMPACT_DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise CellError(
            "invalid_date", f"{header}「{text}」不是有效日期，请填写如 2025-06-30 或 2025年6月30日"
        ) from exc


def parse_jiangsu_city(text: str) -> str:
    """A Jiangsu city by name or code ("苏州", "苏州市", "3205", "320500") -> its four-digit code."""
    code = jiangsu_city_code(text)
    if code is None:
        raise CellError(
            "invalid_city", f"「{text}」不是江苏省的设区市，请填写城市名称或代码，如 苏州 或 3205"
        )
    return code


def parse_occupation(text: str) -> str:
    """A 国家职业分类大典 occupation by code, name or common alias -> its code."""
    code = text if is_occupation_code(text) else occupation_code_by_name(text)
    if code is None:
        raise CellError(
            "invalid_occupation",
            f"未找到工种「{text}」，请填写国家职业分类大典中的职业名称或代码，如 电子设备装接工 或 6-25-04-07",
        )
    return code


async def read_upload(
    content: bytes, filename: str, *, required_headers: Sequence[str], field: str = "form.file"
) -> list[SheetRow]:
    """An uploaded import's rows, read off the event loop within the shared bounds; a file that cannot be
    imported is a problem naming `field`: 413 when it is too large to read, 422 when it is unreadable."""
    try:
        return await read_table_bounded(content, filename, required_headers=required_headers)
    except SpreadsheetError as error:
        raise Problem(
            error.status, error.message, errors=[FieldError(field, error.code, error.message)]
        ) from error


class RowError(BaseModel):
    """One rejected cell of an import, in the words of the sheet."""

    row: int
    column: str
    code: str
    message: str


def schema_row_errors(
    row: int, error: ValidationError, header_by_field: Mapping[str, str], *, name_fields: bool = False
) -> list[RowError]:
    """A request model's validation errors, each moved onto the column the user sees.

    `name_fields`: also replace API field names inside validator messages with their column headers."""
    found: list[RowError] = []
    for item in error.errors():
        location = [str(part) for part in item["loc"] if isinstance(part, str)]
        header = next(
            (
                header_by_field[key]
                for end in range(len(location), 0, -1)
                if (key := ".".join(location[:end])) in header_by_field
            ),
            "",  # not a column (an id the caller passed): reported against no column
        )
        index = next((part for part in item["loc"] if isinstance(part, int)), None)
        subject = header or "/".join(str(part) for part in item["loc"])
        if index is not None:
            subject = f"{subject}第 {index + 1} 项"
        if item["type"] == "missing":
            message = f"{subject}为必填项，不能为空"
        else:
            message = describe_error(item, subject)
            if name_fields and item["type"] == "value_error":
                message = _field_names(header_by_field).sub(
                    lambda match: header_by_field[match.group(1)], message
                )
        code = "required" if item["type"] == "missing" else item["type"]
        found.append(RowError(row=row, column=header, code=code, message=message))
    return found


def _field_names(header_by_field: Mapping[str, str]) -> re.Pattern[str]:
    names = "|".join(sorted(header_by_field, key=len, reverse=True))
    return re.compile(rf"\s*(?<![A-Za-z0-9_])({names})(?![A-Za-z0-9_])\s*")
