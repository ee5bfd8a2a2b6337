"""Bus's domain operations and scope rules; seats.py decides seats. Nothing here commits.

Scope, in one place:
- a trip is created and cancelled by an admin or by its origin station;
- a trip is seen by admin, its origin station, a partner whose provinces hold that station, and its operator;
- a booking is made and cancelled for a worker by admin, the worker's station or a partner of the worker's
  province, on a trip the caller can see;
- a booking is seen by admin, the worker's station, a partner of the worker's province, the trip's operator;
- anything outside the caller's scope answers 404 (a referenced id in a body: the error names the field);
  recruiter, training and public tokens get 403 on every bus endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found
from libs.auth import Principal, Role, require_role
from libs.db import utcnow
from libs.events.contracts import (
    TRIP_CANCELLED,
    TRIP_SCHEDULED,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
    TripPayload,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.events.projection import Projection
from services.bus import repository, seats
from services.bus.models import Booking, Passenger, Placement, Station, Trip, platform
from services.bus.schemas import DEFAULT_TRIP_HOURS, BookingCreate, TripCreate

SERVICE = "bus"
TRIP_READERS = (Role.admin, Role.partner, Role.station, Role.operator)
BOOKERS = (Role.admin, Role.partner, Role.station)


def _field_not_found(field: str, what: str) -> Problem:
    problem = not_found(what)
    problem.errors = [FieldError(field, "not_found", f"{what}不存在或不在您的权限范围内")]
    return problem


# --- scope --------------------------------------------------------------------------------------------------


def scope_of(caller: Principal) -> repository.Scope:
    require_role(caller, *TRIP_READERS)
    if caller.role is Role.station:
        return repository.Scope(station_id=caller.station_id)
    if caller.role is Role.partner:
        return repository.Scope(provinces=caller.provinces)
    if caller.role is Role.operator:
        return repository.Scope(operator_id=caller.operator_id)
    return repository.Scope()


def can_see_trip(caller: Principal, trip: Trip) -> bool:
    scope = scope_of(caller)
    return (
        (scope.station_id is None or trip.origin_station_id == scope.station_id)
        and (scope.provinces is None or trip.origin_province_code in scope.provinces)
        and (scope.operator_id is None or trip.operator_id == scope.operator_id)
    )


def can_book_for(caller: Principal, passenger: Passenger) -> bool:
    if caller.role is Role.station:
        return passenger.station_id == caller.station_id
    if caller.role is Role.partner:
        return passenger.province_code in caller.provinces
    return caller.is_admin


# --- trips --------------------------------------------------------------------------------------------------


async def create_trip(session: AsyncSession, caller: Principal, data: TripCreate) -> Trip:
    require_role(caller, Role.admin, Role.station)
    station = await repository.get_station(session, data.origin_station_id)
    if station is None or (caller.role is Role.station and station.id != caller.station_id):
        raise _field_not_found("body.origin_station_id", "联络站")
    if not station.active:
        raise Problem(
            409,
            "该联络站已停用，不能新开班次",
            errors=[FieldError("body.origin_station_id", "inactive", "联络站已停用")],
        )
    now = utcnow()
    if data.departs_at <= now:
        raise Problem(
            422, "发车时间必须在将来", errors=[FieldError("body.departs_at", "in_past", "发车时间必须在将来")]
        )
    trip = Trip(
        id=str(uuid.uuid4()),
        origin_station_id=station.id,
        origin_province_code=station.province_code,
        destination_city_codes=list(data.destination_city_codes),
        departs_at=data.departs_at,
        arrives_at=data.arrives_at or data.departs_at + timedelta(hours=DEFAULT_TRIP_HOURS),
        seats=data.seats,
        seats_left=data.seats,
        operator=data.operator,
        operator_id=data.operator_id,
        vehicle=data.vehicle,
        contact=data.contact,
        pickup_point=data.pickup_point,
        status="scheduled",
        cancel_reason=None,
        created_at=now,
        updated_at=now,
    )
    session.add(trip)
    await session.flush()
    await _emit_trip(session, trip, TRIP_SCHEDULED)
    await seats.serve_unserved(session, trip)
    return trip


async def trip_in_scope(
    session: AsyncSession, caller: Principal, trip_id: str, *, lock: bool = False
) -> Trip:
    require_role(caller, *TRIP_READERS)
    trip = await repository.get_trip(session, trip_id, lock=lock)
    if trip is None or not can_see_trip(caller, trip):
        raise not_found("班次")
    return trip


async def cancel_trip(session: AsyncSession, caller: Principal, trip_id: str, reason: str | None) -> Trip:
    require_role(caller, Role.admin, Role.station)
    trip = await trip_in_scope(session, caller, trip_id, lock=True)
    if trip.status == "cancelled":
        return trip
    if trip.departs_at <= utcnow():
        raise Problem(409, "班次已发车，不能取消", slug="trip-departed", title="班次已发车")
    trip.status = "cancelled"
    trip.cancel_reason = reason
    trip.seats_left = trip.seats
    trip.updated_at = utcnow()
    await session.flush()
    await _emit_trip(session, trip, TRIP_CANCELLED, reason)
    await seats.move_off(session, trip)
    return trip


def trip_payload(trip: Trip, reason: str | None = None) -> TripPayload:
    return TripPayload(
        id=trip.id,
        status=trip.status,
        origin_station_id=trip.origin_station_id,
        origin_province_code=trip.origin_province_code,
        destination_city_codes=list(trip.destination_city_codes),
        departs_at=trip.departs_at,
        seats=trip.seats,
        seats_left=trip.seats_left,
        reason=reason,
    )


async def _emit_trip(session: AsyncSession, trip: Trip, event_type: str, reason: str | None = None) -> None:
    payload = trip_payload(trip, reason)
    await add_event(
        session, platform.outbox, new_event(SERVICE, event_type, trip.id, payload.model_dump(mode="json"))
    )


# --- bookings -----------------------------------------------------------------------------------------------


async def create_booking(
    session: AsyncSession, caller: Principal, trip_id: str, data: BookingCreate
) -> Booking:
    require_role(caller, *BOOKERS)
    trip = await trip_in_scope(session, caller, trip_id)
    passenger = await repository.get_passenger(session, data.person_id)
    if passenger is None or passenger.erased or not can_book_for(caller, passenger):
        raise _field_not_found("body.person_id", "务工人员")
    placement = None
    if data.placement_id is not None:
        placement = await repository.get_placement(session, data.placement_id)
        if placement is None or placement.person_id != passenger.id:
            raise _field_not_found("body.placement_id", "录用记录")
    if trip.status != "scheduled":
        raise Problem(409, "班次已取消", slug="trip-cancelled", title="班次已取消")
    if trip.departs_at <= utcnow():
        raise Problem(409, "班次已发车", slug="trip-departed", title="班次已发车")
    destination = seats.destination_for(trip, data.destination_city_code, placement)
    request = seats.Request(passenger, destination, placement, "request")
    return await seats.book(session, trip, request)


async def booking_in_scope(session: AsyncSession, caller: Principal, booking_id: str) -> Booking:
    scope = scope_of(caller)
    booking = await repository.get_booking(session, booking_id)
    if booking is None:
        raise not_found("预订")
    visible = (scope.station_id is None or booking.station_id == scope.station_id) and (
        scope.provinces is None or booking.province_code in scope.provinces
    )
    if visible and scope.operator_id is not None:
        trip = await repository.get_trip(session, booking.trip_id) if booking.trip_id else None
        visible = trip is not None and trip.operator_id == scope.operator_id
    if not visible:
        raise not_found("预订")
    return booking


async def cancel_booking(session: AsyncSession, caller: Principal, booking_id: str) -> Booking:
    require_role(caller, *BOOKERS)
    booking = await booking_in_scope(session, caller, booking_id)
    return await seats.cancel(session, booking, "cancelled_by_caller")


async def list_bookings(
    session: AsyncSession,
    caller: Principal,
    *,
    person_id: str | None,
    trip_id: str | None,
    status: str | None,
    after: repository.TimeId | None,
    limit: int,
) -> Sequence[Booking]:
    scope = scope_of(caller)
    return await repository.list_bookings(
        session, scope, person_id=person_id, trip_id=trip_id, status=status, after=after, limit=limit
    )


# --- read models (consumers) --------------------------------------------------------------------------------


STATIONS = Projection[StationPayload, Station](
    Station,
    lambda station: {
        "name": station.name,
        "province_code": station.province_code,
        "county_code": station.county_code,
        "active": station.active,
    },
)
# Only what scope needs: no name, ID number or phone.
PASSENGERS = Projection[PersonPayload, Passenger](
    Passenger,
    lambda person: {"station_id": person.station_id, "province_code": person.province_code},
    erasable=True,
)


async def apply_station(session: AsyncSession, station: StationPayload) -> None:
    await STATIONS.apply(session, station)


async def apply_person(session: AsyncSession, person: PersonPayload) -> None:
    await PASSENGERS.apply(session, person)


async def erase_person(session: AsyncSession, erased: PersonErased) -> None:
    """The worker's bookings are cancelled (their seats go to the waitlist); only the id stays, as erased."""
    for booking in await repository.active_for_person(session, erased.id):
        await seats.cancel(session, booking, "person_erased")
    await PASSENGERS.erase(
        session, erased.id, unseen={"station_id": erased.station_id, "province_code": "00"}
    )


