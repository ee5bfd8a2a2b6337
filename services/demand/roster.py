"""花名册 (roster) import and export: spreadsheet rows -> `PersonCreate` or per-cell errors, with no I/O.

Liaison stations keep rosters in Excel and fill them by hand, so cells are read the way people write them
("苏州、无锡", "初中毕业", "5000以上", "2025年6月30日") and every problem of a row is reported at once, against the
Chinese column header. Rows carry sensitive personal data: no error message ever repeats an ID number or a
phone, so a rejection report can be shown, logged or stored without becoming a leak of its own.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

from pydantic import ValidationError
from stdnum.cn import ric

from libs.db import beijing_date
from libs.events.contracts import DUTIES_LENGTH, WORK_HISTORY_SPELLS
from libs.pii import PiiError, normalise_phone, parse_resident_id
from libs.reference import education, labels
from libs.reference.occupations import occupation
from libs.reference.regions import JIANGSU_CITIES
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
    unescape_formula,
)
from libs.spreadsheets import SheetRow, write_table
from services.demand.schemas import Category, Consent, PersonCreate, Status
from services.demand.work_history import TooManySpells, parse_work_history

EDUCATION_LEVELS = education.PERSON_LEVELS
CATEGORY_NAMES = cast(
    dict[Category, str], labels.CATEGORY_NAMES
)  # its keys are Category's (a unit test checks)
STATUS_NAMES: dict[Status, str] = {
    "seeking": "求职中",
    "employed": "已就业",
    "unemployed": "失业",
    "training": "培训中",
    "inactive": "暂不就业",
}


def _example_id_number() -> str:
    """Valid (check digit, county 610102 西安市新城区, birth date) but fictitious, so the template imports as is."""
    body = "61010219900307123"
    return body + ric.calc_check_digit(body + "0")


EXAMPLE_ID_NUMBER = _example_id_number()
EXAMPLE_PHONE = "13800000000"

_LIST_HINT = "多项用 、 分隔"
ROSTER_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("姓名", "name", True, "与身份证上的姓名一致，2 至 50 个字", "李明"),
    ImportColumn(
        "身份证号",
        "id_number",
        True,
        "18 位居民身份证号码，末位可为 X；请将该列设为文本格式，否则 Excel 会把号码改成科学计数法并丢失末几位",
        EXAMPLE_ID_NUMBER,
    ),
    ImportColumn("手机号", "phone", True, "本人常用的 11 位中国大陆手机号", EXAMPLE_PHONE),
    ImportColumn(
        "人员类别",
        "categories",
        False,
        f"以下一项或多项，{_LIST_HINT}：{'、'.join(CATEGORY_NAMES.values())}；都不属于可不填",
        "脱贫人口",
    ),
    ImportColumn("学历", "education", False, f"以下之一：{'、'.join(EDUCATION_LEVELS)}", "初中"),
    ImportColumn("技能", "skills", False, f"{_LIST_HINT}，每项最多 30 个字，最多 30 项", "电焊、叉车驾驶"),
    ImportColumn(
        "证书", "certificates", False, f"{_LIST_HINT}，每项最多 30 个字，最多 20 项", "焊工特种作业操作证"
    ),
    ImportColumn("技能特长", "speciality", False, "自由文字，最多 1000 个字", "会开叉车，能看懂简单电路图"),
    ImportColumn("培训经历", "past_training", False, "以往参加的培训，自由文字，最多 1000 个字", ""),
    ImportColumn(
        "工作经历",
        "work_history",
        False,
        "每段一行或用 ； 分隔，每段以起止年月开头，如 2018.03-2021.06 昆山电子厂 贴片操作工；"
        f"2021年7月至今 建筑工地钢筋工；每段最多 {DUTIES_LENGTH} 个字，最多 {WORK_HISTORY_SPELLS} 段",
        "2018.03-2021.06 电子厂 贴片操作工；2021年7月至今 建筑工地 钢筋工",
    ),
    ImportColumn(
        "意向工种",
        "intention.occupation_codes",
        False,
        f"国家职业分类大典中的职业名称或代码，如 电子设备装接工 或 6-25-04-07，常用叫法（如 电子产品装配工）也可；"
        f"{_LIST_HINT}，最多 10 项",
        "电子产品装配工、电焊工",
    ),
    ImportColumn(
        "意向城市",
        "intention.city_codes",
        False,
        f"江苏省设区市的名称或代码，如 苏州 或 3205；{_LIST_HINT}；不填或填 不限 为不限城市",
        "苏州、无锡",
    ),
    ImportColumn(
        "期望月薪",
        "intention.min_salary",
        False,
        "可接受的最低税前月薪，元/月，整数；填 5000-6000 按 5000 计；不填或填 面议 为不限",
        "5000",
    ),
    ImportColumn("是否需要住宿", "intention.needs_dormitory", False, "填 是 或 否，不填视为 否", "是"),
    ImportColumn(
        "可到岗日期",
        "intention.available_from",
        False,
        "如 2025-06-30、2025/6/30 或 2025年6月30日；不填或填 随时 为随时可到岗",
        "",
    ),
    ImportColumn(
        "同意授权",
        "consent",
        True,
        "本人是否已同意平台处理其个人信息（就业帮扶信息登记、岗位推荐与就业跟踪）；"
        "只有填 是 的人员会被登记，填 否 或不填的行不会导入",
        "是",
    ),
    ImportColumn("备注", "note", False, "最多 500 个字", ""),
)
REQUIRED_HEADERS: tuple[str, ...] = tuple(column.header for column in ROSTER_COLUMNS if column.required)

_COLUMN = {column.field: column for column in ROSTER_COLUMNS}
_COLUMN_ORDER = {column.header: index for index, column in enumerate(ROSTER_COLUMNS)}
# Typed into General cells, Excel rounds an ID number to 15 digits and drops a phone's meaning as text.
_TEXT_HEADERS = ("身份证号", "手机号", "意向工种")
_HEADER_BY_FIELD: dict[str, str] = {
    **{column.field: column.header for column in ROSTER_COLUMNS},
    # The caller's input, not a spreadsheet column: reported against no column.
    "station_id": "",
    "consent.given_at": "",
    "consent.scope": "",
}
_INTENTION = "intention."

_CATEGORY_BY_NAME: dict[str, Category] = {
    **{name: code for code, name in CATEGORY_NAMES.items()},
    **{code: code for code in CATEGORY_NAMES},
    "脱贫户": "poverty_alleviated",
    "脱贫劳动力": "poverty_alleviated",
    "省内原农村建档立卡低收入人口": "registered_low_income",
    "原农村建档立卡低收入人口": "registered_low_income",
    "农村低收入": "rural_low_income",
    "低保": "dibao",
    "低保户": "dibao",
    "城乡低保对象": "dibao",
}
_EDUCATION_SUFFIXES = ("学历", "毕业", "文化", "文化程度")
# Whole-cell answers meaning "no preference" for the intention columns.
_ANY = NOTHING | {"均可", "都可以", "服从安排", "服从分配"}
_ANY_CITY = _ANY | {"江苏", "江苏省", "江苏全省"}
_ANY_SALARY = NOTHING | {"面议", "无要求"}
# How stations answer the consent question in words rather than 是/否.
_CONSENT_GIVEN = frozenset({"同意", "已同意", "授权", "已授权", "同意授权"})
_CONSENT_REFUSED = frozenset({"不同意", "未同意", "未授权", "拒绝", "不授权"})
_AVAILABLE_NOW = frozenset({"随时", "随时到岗", "立即", "立即到岗", "马上"})
_SALARY_SUFFIXES = ("及以上", "以上", "起", "左右")
_RANGE_SEPARATOR = re.compile(r"[-~—–至到]")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
# A safety net under the per-row replacement: any run as long as a phone or longer is hidden.
_LONG_DIGITS = re.compile(r"\d{11,}[XxＸｘ]?")
_HIDDEN = "***"


@dataclass(frozen=True)
class ExportPerson:
    """One worker as an export shows them: already decrypted, ID number and phone already masked."""

    name: str
    id_number_masked: str
    phone_masked: str
    categories: Sequence[str]
    education: str | None
    skills: Sequence[str]
    certificates: Sequence[str]
    speciality: str | None
    past_training: str | None
    work_history: Sequence[Mapping[str, Any]]
    occupation_codes: Sequence[str]
    city_codes: Sequence[str]
    min_salary: int | None
    needs_dormitory: bool
    available_from: date | None
    status: str
    status_since: date


def parse_roster_rows(
    rows: Sequence[SheetRow], *, station_id: str, consent_at: datetime, consent_scope: str
) -> tuple[list[tuple[int, PersonCreate]], list[RowError]]:
    """Split rows into people ready to register (with their row numbers) and every error of every bad row.

    `consent_at`/`consent_scope` record the authorisation the 同意授权 column confirms; they are the caller's
    input, so a bad value (naive or future time, empty scope) raises `ValidationError` once, not per row.
    Duplicates against workers already registered are the caller's to find; duplicates within the file are
    reported here, on the later row.
    """
    consent = Consent(given_at=consent_at, scope=consent_scope)
    persons: list[tuple[int, PersonCreate]] = []
    errors: list[RowError] = []
    first_row_by_id: dict[str, int] = {}
    for row in rows:
        data, row_errors, id_number = _parse_row(row)
        if data.pop("consent", False):
            data["consent"] = consent
        person = None
        try:
            person = PersonCreate.model_validate({**data, "station_id": station_id})
        except ValidationError as error:
            failed = {item.column for item in row_errors}
            row_errors.extend(
                e for e in schema_row_errors(row.number, error, _HEADER_BY_FIELD) if e.column not in failed
            )
        if id_number is not None:
            first = first_row_by_id.setdefault(id_number, row.number)
            if first != row.number:
                message = f"与第 {first} 行的身份证号码重复，同一人只能登记一次"
                row_errors.append(
                    RowError(row=row.number, column="身份证号", code="duplicate_in_file", message=message)
                )
        if row_errors:
            row_errors.sort(key=lambda item: _COLUMN_ORDER.get(item.column, len(_COLUMN_ORDER)))
            secrets = _secrets(row, id_number)
            errors.extend(
                item.model_copy(update={"message": _hide(item.message, secrets)}) for item in row_errors
            )
        elif person is not None:
            persons.append((row.number, person))
    return persons, errors


def id_number_of(person: PersonCreate) -> str:
    """The normalised 18-character number (upper-case X): `PersonCreate` validated and normalised it already."""
    return person.id_number


def _cell(row: SheetRow, column: ImportColumn) -> str:
    return unescape_formula(row.values.get(column.header, "").strip())


def _parse_row(row: SheetRow) -> tuple[dict[str, Any], list[RowError], str | None]:
    """The fields that parsed, an error per failed cell, and the normalised ID number when it is valid."""
    data: dict[str, Any] = {}
    intention: dict[str, Any] = {}
    errors: list[RowError] = []
    for column in ROSTER_COLUMNS:
        text = _cell(row, column)
        if not text and column.field != "consent":
            if column.required:
                message = f"{column.header}为必填项，不能为空"
                errors.append(
                    RowError(row=row.number, column=column.header, code="required", message=message)
                )
            continue
        try:
            value = _PARSERS[column.field](text, column)
        except CellError as error:
            errors.append(
                RowError(row=row.number, column=column.header, code=error.code, message=error.message)
            )
            continue
        if value is None or value == []:
            continue
        if column.field.startswith(_INTENTION):
            intention[column.field.removeprefix(_INTENTION)] = value
        else:
            data[column.field] = value
    if intention:
        data["intention"] = intention
    id_number = data.get("id_number")
    return data, errors, id_number if isinstance(id_number, str) else None


def _text(text: str, column: ImportColumn) -> str:
    return text


def _name(text: str, column: ImportColumn) -> str:
    """Rosters pad two-character names to line up with three-character ones ("李  明")."""
    return _CJK_GAP.sub("", text)


def _id_number(text: str, column: ImportColumn) -> str:
    value = plain(text).lstrip("'‘’`").upper()
    if _SCIENTIFIC.fullmatch(value):
        raise CellError(
            "id_number_format",
            "身份证号码被 Excel 转成了科学计数法，末几位已丢失：请把该列设为文本格式，重新填写号码后再导入",
        )
    try:
        return parse_resident_id(value).number
    except PiiError as error:
        raise CellError(error.code, str(error)) from error


def _phone(text: str, column: ImportColumn) -> str:
    try:
        return normalise_phone(plain(text).lstrip("'‘’`"))
    except PiiError as error:
        raise CellError(error.code, str(error)) from error


def _categories(text: str, column: ImportColumn) -> list[Category]:
    items = split_items(text)
    unknown = [item for item in items if plain(item) not in _CATEGORY_BY_NAME]
    if unknown:
        raise CellError(
            "invalid_category",
            f"人员类别{_quoted(unknown)}无法识别，请填写以下一项或多项：{'、'.join(CATEGORY_NAMES.values())}",
        )
    return list(dict.fromkeys(_CATEGORY_BY_NAME[plain(item)] for item in items))


def _education(text: str, column: ImportColumn) -> str | None:
    value = plain(text)
    if value in NOTHING:
        return None
    for suffix in _EDUCATION_SUFFIXES:
        if value.endswith(suffix) and value != suffix:
            value = value.removesuffix(suffix)
            break
    # Anything else is left to the schema, which names the allowed levels.
    return education.ALIASES.get(value, value)


def _items(text: str, column: ImportColumn) -> list[str]:
    return split_items(text)


def _work_history(text: str, column: ImportColumn) -> list[dict[str, Any]]:
    try:
        return parse_work_history(text)
    except TooManySpells as error:
        raise CellError("too_many_spells", str(error)) from error


def _occupations(text: str, column: ImportColumn) -> list[str]:
    if plain(text) in _ANY:
        return []
    codes, unknown = _resolve(split_items(text), parse_occupation)
    if unknown:
        raise CellError(
            "invalid_occupation",
            f"未找到工种{_quoted(unknown)}，请填写国家职业分类大典中的职业名称或代码，如 电子设备装接工 或 6-25-04-07",
        )
    return codes


def _cities(text: str, column: ImportColumn) -> list[str]:
    if plain(text) in _ANY_CITY:
        return []
    codes, unknown = _resolve(split_items(text), parse_jiangsu_city)
    if unknown:
        raise CellError(
            "invalid_city",
            f"意向城市{_quoted(unknown)}不是江苏省的设区市，请填写城市名称或代码，如 苏州、无锡 或 3205",
        )
    return codes


def _salary(text: str, column: ImportColumn) -> int | None:
    value = plain(text)
    if value in _ANY_SALARY:
        return None
    for suffix in _SALARY_SUFFIXES:
        value = value.removesuffix(suffix)
    # "5000-6000": the lower end is what the worker will accept.
    low = _RANGE_SEPARATOR.split(value, maxsplit=1)[0]
    try:
        return parse_integer(low, column.header, column.example, "（元/月）")
    except CellError as error:
        message = f"{column.header}须为整数（元/月），如 {column.example} 或 5000-6000，当前为「{text}」"
        raise CellError(error.code, message) from error


def _boolean(text: str, column: ImportColumn) -> bool:
    return parse_bool(text, column.header)


def _available_from(text: str, column: ImportColumn) -> date | None:
    if plain(text) in _AVAILABLE_NOW:
        return None
    return parse_date(text, column.header)


def _consent(text: str, column: ImportColumn) -> bool:
    """Registering someone's ID number without their consent is not allowed (PIPL): 否 and empty both refuse."""
    value = plain(text)
    if value in _CONSENT_GIVEN or (
        value and value not in _CONSENT_REFUSED and parse_bool(text, column.header)
    ):
        return True
    raise CellError(
        "missing_consent", "未取得本人授权（同意授权须为“是”），不能登记该人员的个人信息，请取得授权后再导入"
    )


