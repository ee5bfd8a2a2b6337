"""The eligible-for-policy lists' rules: who sees which claims, and the officers' steps on them.

Outside the caller's scope a claim does not exist (404). Stations and partner provinces see their workers'
claims, a Jiangsu city's bureau the claims of work in its city, an employer (recruiter) the claims it is the
beneficiary of, a training base the claims of its trainings. Stations record that a worker was told or has
applied; admins, partner provinces and bureaus grant and refuse. A grant is written to `grants`, whose key
(item, person or beneficiary, period) makes a second grant for the same period fail whoever tries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from sqlalchemy import ColumnElement, and_, false, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.pagination import decode_cursor, encode_cursor
from libs.api.problems import FieldError, Problem, not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.contacts import Contact
from libs.db import beijing_date
from libs.reference.divisions import region_name
from libs.spreadsheets import write_table
from services.policy import repository as catalogue
from services.policy.eligibility import repository
from services.policy.eligibility.assessing import change
from services.policy.eligibility.models import Eligibility, Grant
from services.policy.eligibility.schemas import (
    STATUS_NAMES,
    WHAT_NAMES,
    Claim,
    ClaimAction,
    ClaimChange,
    ClaimDetail,
)
from services.policy.schemas import BENEFICIARY_NAMES, PolicyItem

CENT = Decimal("0.01")
READERS = (Role.admin, Role.partner, Role.station, Role.bureau, Role.recruiter, Role.training)
DECIDERS = (Role.admin, Role.partner, Role.bureau)
OFFICERS = (*DECIDERS, Role.station)
NEXT: dict[str, tuple[str, ...]] = {
    "eligible": ("notified", "applied", "granted", "refused"),
    "notified": ("applied", "granted", "refused"),
    "applied": ("granted", "refused"),
}


def visible(caller: Principal) -> ColumnElement[bool]:
    require_role(caller, *READERS)
    if caller.role is Role.admin:
        return true()
    if caller.role is Role.partner:
        return Eligibility.province_code.in_(caller.provinces)
    if caller.role is Role.station:
        return Eligibility.station_id == caller.station_id
    if caller.role is Role.bureau:
        return Eligibility.city_code == caller.city_code
    if caller.role is Role.recruiter:
        return and_(Eligibility.beneficiary == "employer", Eligibility.beneficiary_id == caller.employer_id)
    if caller.role is Role.training:
        return Eligibility.base_id == caller.base_id
    return false()


def in_scope(caller: Principal, claim: Eligibility) -> bool:
    if caller.role is Role.admin:
        return True
    if caller.role is Role.partner:
        return claim.province_code in caller.provinces
    if caller.role is Role.station:
        return claim.station_id == caller.station_id
    if caller.role is Role.bureau:
        return claim.city_code == caller.city_code
    if caller.role is Role.recruiter:
        return claim.beneficiary == "employer" and claim.beneficiary_id == caller.employer_id
    if caller.role is Role.training:
        return claim.base_id == caller.base_id
    return False


async def claim_in_scope(
    session: AsyncSession, caller: Principal, claim_id: str, *, for_update: bool = False
) -> Eligibility:
    require_role(caller, *READERS)
    claim = await repository.get_claim(session, claim_id, for_update=for_update)
    if claim is None or not in_scope(caller, claim):
        raise not_found("政策对象记录")
    return claim


async def list_claims(
    session: AsyncSession,
    caller: Principal,
    *,
    policy_code: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Claim], str | None]:
    key = decode_cursor(cursor, 2)
    after = None
    if key is not None:
        try:
            after = (date.fromisoformat(str(key[0])), str(key[1]))
        except ValueError as error:
            raise validation_problem("query.cursor", "cursor_invalid", "游标无效") from error
    rows = await repository.claims(
        session, visible(caller), policy_code=policy_code, status=status, after=after, limit=limit
    )
    names = await policy_names(session)
    following = encode_cursor(rows[-1].eligible_on.isoformat(), rows[-1].id) if len(rows) == limit else None
    return [claim_out(row, names) for row in rows], following


async def detail(session: AsyncSession, caller: Principal, claim_id: str) -> ClaimDetail:
    claim = await claim_in_scope(session, caller, claim_id)
    return await detail_of(session, claim)


async def detail_of(session: AsyncSession, claim: Eligibility) -> ClaimDetail:
    history = [
        ClaimChange(
            status=row.status,
            what=row.what,
            what_name=WHAT_NAMES.get(row.what, row.what),
            by=row.by,
            at=row.at,
            note=row.note,
            facts=row.facts,
        )
        for row in await repository.history(session, claim.id)
    ]
    base = claim_out(claim, await policy_names(session))
    return ClaimDetail(**base.model_dump(), history=history)


async def act(session: AsyncSession, caller: Principal, claim_id: str, data: ClaimAction) -> Eligibility:
    """One officer's step; the claim is locked so two officers' steps apply one after the other."""
    claim = await claim_in_scope(session, caller, claim_id, for_update=True)
    if data.action in ("granted", "refused"):
        require_role(caller, *DECIDERS)
    else:
        require_role(caller, *OFFICERS)
    if data.action not in NEXT.get(claim.status, ()):
        raise Problem(
            409,
            f"该记录当前为“{STATUS_NAMES[claim.status]}”，不能改为“{STATUS_NAMES[data.action]}”",
            slug="claim-state",
            status_now=claim.status,
        )
    note = data.note
    if data.action == "refused":
        if data.reason is None:
            raise validation_problem("body.reason", "missing", "不予发放须写明原因")
        claim.reason = data.reason
        note = data.reason if note is None else f"{data.reason}；{note}"
    if data.action == "granted":
        await _grant(session, claim, data)
        note = f"发放 {claim.amount} 元（{claim.granted_on}）" + (f"；{note}" if note else "")
    await change(session, claim, data.action, data.action, caller.sub, note=note)
    return claim


async def _grant(session: AsyncSession, claim: Eligibility, data: ClaimAction) -> None:
    today = beijing_date()
    granted_on = data.granted_on or today
    if granted_on > today:
        raise validation_problem("body.granted_on", "in_future", "发放日期不能晚于今天")
    if granted_on < claim.eligible_on:
        raise validation_problem("body.granted_on", "before_eligible", "发放日期不能早于符合条件之日")
    amount = data.amount if data.amount is not None else await _standard_amount(session, claim.policy_code)
    if amount is None:
        raise validation_problem("body.amount", "missing", "该项目没有确定的补贴金额，请填写发放金额")
    amount = amount.quantize(CENT)
    subject = claim.person_id or claim.beneficiary_id
    existing = await session.get(Grant, (claim.policy_code, subject, claim.period_key))
    if existing is not None:
        raise _granted_before(existing)
    session.add(
        Grant(
            policy_code=claim.policy_code,
            subject_key=subject,
            period_key=claim.period_key,
            beneficiary_id=claim.beneficiary_id,
            eligibility_id=claim.id,
            amount=amount,
            granted_on=granted_on,
        )
    )
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # another officer granted the same period a moment ago
        found = await session.get(
            Grant, (claim.policy_code, subject, claim.period_key), populate_existing=True
        )
        raise _granted_before(found) from None
    claim.amount, claim.granted_on = amount, granted_on


def _granted_before(grant: Grant | None) -> Problem:
    return Problem(
        409,
        "同一人（单位）同一项目同一期间已经发放过，不能重复发放",
        slug="already-granted",
        eligibility_id=grant.eligibility_id if grant else None,
        granted_on=grant.granted_on.isoformat() if grant else None,
    )


async def _standard_amount(session: AsyncSession, policy_code: str) -> Decimal | None:
    """The item's amount, unless it is a placeholder (never paid as such) or given as a standard."""
    row = await catalogue.policy(session, policy_code)
    if row is None:
        return None
    benefit = PolicyItem.model_validate(row.item).benefit
    return None if benefit.placeholder or benefit.amount is None else Decimal(benefit.amount)


