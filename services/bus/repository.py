"""Every query bus makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.bus.models import Booking, Passenger, Placement, Station, Trip

TimeId = tuple[datetime, str]
HOLDING = ("confirmed", "waitlisted")  # on a trip; `unserved` waits for one


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


# --- trips --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a caller may see; every field set narrows, none set means all (admin). For a trip: its origin
    station, the station's province, its operator. For a booking: the worker's station, the worker's
    province, the operator of the booking's trip."""

    station_id: str | None = None
    provinces: Sequence[str] | None = None
    operator_id: str | None = None


async def get_trip(session: AsyncSession, trip_id: str, *, lock: bool = False) -> Trip | None:
    """`lock`: hold the trip's row until commit (PostgreSQL), so seat changes and the waitlist go one at a
    time per trip; SQLite's write transactions are serial already."""
    return await session.get(Trip, trip_id, with_for_update=lock or None, populate_existing=lock)


async def list_trips(
    session: AsyncSession,
    scope: Scope,
    *,
    origin_station_id: str | None,
    departs_from: datetime | None,
    departs_to: datetime | None,
    after: TimeId | None,
    limit: int,
) -> Sequence[Trip]:
    query = select(Trip)
    if scope.station_id is not None:
        query = query.where(Trip.origin_station_id == scope.station_id)
    if scope.provinces is not None:
        query = query.where(Trip.origin_province_code.in_(scope.provinces))
    if scope.operator_id is not None:
        query = query.where(Trip.operator_id == scope.operator_id)
    if origin_station_id is not None:
        query = query.where(Trip.origin_station_id == origin_station_id)
    if departs_from is not None:
        query = query.where(Trip.departs_at >= departs_from)
    if departs_to is not None:
        query = query.where(Trip.departs_at < departs_to)
    query = query.where(after_key(Trip.departs_at, Trip.id, after))
    return (await session.scalars(query.order_by(Trip.departs_at, Trip.id).limit(limit))).all()


async def take_seat(session: AsyncSession, trip_id: str) -> bool:
    """One seat, if one is left: the UPDATE re-checks `seats_left > 0` after waiting for the row lock, so
    the last seat goes to exactly one request (and the CHECK would refuse a second)."""
    result = await session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.seats_left > 0, Trip.status == "scheduled")
        .values(seats_left=Trip.seats_left - 1)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def give_back_seat(session: AsyncSession, trip_id: str) -> None:
    await session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.seats_left < Trip.seats)
        .values(seats_left=Trip.seats_left + 1)
        .execution_options(synchronize_session=False)
    )


async def departures(
    session: AsyncSession, origin_station_id: str, *, after: datetime, before: datetime | None
) -> Sequence[Trip]:
    """Scheduled trips from a station in a time window, earliest first (stops are filtered by the caller:
    a trip stops at a handful of cities and a station runs a handful of trips)."""
    query = select(Trip).where(
        Trip.origin_station_id == origin_station_id, Trip.status == "scheduled", Trip.departs_at > after
    )
    if before is not None:
        query = query.where(Trip.departs_at < before)
    return (await session.scalars(query.order_by(Trip.departs_at, Trip.id))).all()


async def waitlist_counts(session: AsyncSession, trip_ids: Sequence[str]) -> dict[str, int]:
    if not trip_ids:
        return {}
    query = (
        select(Booking.trip_id, func.count())
        .where(Booking.trip_id.in_(trip_ids), Booking.status == "waitlisted")
        .group_by(Booking.trip_id)
    )
    return {str(trip_id): int(count) for trip_id, count in (await session.execute(query)).tuples()}


# --- bookings -----------------------------------------------------------------------------------------------


async def get_booking(session: AsyncSession, booking_id: str) -> Booking | None:
    return await session.get(Booking, booking_id)


async def list_bookings(
    session: AsyncSession,
    scope: Scope,
    *,
    person_id: str | None,
    trip_id: str | None,
    status: str | None,
    after: TimeId | None,
    limit: int,
) -> Sequence[Booking]:
    query = select(Booking)
    if scope.station_id is not None:
        query = query.where(Booking.station_id == scope.station_id)
    if scope.provinces is not None:
        query = query.where(Booking.province_code.in_(scope.provinces))
    if scope.operator_id is not None:
        operated = select(Trip.id).where(Trip.operator_id == scope.operator_id)
        query = query.where(Booking.trip_id.in_(operated))
    if person_id is not None:
        query = query.where(Booking.person_id == person_id)
    if trip_id is not None:
        query = query.where(Booking.trip_id == trip_id)
    if status is not None:
        query = query.where(Booking.status == status)
    query = query.where(after_key(Booking.created_at, Booking.id, after))
    return (await session.scalars(query.order_by(Booking.created_at, Booking.id).limit(limit))).all()


