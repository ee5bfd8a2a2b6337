"""Every query demand makes. Look-ups of people go through keyed hashes, never plaintext."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.demand.models import DemandList, EarlyWarning, Person, Station, StatusChange


@dataclass(frozen=True)
class Scope:
    """Rows a caller may see: None means no restriction on that column."""

    station_ids: Sequence[str] | None = None
    province_codes: Sequence[str] | None = None


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
    if scope.station_ids is not None:
        query = query.where(Person.station_id.in_(scope.station_ids))
    if scope.province_codes is not None:
        query = query.where(Person.province_code.in_(scope.province_codes))
    if station_id:
        query = query.where(Person.station_id == station_id)
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
    if scope.station_ids is not None:
        query = query.where(EarlyWarning.station_id.in_(scope.station_ids))
    if scope.province_codes is not None:
        query = query.where(EarlyWarning.province_code.in_(scope.province_codes))
    if station_id:
        query = query.where(EarlyWarning.station_id == station_id)
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
    query = select(DemandList)
    if scope.station_ids is not None:
        query = query.where(DemandList.station_id.in_(scope.station_ids))
    if scope.province_codes is not None:
        query = query.where(DemandList.province_code.in_(scope.province_codes))
    if province_code:
        query = query.where(DemandList.province_code == province_code)
    if station_id:
        query = query.where(DemandList.station_id == station_id)
    query = query.where(after_key(DemandList.created_at, DemandList.id, after))
    return (await session.scalars(query.order_by(DemandList.created_at, DemandList.id).limit(limit))).all()
