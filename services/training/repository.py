"""Every query training makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.training.models import (
    Enrolment,
    ErasedPerson,
    Person,
    Placement,
    Programme,
    TrainingBase,
)

TimeId = tuple[datetime, str]


@dataclass(frozen=True)
class EnrolmentScope:
    """Which enrolments a caller may see; every field set narrows, none set means all (admin)."""

    base_id: str | None = None
    station_id: str | None = None
    provinces: Sequence[str] | None = None


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


# --- bases --------------------------------------------------------------------------------------------------


async def get_base(session: AsyncSession, base_id: str) -> TrainingBase | None:
    return await session.get(TrainingBase, base_id)


async def list_bases(
    session: AsyncSession,
    *,
    province_code: str | None,
    only_id: str | None,
    after: TimeId | None,
    limit: int,
) -> Sequence[TrainingBase]:
    query = select(TrainingBase)
    if province_code:
        query = query.where(TrainingBase.province_code == province_code)
    if only_id is not None:
        query = query.where(TrainingBase.id == only_id)
    if after is not None:
        query = query.where(after_key(TrainingBase.created_at, TrainingBase.id, after))
    order = (TrainingBase.created_at, TrainingBase.id)
    return (await session.scalars(query.order_by(*order).limit(limit))).all()


# --- programmes ---------------------------------------------------------------------------------------------


async def get_programme(session: AsyncSession, programme_id: str) -> Programme | None:
    return await session.get(Programme, programme_id)


async def list_programmes(
    session: AsyncSession, *, base_ids: Sequence[str] | None, after: TimeId | None, limit: int
) -> Sequence[Programme]:
    query = select(Programme)
    if base_ids is not None:
        query = query.where(Programme.base_id.in_(base_ids))
    if after is not None:
        query = query.where(after_key(Programme.created_at, Programme.id, after))
    return (await session.scalars(query.order_by(Programme.created_at, Programme.id).limit(limit))).all()


async def take_seat(session: AsyncSession, programme_id: str) -> bool:
    """Atomically claim one seat; False when the programme is full.

    PostgreSQL re-checks the WHERE after waiting for the row lock, SQLite runs writers one at a time
    (BEGIN IMMEDIATE), so two enrolments can never both take the last seat."""
    result = await session.execute(
        update(Programme)
        .where(Programme.id == programme_id, Programme.seats_taken < Programme.capacity)
        .values(seats_taken=Programme.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def outcome_counts(session: AsyncSession, programme_id: str) -> tuple[int, int, int]:
    """(enrolled, completed, employed after completion), from enrolments alone so erasure changes nothing."""
    completed = func.count(Enrolment.completed_on)
    employed = func.count(Enrolment.employed_on)
    row = (
        await session.execute(
            select(func.count(), completed, employed).where(Enrolment.programme_id == programme_id)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


# --- enrolments ---------------------------------------------------------------------------------------------


async def get_enrolment(
    session: AsyncSession, enrolment_id: str, *, for_update: bool = False
) -> Enrolment | None:
    query = select(Enrolment).where(Enrolment.id == enrolment_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def enrolment_of(session: AsyncSession, programme_id: str, person_id: str) -> Enrolment | None:
    query = select(Enrolment).where(Enrolment.programme_id == programme_id, Enrolment.person_id == person_id)
    return (await session.scalars(query)).first()


async def list_enrolments(
    session: AsyncSession,
    scope: EnrolmentScope,
    *,
    programme_id: str | None,
    person_id: str | None,
    status: str | None,
    after: TimeId | None,
    limit: int,
) -> Sequence[Enrolment]:
    query = select(Enrolment)
    if scope.base_id is not None:
        query = query.where(Enrolment.base_id == scope.base_id)
    if scope.station_id is not None or scope.provinces is not None:
        query = query.join(Person, Person.id == Enrolment.person_id)
        if scope.station_id is not None:
            query = query.where(Person.station_id == scope.station_id)
        if scope.provinces is not None:
            query = query.where(Person.province_code.in_(scope.provinces))
    if programme_id:
        query = query.where(Enrolment.programme_id == programme_id)
    if person_id:
        query = query.where(Enrolment.person_id == person_id)
    if status:
        query = query.where(Enrolment.status == status)
    if after is not None:
        query = query.where(after_key(Enrolment.created_at, Enrolment.id, after))
    return (await session.scalars(query.order_by(Enrolment.created_at, Enrolment.id).limit(limit))).all()


async def anonymise_enrolments(session: AsyncSession, person_id: str) -> int:
    result = await session.execute(
        update(Enrolment)
        .where(Enrolment.person_id == person_id)
        .values(person_id=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


# --- persons (read model) -----------------------------------------------------------------------------------


async def get_person(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def is_erased(session: AsyncSession, person_id: str) -> bool:
    return await session.get(ErasedPerson, person_id) is not None


async def delete_person(session: AsyncSession, person_id: str) -> None:
    await session.execute(
        delete(Person).where(Person.id == person_id).execution_options(synchronize_session=False)
    )


# --- placements (read model) --------------------------------------------------------------------------------


async def get_placement(session: AsyncSession, placement_id: str) -> Placement | None:
    return await session.get(Placement, placement_id)


async def first_start_on_or_after(session: AsyncSession, person_id: str, day: date) -> date | None:
    query = select(func.min(Placement.start_date)).where(
        Placement.person_id == person_id, Placement.start_date >= day
    )
    start: date | None = await session.scalar(query)
    return start


async def mark_employed(session: AsyncSession, person_id: str, start_date: date) -> int:
    """Completed enrolments of the person that this start follows, and that knew no earlier one."""
    result = await session.execute(
        update(Enrolment)
        .where(
            Enrolment.person_id == person_id,
            Enrolment.completed_on.is_not(None),
            Enrolment.completed_on <= start_date,
            or_(Enrolment.employed_on.is_(None), Enrolment.employed_on > start_date),
        )
        .values(employed_on=start_date)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def delete_placements(session: AsyncSession, person_id: str) -> None:
    await session.execute(
        delete(Placement).where(Placement.person_id == person_id).execution_options(synchronize_session=False)
    )