async def holding(session: AsyncSession, person_id: str) -> Sequence[tuple[Booking, Trip]]:
    """The worker's bookings that hold or wait for a seat, with their trips (for the overlap rule)."""
    query = (
        select(Booking, Trip)
        .join(Trip, Trip.id == Booking.trip_id)
        .where(Booking.person_id == person_id, Booking.status.in_(HOLDING))
    )
    return [(booking, trip) for booking, trip in (await session.execute(query)).tuples()]


async def active_for_placement(session: AsyncSession, placement_id: str) -> Booking | None:
    query = select(Booking).where(
        Booking.placement_id == placement_id, Booking.status.in_((*HOLDING, "unserved"))
    )
    return (await session.scalars(query)).first()


async def active_for_person(session: AsyncSession, person_id: str) -> Sequence[Booking]:
    query = select(Booking).where(Booking.person_id == person_id, Booking.status.in_((*HOLDING, "unserved")))
    return (await session.scalars(query.order_by(Booking.created_at, Booking.id))).all()


async def on_trip(session: AsyncSession, trip_id: str, statuses: Sequence[str]) -> Sequence[Booking]:
    """A trip's bookings in queue order (the order their requests arrived)."""
    query = select(Booking).where(Booking.trip_id == trip_id, Booking.status.in_(statuses))
    return (await session.scalars(query.order_by(Booking.created_at, Booking.id))).all()


async def first_waiting(session: AsyncSession, trip_id: str) -> Booking | None:
    query = (
        select(Booking)
        .where(Booking.trip_id == trip_id, Booking.status == "waitlisted")
        .order_by(Booking.created_at, Booking.id)
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def waitlist_positions(session: AsyncSession, bookings: Sequence[Booking]) -> dict[str, int]:
    """Each waitlisted booking's place in its trip's queue (1 = next), one query for a whole page."""
    waiting = [booking for booking in bookings if booking.status == "waitlisted"]
    if not waiting:
        return {}
    trip_ids = {booking.trip_id for booking in waiting}
    queue = (
        select(Booking.id, Booking.trip_id)
        .where(Booking.trip_id.in_(trip_ids), Booking.status == "waitlisted")
        .order_by(Booking.trip_id, Booking.created_at, Booking.id)
    )
    positions: dict[str, int] = {}
    place: dict[str, int] = {}
    for booking_id, trip_id in (await session.execute(queue)).tuples():
        place[str(trip_id)] = place.get(str(trip_id), 0) + 1
        positions[str(booking_id)] = place[str(trip_id)]
    return {booking.id: positions[booking.id] for booking in waiting if booking.id in positions}


async def unserved_from(session: AsyncSession, origin_station_id: str) -> Sequence[Booking]:
    query = select(Booking).where(
        Booking.origin_station_id == origin_station_id, Booking.status == "unserved"
    )
    return (await session.scalars(query.order_by(Booking.created_at, Booking.id))).all()


async def employers_on(session: AsyncSession, trip_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(trip id, employer id) of confirmed bookings: where a group is already travelling."""
    if not trip_ids:
        return set()
    query = select(Booking.trip_id, Booking.employer_id).where(
        Booking.trip_id.in_(trip_ids), Booking.status == "confirmed", Booking.employer_id.is_not(None)
    )
    return {(str(trip), str(employer)) for trip, employer in (await session.execute(query)).tuples()}


# --- read models --------------------------------------------------------------------------------------------


async def get_station(session: AsyncSession, station_id: str) -> Station | None:
    return await session.get(Station, station_id)


async def get_passenger(session: AsyncSession, person_id: str, *, lock: bool = False) -> Passenger | None:
    """`lock`: one booking decision per worker at a time (the overlap rule reads, then writes)."""
    return await session.get(Passenger, person_id, with_for_update=lock or None, populate_existing=lock)


async def get_placement(session: AsyncSession, placement_id: str) -> Placement | None:
    return await session.get(Placement, placement_id)
