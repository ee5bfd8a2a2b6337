"""The comparison: read the contribution file, hash each ID number at once, keep the months of registered
workers, and warn their stations where the records and the platform disagree."""

from __future__ import annotations

import asyncio
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as NumberError

from libs.api.problems import not_found
from libs.auth import Principal, Role, require_role
from libs.db import beijing_date, utcnow
from libs.pii import PiiError, PiiVault, parse_resident_id
from libs.spreadsheet_cells import CellError, RowError, plain, read_upload
from libs.spreadsheets import SheetRow
from services.demand import repository
from services.demand.insurance.schemas import InsuranceImportOut
from services.demand.models import Contribution, InsuranceImport, Person
from services.demand.service import ID_NUMBER, raise_warning

ID_COLUMN, MONTH_COLUMN, PAID_COLUMN, EMPLOYER_COLUMN = "身份证号", "缴费月份", "缴费状态", "统一社会信用代码"
REQUIRED_HEADERS = (ID_COLUMN, MONTH_COLUMN, PAID_COLUMN)
IMPORTERS = (Role.admin, Role.bureau)
LOOKUP_BATCH = 500

_PAID = {"已缴", "已缴费", "缴费", "正常", "正常缴费", "是", "y", "yes", "1", "true", "√"}
_UNPAID = {"未缴", "未缴费", "欠缴", "中断", "停缴", "暂停", "断缴", "否", "n", "no", "0", "false", "×"}
_MONTH = re.compile(r"(\d{4})\D{0,2}?(\d{1,2})\D{0,2}")


@dataclass(frozen=True)
class Record:
    """One good row, its ID number already replaced by the keyed hash."""

    row: int
    id_hash: str
    month: str
    paid: bool
    employer_credit_code: str | None