_PARSERS: dict[str, Callable[[str, ImportColumn], object]] = {
    "name": _name,
    "id_number": _id_number,
    "phone": _phone,
    "categories": _categories,
    "education": _education,
    "skills": _items,
    "certificates": _items,
    "speciality": _text,
    "past_training": _text,
    "work_history": _work_history,
    "intention.occupation_codes": _occupations,
    "intention.city_codes": _cities,
    "intention.min_salary": _salary,
    "intention.needs_dormitory": _boolean,
    "intention.available_from": _available_from,
    "consent": _consent,
    "note": _text,
}


def _resolve(items: Sequence[str], parse: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """Codes of the items that resolve (without repeats: 苏州 and 3205 are one city), and those that do not."""
    codes: list[str] = []
    unknown: list[str] = []
    for item in items:
        try:
            code = parse(item)
        except CellError:
            unknown.append(item)
            continue
        if code not in codes:
            codes.append(code)
    return codes, unknown


def _quoted(items: Sequence[str]) -> str:
    return "、".join(f"「{item}」" for item in items)


def _secrets(row: SheetRow, id_number: str | None) -> list[str]:
    """What this row's messages must not repeat: the ID and phone cells as typed and as normalised."""
    found = {id_number or ""}
    for field in ("id_number", "phone"):
        text = _cell(row, _COLUMN[field])
        found |= {text, plain(text), plain(text).upper()}
        with contextlib.suppress(PiiError):
            found.add(normalise_phone(plain(text)))
    # Longest first, so a number is hidden whole rather than around a shorter piece of it.
    return sorted((text for text in found if len(text) >= 7), key=len, reverse=True)


def _hide(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, _HIDDEN)
    return _LONG_DIGITS.sub(_HIDDEN, message)


def roster_template(fmt: Literal["xlsx", "csv"]) -> bytes:
    """The sheet stations download: required headers starred, one valid example row, and notes (xlsx)."""
    headers = [f"{column.header}*" if column.required else column.header for column in ROSTER_COLUMNS]
    example: list[object] = []
    for column in ROSTER_COLUMNS:
        if column.field == "intention.min_salary":
            example.append(int(column.example))
        elif column.field == "intention.available_from":
            # A date relative to today keeps the example sensible whenever the template is downloaded.
            example.append(beijing_date() + timedelta(days=14))
        else:
            example.append(column.example)
    notes = [
        (header, ("必填。" if column.required else "选填。") + column.description)
        for header, column in zip(headers, ROSTER_COLUMNS, strict=True)
    ]
    notes.append(
        (
            "说明",
            "示例行中的人员为虚构，仅供参考，导入前请删除；列名后带 * 的为必填列；每行一人，"
            "同一身份证号在文件中只能出现一次；只登记已同意授权的人员。",
        )
    )
    return write_table(
        headers,
        [example],
        fmt,
        sheet_title="花名册",
        notes=notes,
        text_headers=[header for header in headers if header.rstrip("*") in _TEXT_HEADERS],
    )


EXPORT_HEADERS: tuple[str, ...] = (
    *(column.header for column in ROSTER_COLUMNS if column.field not in ("consent", "note")),
    "就业状态",
    "状态起始日期",
)
# Exported rows may carry values written before a code existed: unknown ones are shown as they are.
_CATEGORY_LABELS: dict[str, str] = {code: name for code, name in CATEGORY_NAMES.items()}
_STATUS_LABELS: dict[str, str] = {code: name for code, name in STATUS_NAMES.items()}


def export_rows(persons: Iterable[ExportPerson]) -> tuple[list[str], list[list[object]]]:
    """Headers and rows for `write_table`, in the roster's own columns and words, so stations read it as one."""
    rows: list[list[object]] = []
    for person in persons:
        rows.append(
            [
                person.name,
                person.id_number_masked,
                person.phone_masked,
                "、".join(_CATEGORY_LABELS.get(code, code) for code in person.categories),
                person.education or "",
                "、".join(person.skills),
                "、".join(person.certificates),
                person.speciality or "",
                person.past_training or "",
                work_history_text(person.work_history),
                "、".join(_occupation_name(code) for code in person.occupation_codes),
                "、".join(JIANGSU_CITIES.get(code, code) for code in person.city_codes),
                person.min_salary,
                "是" if person.needs_dormitory else "否",
                person.available_from,
                _STATUS_LABELS.get(person.status, person.status),
                person.status_since,
            ]
        )
    return list(EXPORT_HEADERS), rows


def work_history_text(spells: Sequence[Mapping[str, Any]]) -> str:
    """Spells as the 工作经历 column reads them back in: one per line, led by their months."""
    lines = []
    for spell in spells:
        started, ended = spell.get("started"), spell.get("ended")
        span = ""
        if started:
            span = f"{started[:7].replace('-', '.')}-{ended[:7].replace('-', '.') if ended else '至今'} "
        words = " ".join(part for part in (spell.get("employer"), spell.get("workplace_kind")) if part)
        lines.append(f"{span}{words} {spell.get('duties', '')}".strip().replace("\n", " "))
    return "\n".join(lines)


def _occupation_name(code: str) -> str:
    """The 大典 name reads better than the code and imports back to the same code."""
    found = occupation(code)
    return found.name if found is not None else code