async def policy_names(session: AsyncSession) -> dict[str, str]:
    return {row.code: str(row.item["name"]) for row in await catalogue.policies(session)}


# --- the list as a spreadsheet ------------------------------------------------------------------------------

EXPORT_LIMIT = 20_000  # rows in one file: a province's claims for a year; narrower filters for more
EXPORT_COLUMNS = (
    "政策项目",
    "享受对象",
    "姓名",
    "身份证号（脱敏）",
    "单位或机构编号",
    "来源省份",
    "就业地",
    "符合条件之日",
    "状态",
    "发放金额（元）",
    "发放日期",
    "不予发放原因",
    "依据的事实",
    "记录编号",
)


async def export_rows(
    session: AsyncSession, caller: Principal, *, policy_code: str | None, status: str | None
) -> list[Eligibility]:
    rows = await repository.claims(
        session, visible(caller), policy_code=policy_code, status=status, after=None, limit=EXPORT_LIMIT + 1
    )
    if len(rows) > EXPORT_LIMIT:
        raise Problem(
            422,
            f"一次最多导出 {EXPORT_LIMIT} 条，请按政策项目或状态缩小范围",
            slug="export-too-large",
            errors=[FieldError("query.policy_code", "too_many", "请选择政策项目或状态")],
        )
    return list(rows)


