"""Every query demand makes. Look-ups of people go through keyed hashes, never plaintext."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.demand.models import (
    Contribution,
    DemandList,
    EarlyWarning,
    FollowUp,
    InsuranceImport,
    Person,
    Station,
    StatusChange,
)


@dataclass(frozen=True)
class Scope:
    """Rows a caller may see: None means no restriction on that column."""

    station_ids: Sequence[str] | None = None
    province_codes: Sequence[str] | None = None

    def of(self, model: Any, station_id: str | None = None) -> ColumnElement[bool]:
        """The rows of `model` (a table with `station_id` and `province_code`) within this scope, narrowed to
        one station when asked."""
        conditions: list[ColumnElement[bool]] = []
        if self.station_ids is not None:
            conditions.append(model.station_id.in_(self.station_ids))
        if self.province_codes is not None:
            conditions.append(model.province_code.in_(self.province_codes))
        if station_id:
            conditions.append(model.station_id == station_id)
        return and_(true(), *conditions)


async def get_station(session: AsyncSession, station_id: str) -> Station | None:
    return await session.get(Station, station_id)


async def get_person(session: AsyncSession, person_id: str, *, for_update: bool = False) -> Person | None:
    query = select(Person).where(Person.id == person_id, Person.erased_at.is_(None))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def persons_by_ids(session: AsyncSession, person_ids: Sequence[str]) -> Sequence[Person]:
    """The workers among these ids that exist and are not erased (unknown ids are simply absent)."""
    query = select(Person).where(Person.id.in_(person_ids), Person.erased_at.is_(None))
    return (await session.scalars(query)).all()


async def person_by_id_hash(session: AsyncSession, id_number_hash: str) -> Person | None:
    return (await session.scalars(select(Person).where(Person.id_number_hash == id_number_hash))).first()


async def persons_by_id_hashes(session: AsyncSession, hashes: Sequence[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for start in range(0, len(hashes), 500):
        rows = await session.scalars(
            select(Person).where(Person.id_number_hash.in_(hashes[start : start + 500]))
        )
        found.update({row.id_number_hash: row for row in rows if row.id_number_hash})
    return found


async def person_by_phone_hash(session: AsyncSession, phone_hash: str) -> Person | None:
    query = select(Person).where(Person.phone_hash == phone_hash, Person.erased_at.is_(None))
    return (await session.scalars(query.order_by(Person.created_at))).first()


async def list_persons(
    session: AsyncSession,
    scope: Scope,
    *,
    station_id: str | None,
    status: str | None,
    demand_list_id: str | None = None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Person]:
    query = select(Person).where(Person.erased_at.is_(None))
    query = query.where(scope.of(Person, station_id))
    if status:
        query = query.where(Person.status == status)
    if demand_list_id:
        query = query.where(Person.demand_list_id == demand_list_id)
    query = query.where(after_key(Person.created_at, Person.id, after))
    return (await session.scalars(query.order_by(Person.created_at, Person.id).limit(limit))).all()


async def status_history(session: AsyncSession, person_id: str) -> Sequence[StatusChange]:
    query = select(StatusChange).where(StatusChange.person_id == person_id)
    return (await session.scalars(query.order_by(StatusChange.recorded_at, StatusChange.id))).all()


async def list_warnings(
    session: AsyncSession,
    scope: Scope,
    *,
    station_id: str | None,
    open_only: bool,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[EarlyWarning]:
    query = select(EarlyWarning)
    query = query.where(scope.of(EarlyWarning, station_id))
    if open_only:
        query = query.where(EarlyWarning.resolved_at.is_(None))
    query = query.where(after_key(EarlyWarning.raised_at, EarlyWarning.id, after))
    return (await session.scalars(query.order_by(EarlyWarning.raised_at, EarlyWarning.id).limit(limit))).all()


async def get_demand_list(session: AsyncSession, list_id: str) -> DemandList | None:
    return await session.get(DemandList, list_id)


async def list_demand_lists(
    session: AsyncSession,
    scope: Scope,
    *,
    province_code: str | None,
    station_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[DemandList]:
    query = select(DemandList).where(scope.of(DemandList, station_id))
    if province_code:
        query = query.where(DemandList.province_code == province_code)
    query = query.where(after_key(DemandList.created_at, DemandList.id, after))
    return (await session.scalars(query.order_by(DemandList.created_at, DemandList.id).limit(limit))).all()


async def list_follow_ups(
    session: AsyncSession,
    scope: Scope,
    *,
    station_id: str | None,
    statuses: Sequence[str] | None,
    due_from: date | None,
    due_before: date | None,
    due_to: date | None,
    after: tuple[date, str] | None,
    limit: int,
) -> Sequence[FollowUp]:
    """Visits within `scope`, soonest due first: `due_from`/`due_to` bound the due date (inclusive),
    `due_before` excludes its own day."""
    query = select(FollowUp).where(scope.of(FollowUp, station_id))
    if statuses is not None:
        query = query.where(FollowUp.status.in_(statuses))
    if due_from is not None:
        query = query.where(FollowUp.due_on >= due_from)
    if due_before is not None:
        query = query.where(FollowUp.due_on < due_before)
    if due_to is not None:
        query = query.where(FollowUp.due_on <= due_to)
    if after is not None:
        query = query.where(
            or_(FollowUp.due_on > after[0], and_(FollowUp.due_on == after[0], FollowUp.id > after[1]))
        )
    return (await session.scalars(query.order_by(FollowUp.due_on, FollowUp.id).limit(limit))).all()


async def cancel_follow_ups(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """The visits still due among `which` are not made."""
    await session.execute(update(FollowUp).where(which, FollowUp.status == "due").values(status="cancelled"))


async def forget_follow_up_words(session: AsyncSession, person_id: str) -> None:
    """An erased worker's visits keep their flags (anonymous) and lose what was said."""
    await session.execute(
        update(FollowUp).where(FollowUp.person_id == person_id).values(problem_encrypted=None)
    )


# --- social-insurance comparison ----------------------------------------------------------------------------


async def contribution(session: AsyncSession, person_id: str, month: str) -> Contribution | None:
    query = select(Contribution).where(Contribution.person_id == person_id, Contribution.month == month)
    return (await session.scalars(query)).first()


async def open_warning(session: AsyncSession, person_id: str, kind: str) -> EarlyWarning | None:
    query = select(EarlyWarning).where(
        EarlyWarning.person_id == person_id, EarlyWarning.kind == kind, EarlyWarning.resolved_at.is_(None)
    )
    return (await session.scalars(query.limit(1))).first()


async def insurance_imports(session: AsyncSession, imported_by: str | None) -> Sequence[InsuranceImport]:
    """The newest 200 imports (of one importer, when given)."""
    query = select(InsuranceImport).order_by(InsuranceImport.created_at.desc(), InsuranceImport.id).limit(200)
    if imported_by is not None:
        query = query.where(InsuranceImport.imported_by == imported_by)
    return (await session.scalars(query)).all()
