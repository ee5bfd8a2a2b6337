"""Every query of the eligible-for-policy lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.eligibility.models import (
    Eligibility,
    EligibilityChange,
    EmployerYear,
    Placement,
    Training,
    Worker,
)
from services.policy.models import PolicyRow, PolicyVersionRow

OccasionRow = TypeVar("OccasionRow", Placement, Training, EmployerYear)


async def items_of(session: AsyncSession, occasion: str | None) -> Sequence[PolicyRow]:
    """Every item assessed on this kind of occasion (all kinds: None), expired ones included: what was earned
    under them stays."""
    statement = select(PolicyRow)
    if occasion is not None:
        statement = statement.where(PolicyRow.item["occasion"].as_string() == occasion)
    return (await session.scalars(statement.order_by(PolicyRow.code))).all()


async def placements_of(session: AsyncSession, person_id: str) -> Sequence[Placement]:
    statement = select(Placement).where(Placement.person_id == person_id).order_by(Placement.started_on)
    return (await session.scalars(statement)).all()


async def trainings_of(session: AsyncSession, person_id: str) -> Sequence[Training]:
    statement = select(Training).where(Training.person_id == person_id).order_by(Training.enrolled_on)
    return (await session.scalars(statement)).all()


async def hires_in_year(
    session: AsyncSession, employer_id: str, year: int
) -> Sequence[tuple[date, date | None, str | None, list[str], str]]:
    """An employer's placements that started in the year, with their workers' categories and origin (workers
    known and not erased): start, end, Jiangsu city, categories, origin province."""
    statement = (
        select(
            Placement.started_on,
            Placement.ended_on,
            Placement.city_code,
            Worker.categories,
            Worker.province_code,
        )
        .join(Worker, Worker.id == Placement.person_id)
        .where(
            Placement.employer_id == employer_id,
            Placement.started_on >= date(year, 1, 1),
            Placement.started_on <= date(year, 12, 31),
            Worker.erased.is_(False),
        )
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]  # type: ignore[misc]


async def claims_of_occasion(session: AsyncSession, occasion_id: str) -> Sequence[Eligibility]:
    return (await session.scalars(select(Eligibility).where(Eligibility.occasion_id == occasion_id))).all()


async def claims_of_person(session: AsyncSession, person_id: str) -> Sequence[Eligibility]:
    return (await session.scalars(select(Eligibility).where(Eligibility.person_id == person_id))).all()


async def get_claim(session: AsyncSession, claim_id: str, *, for_update: bool = False) -> Eligibility | None:
    statement = select(Eligibility).where(Eligibility.id == claim_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def history(session: AsyncSession, claim_id: str) -> Sequence[EligibilityChange]:
    statement = select(EligibilityChange).where(EligibilityChange.eligibility_id == claim_id)
    return (await session.scalars(statement.order_by(EligibilityChange.seq))).all()


async def claims(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    policy_code: str | None,
    status: str | None,
    after: tuple[date, str] | None,
    limit: int,
) -> Sequence[Eligibility]:
    """A page of the list, newest claims first (cursor: the last row's day and id)."""
    statement = select(Eligibility).where(
        visible,
        Eligibility.policy_code == policy_code if policy_code else true(),
        Eligibility.status == status if status else true(),
    )
    if after is not None:
        day, claim_id = after
        statement = statement.where(
            (Eligibility.eligible_on < day) | ((Eligibility.eligible_on == day) & (Eligibility.id < claim_id))
        )
    statement = statement.order_by(Eligibility.eligible_on.desc(), Eligibility.id.desc()).limit(limit)
    return (await session.scalars(statement)).all()


async def revision(session: AsyncSession) -> int:
    """The catalogue's revision: how many versions its items have had (versions are never removed)."""
    return int(await session.scalar(select(func.count()).select_from(PolicyVersionRow)) or 0)


async def due(
    session: AsyncSession, table: type[OccasionRow], today: date, current: int, limit: int
) -> Sequence[OccasionRow]:
    """Occasions assessed against an older catalogue, then those whose day to look again has come; locked so
    that two replicas' sweeps share the work."""
    stale = select(table).where(table.revision < current).limit(limit).with_for_update(skip_locked=True)
    rows = list((await session.scalars(stale)).all())
    if len(rows) < limit:
        dated = (
            select(table)
            .where(table.recheck_on.is_not(None), table.recheck_on <= today, table.revision >= current)
            .order_by(table.recheck_on)
            .limit(limit - len(rows))
            .with_for_update(skip_locked=True)
        )
        rows += (await session.scalars(dated)).all()
    return rows


async def due_count(session: AsyncSession, today: date) -> int:
    """Occasions waiting for the sweep (stale or dated), for tests and operators."""
    current = await revision(session)
    total = 0
    for table in (Placement, Training, EmployerYear):
        waiting = (table.revision < current) | (table.recheck_on <= today)
        total += int(await session.scalar(select(func.count()).select_from(table).where(waiting)) or 0)
    return total