def parse_month(text: str, today: date) -> str:
    """2026-11, 202611, 2026年11月, 2026/11 or 2026.11 -> "2026-11"; never a month still to come."""
    value = unicodedata.normalize("NFKC", text).strip()
    match = _MONTH.fullmatch(value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise CellError("invalid_month", f"{MONTH_COLUMN}应为年月，如 2026-11 或 202611，当前为「{text}」")
    month = f"{match.group(1)}-{int(match.group(2)):02d}"
    if month > today.strftime("%Y-%m"):
        raise CellError("month_in_future", f"{MONTH_COLUMN}「{text}」晚于本月")
    return month


def parse_paid(text: str) -> bool:
    value = plain(text).lower()
    if value in _PAID:
        return True
    if value in _UNPAID:
        return False
    raise CellError(
        "invalid_status", f"{PAID_COLUMN}应为 已缴 或 未缴（也可写 正常、中断、欠缴），当前为「{text}」"
    )


def parse_credit_code(text: str) -> str | None:
    if not plain(text):
        return None
    try:
        return str(uscc.validate(plain(text).upper()))
    except NumberError as error:
        raise CellError(
            "invalid_credit_code", f"{EMPLOYER_COLUMN}「{text}」不是有效的统一社会信用代码"
        ) from error


def read_records(
    rows: Sequence[SheetRow], vault: PiiVault, today: date
) -> tuple[list[Record], list[RowError]]:
    """Every row checked; the ID number lives only until it is hashed and is never echoed in an error."""
    records: list[Record] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        cells = row.values
        problems: list[RowError] = []
        id_hash = ""
        try:
            id_hash = vault.keyed_hash(parse_resident_id(cells.get(ID_COLUMN, "")).number, ID_NUMBER)
        except PiiError as error:
            problems.append(RowError(row=row.number, column=ID_COLUMN, code=error.code, message=str(error)))
        parsed: dict[str, object] = {}
        for column, parse in (
            (MONTH_COLUMN, lambda text: parse_month(text, today)),
            (PAID_COLUMN, parse_paid),
            (EMPLOYER_COLUMN, parse_credit_code),
        ):
            try:
                parsed[column] = parse(cells.get(column, ""))
            except CellError as error:
                problems.append(
                    RowError(row=row.number, column=column, code=error.code, message=error.message)
                )
        if not problems:
            key = (id_hash, str(parsed[MONTH_COLUMN]))
            if key in seen:
                problems.append(
                    RowError(
                        row=row.number,
                        column=ID_COLUMN,
                        code="duplicate_row",
                        message=f"与第 {seen[key]} 行是同一人同一月份",
                    )
                )
            seen.setdefault(key, row.number)
        if problems:
            errors.extend(problems)
            continue
        employer = parsed[EMPLOYER_COLUMN]
        records.append(
            Record(
                row=row.number,
                id_hash=id_hash,
                month=str(parsed[MONTH_COLUMN]),
                paid=bool(parsed[PAID_COLUMN]),
                employer_credit_code=employer if isinstance(employer, str) else None,
            )
        )
    return records, errors


def disagreement(person: Person, record: Record) -> str | None:
    """What the records say that the platform does not know, if anything."""
    employed = person.status == "employed"
    if employed and not record.paid:
        return "insurance_stopped"
    if record.paid and not employed:
        return "insurance_unrecorded_job"
    other = person.employer_credit_code and record.employer_credit_code != person.employer_credit_code
    if record.paid and other and record.employer_credit_code:
        return "insurance_other_employer"
    return None


async def import_contributions(
    session: AsyncSession, vault: PiiVault, caller: Principal, *, filename: str, content: bytes
) -> InsuranceImportOut:
    require_role(caller, *IMPORTERS)
    rows = await read_upload(content, filename, required_headers=REQUIRED_HEADERS)
    records, rejected = await asyncio.to_thread(read_records, rows, vault, beijing_date())
    persons: dict[str, Person] = {}
    hashes = sorted({record.id_hash for record in records})
    for start in range(0, len(hashes), LOOKUP_BATCH):
        persons.update(await repository.persons_by_id_hashes(session, hashes[start : start + LOOKUP_BATCH]))
    imported = InsuranceImport(
        id=str(uuid.uuid4()),
        filename=filename[:200],
        months=sorted({record.month for record in records}),
        rows=len(rows),
        matched=0,
        warnings={},
        rejected=[error.model_dump() for error in sorted(rejected, key=lambda e: (e.row, e.column))],
        imported_by=caller.sub[:200],
        created_at=utcnow(),
    )
    session.add(imported)
    latest: dict[str, Record] = {}
    matched = [record for record in records if record.id_hash in persons]
    for record in matched:
        person = persons[record.id_hash]
        await _keep(session, person.id, record, imported.id)
        if record.month >= latest.get(person.id, record).month:
            latest[person.id] = record
    warnings: dict[str, int] = {}
    by_id = {person.id: person for person in persons.values()}
    for person_id, record in latest.items():
        person = by_id[person_id]
        kind = disagreement(person, record)
        if kind is not None and not await _already_warned(session, person_id, kind):
            await raise_warning(session, person, kind)
            warnings[kind] = warnings.get(kind, 0) + 1
    imported.matched = len(matched)
    imported.warnings = warnings
    await session.flush()
    return view(imported)


async def _keep(session: AsyncSession, person_id: str, record: Record, import_id: str) -> None:
    """The month as the newest file says it (a corrected file replaces what an earlier one said)."""
    kept = await repository.contribution(session, person_id, record.month)
    if kept is None:
        kept = Contribution(id=str(uuid.uuid4()), person_id=person_id, month=record.month)
        session.add(kept)
    kept.paid = record.paid
    kept.employer_credit_code = record.employer_credit_code
    kept.import_id = import_id


async def _already_warned(session: AsyncSession, person_id: str, kind: str) -> bool:
    """An open warning of the same kind is not raised again by the next month's file."""
    return await repository.open_warning(session, person_id, kind) is not None


def view(imported: InsuranceImport) -> InsuranceImportOut:
    return InsuranceImportOut(
        id=imported.id,
        filename=imported.filename,
        months=list(imported.months),
        rows=imported.rows,
        matched=imported.matched,
        unmatched=imported.rows - imported.matched - len({error["row"] for error in imported.rejected}),
        warnings=dict(imported.warnings),
        rejected=[RowError.model_validate(error) for error in imported.rejected],
        created_at=imported.created_at,
    )


async def list_imports(session: AsyncSession, caller: Principal) -> Sequence[InsuranceImport]:
    """An admin sees every import; a bureau the ones it made."""
    require_role(caller, *IMPORTERS)
    return await repository.insurance_imports(session, caller.sub if caller.role is Role.bureau else None)


async def import_in_scope(session: AsyncSession, caller: Principal, import_id: str) -> InsuranceImport:
    require_role(caller, *IMPORTERS)
    imported = await session.get(InsuranceImport, import_id)
    if imported is None or (caller.role is Role.bureau and imported.imported_by != caller.sub):
        raise not_found("社保比对")
    return imported