def export_file(
    rows: list[Eligibility],
    names: dict[str, str],
    contacts: dict[str, Contact],
    today: date,
    fmt: Literal["xlsx", "csv"] = "xlsx",
) -> bytes:
    """拟享受政策对象清单 as the office prints it: names and masked ID numbers as demand gave them just now."""
    lines = []
    for row in rows:
        contact = contacts.get(row.person_id) if row.person_id else None
        lines.append(
            (
                names.get(row.policy_code, row.policy_code),
                BENEFICIARY_NAMES.get(row.beneficiary, row.beneficiary),
                contact.name if contact else ("（已删除）" if row.person_id else ""),
                contact.id_number_masked or "" if contact else "",
                row.beneficiary_id if row.beneficiary != "worker" else "",
                region_name(row.province_code) if row.province_code else "",
                region_name(row.city_code) if row.city_code else "",
                row.eligible_on,
                STATUS_NAMES[row.status],
                row.amount if row.amount is not None else "",
                row.granted_on or "",
                row.reason or "",
                "；".join(f"{name}={value}" for name, value in row.facts.items() if name != "as_of"),
                row.id,
            )
        )
    notes = (
        (
            "说明",
            f"拟享受政策对象清单，导出日期 {today.isoformat()}；姓名和身份证号由需求清单服务在导出时提供。",
        ),
    )
    return write_table(
        EXPORT_COLUMNS,
        lines,
        fmt,
        sheet_title="拟享受政策对象清单",
        notes=notes,
        text_headers=("身份证号（脱敏）",),
    )


def claim_out(row: Eligibility, names: dict[str, str]) -> Claim:
    return Claim(
        id=row.id,
        policy_code=row.policy_code,
        policy_name=names.get(row.policy_code, row.policy_code),
        policy_version=row.policy_version,
        beneficiary=row.beneficiary,
        beneficiary_id=row.beneficiary_id,
        person_id=row.person_id,
        station_id=row.station_id,
        province_code=row.province_code,
        city_code=row.city_code,
        employer_id=row.employer_id,
        base_id=row.base_id,
        occasion=row.occasion,
        occasion_id=row.occasion_id,
        period_key=row.period_key,
        eligible_on=row.eligible_on,
        facts=row.facts,
        status=row.status,
        status_name=STATUS_NAMES[row.status],
        amount=row.amount,
        granted_on=row.granted_on,
        reason=row.reason,
        updated_at=row.updated_at,
    )