async def record_placement(session: AsyncSession, event: PlacementConfirmed) -> None:
    """Remember the placement; a worker who needs transport is booked on a bus at once."""
    if await repository.get_placement(session, event.placement_id) is not None:
        return
    placement = Placement(
        id=event.placement_id,
        person_id=event.person_id,
        job_id=event.job_id,
        employer_id=event.employer_id,
        city_code=event.city_code,
        start_date=event.start_date,
        needs_transport=event.needs_transport,
    )
    session.add(placement)
    await session.flush()
    if not event.needs_transport:
        return
    passenger = await repository.get_passenger(session, event.person_id)
    if passenger is not None and passenger.erased:
        return
    if passenger is None:  # the person's event is late: what the placement says is enough to book
        if event.station_id is None or event.province_code is None:
            raise LookupError(f"placement {event.placement_id}: worker not known yet")
        passenger = Passenger(
            id=event.person_id,
            version=0,
            station_id=event.station_id,
            province_code=event.province_code,
            erased=False,
        )
        session.add(passenger)
        await session.flush()
    await seats.book_placement(session, passenger, placement)


async def end_placement(session: AsyncSession, event: PlacementEnded) -> None:
    """A placement that ends before the bus leaves gives its seat back."""
    booking = await repository.active_for_placement(session, event.placement_id)
    if booking is None:
        return
    trip = await repository.get_trip(session, booking.trip_id) if booking.trip_id else None
    if trip is None or trip.departs_at > utcnow():
        await seats.cancel(session, booking, "placement_ended")
