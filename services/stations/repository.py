"""Every query stations makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.models import Station


@dataclass(frozen=True)
class StationFilter:
    """What a list shows: `province_codes=None` means every province."""

    province_codes: Sequence[str] | None = None
    station_id: str | None = None
    active_only: bool = False


async def get_station(session: AsyncSession, station_id: str, *, for_update: bool = False) -> Station | None:
    query: Select[tuple[Station]] = select(Station).where(Station.id == station_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def station_named(session: AsyncSession, county_code: str, name: str) -> Station | None:
    """The station of that name in that county, if any (names are unique per county)."""
    query = select(Station).where(Station.county_code == county_code, Station.name == name)
    return (await session.scalars(query)).first()


async def list_stations(
    session: AsyncSession, station_filter: StationFilter, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Station]:
    query = select(Station)
    if station_filter.province_codes is not None:
        query = query.where(Station.province_code.in_(station_filter.province_codes))
    if station_filter.station_id is not None:
        query = query.where(Station.id == station_filter.station_id)
    if station_filter.active_only:
        query = query.where(Station.active.is_(True))
    if after is not None:
        query = query.where(
            or_(Station.created_at > after[0], and_(Station.created_at == after[0], Station.id > after[1]))
        )
    return (await session.scalars(query.order_by(Station.created_at, Station.id).limit(limit))).all()
