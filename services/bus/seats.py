"""Seats: booking, cancelling, the waitlist, automatic booking of placed workers, moving a cancelled trip's
passengers. Every function works in the caller's transaction and writes its events to the outbox.

The rules that must hold under any concurrency are in the database: `seats_left` only moves through a
conditional UPDATE and a CHECK keeps it in [0, seats]; partial unique indexes allow one active booking per
(trip, worker) and per placement. Code adds what needs reading first (no two overlapping trips per worker),
under a lock on the worker's row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, validation_problem
from libs.db import BEIJING, utcnow
from libs.events.contracts import (
    BOOKING_CANCELLED,
    BOOKING_CONFIRMED,
    BOOKING_UNSERVED,
    BOOKING_WAITLISTED,
    BookingPayload,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from services.bus import repository
from services.bus.models import Booking, Passenger, Placement, Trip, platform

SERVICE = "bus"
BOOKINGS = Counter("ew_bookings_total", "Booking decisions by outcome", ["outcome"])

EVENT_OF = {
    "confirmed": BOOKING_CONFIRMED,
    "waitlisted": BOOKING_WAITLISTED,
    "cancelled": BOOKING_CANCELLED,
    "unserved": BOOKING_UNSERVED,
}


def start_of(day: date) -> datetime:
    """A start date is a Beijing date: a trip must leave before it begins."""
    return datetime.combine(day, time(0), BEIJING)


def overlaps(a: Trip, b: Trip) -> bool:
    return a.departs_at < b.arrives_at and b.departs_at < a.arrives_at


def stops_at(trip: Trip, city_code: str) -> bool:
    return city_code in trip.destination_city_codes


async def emit(
    session: AsyncSession,
    booking: Booking,
    trip: Trip | None,
    reason: str | None = None,
    event_type: str | None = None,
) -> None:
    """The booking's current state as `booking.<status>` (or as `event_type`: `booking.unserved` for a worker
    who waits on a full trip)."""
    payload = booking_payload(booking, trip, reason, utcnow())
    subject = event_type or EVENT_OF[booking.status]
    await add_event(
        session, platform.outbox, new_event(SERVICE, subject, booking.id, payload.model_dump(mode="json"))
    )
    if event_type is None:
        BOOKINGS.labels(outcome=booking.status).inc()


def booking_payload(booking: Booking, trip: Trip | None, reason: str | None, at: datetime) -> BookingPayload:
    return BookingPayload(
        id=booking.id,
        status=booking.status,
        trip_id=booking.trip_id,
        person_id=booking.person_id,
        placement_id=booking.placement_id,
        station_id=booking.station_id,
        origin_station_id=booking.origin_station_id,
        destination_city_code=booking.destination_city_code,
        departs_at=trip.departs_at if trip is not None else None,
        needed_by=booking.needed_by,
        reason=reason,
        at=at,
        pickup_point=trip.pickup_point if trip is not None else None,
    )


@dataclass(frozen=True)
class Request:
    """Who travels where, and why: what a booking needs beyond the trip."""

    passenger: Passenger
    destination_city_code: str
    placement: Placement | None
    channel: str  # request | placement


async def book(session: AsyncSession, trip: Trip, request: Request) -> Booking:
    """Confirmed while seats remain, else waitlisted. Refuses a second booking on the same trip or on an
    overlapping one (409, naming the booking the worker holds)."""
    passenger = await repository.get_passenger(session, request.passenger.id, lock=True)
    assert passenger is not None
    # Then the trip (always in this order: worker, trip): a full trip's requests queue one at a time too,
    # so each waitlisted answer knows its true position.
    await repository.get_trip(session, trip.id, lock=True)
    for held, held_trip in await repository.holding(session, passenger.id):
        if held_trip.id == trip.id or overlaps(held_trip, trip):
            same = held_trip.id == trip.id
            raise Problem(
                409,
                (
                    f"该务工人员已预订此班次（{held.id}）"
                    if same
                    else f"该务工人员已预订时间重叠的班次 {held_trip.id}"
                ),
                slug="booking-exists" if same else "trip-overlaps",
                title="已有预订",
                errors=[FieldError("body.person_id", "already_booked", f"已有预订 {held.id}")],
            )
    if request.placement is not None:
        existing = await repository.active_for_placement(session, request.placement.id)
        if existing is not None:
            raise Problem(
                409,
                f"此录用已有预订 {existing.id}",
                slug="placement-booked",
                title="已有预订",
                errors=[FieldError("body.placement_id", "already_booked", f"已有预订 {existing.id}")],
            )
    seated = await repository.take_seat(session, trip.id)
    booking = new_booking(request, trip, "confirmed" if seated else "waitlisted")
    try:
        async with session.begin_nested():
            session.add(booking)
            await session.flush()
    except IntegrityError as error:  # a race the checks above could not see; the seat is rolled back too
        raise Problem(
            409, "该务工人员已有此班次或此录用的预订", slug="booking-exists", title="已有预订"
        ) from error
    await emit(session, booking, trip)
    return booking


def new_booking(request: Request, trip: Trip | None, status: str) -> Booking:
    now = utcnow()
    placement = request.placement
    return Booking(
        id=str(uuid.uuid4()),
        trip_id=trip.id if trip is not None else None,
        person_id=request.passenger.id,
        placement_id=placement.id if placement is not None else None,
        employer_id=placement.employer_id if placement is not None else None,
        station_id=request.passenger.station_id,
        province_code=request.passenger.province_code,
        origin_station_id=trip.origin_station_id if trip is not None else request.passenger.station_id,
        destination_city_code=request.destination_city_code,
        needed_by=placement.start_date if placement is not None else None,
        status=status,
        channel=request.channel,
        created_at=now,
        updated_at=now,
        cancelled_at=None,
    )


def destination_for(trip: Trip, wanted: str | None, placement: Placement | None) -> str:
    """Where the worker gets off: as asked, else the job's city, else the last stop."""
    if wanted is not None:
        if not stops_at(trip, wanted):
            raise validation_problem(
                "body.destination_city_code", "not_a_stop", "此班次不停靠该城市", "此班次不停靠所选下车城市"
            )
        return wanted
    if placement is not None and placement.city_code is not None:
        if not stops_at(trip, placement.city_code):
            raise validation_problem(
                "body.placement_id", "job_city_not_a_stop", "此班次不停靠该录用岗位所在城市"
            )
        return placement.city_code
    return trip.destination_city_codes[-1]


async def cancel(session: AsyncSession, booking: Booking, reason: str | None = None) -> Booking:
    """Cancelling a confirmed seat frees it for the first on the waitlist, in the same transaction."""
    if booking.status == "cancelled":
        return booking
    trip = await repository.get_trip(session, booking.trip_id, lock=True) if booking.trip_id else None
    freed = booking.status == "confirmed"
    now = utcnow()
    booking.status = "cancelled"
    booking.cancelled_at = booking.updated_at = now
    await session.flush()
    await emit(session, booking, trip, reason)
    if freed and trip is not None:
        await repository.give_back_seat(session, trip.id)
        await promote(session, trip.id)
    return booking


async def promote(session: AsyncSession, trip_id: str) -> list[Booking]:
    """Seat the waitlist in arrival order while seats remain (the caller holds the trip's row)."""
    promoted = []
    trip = await repository.get_trip(session, trip_id)
    while (head := await repository.first_waiting(session, trip_id)) is not None:
        if not await repository.take_seat(session, trip_id):
            break
        head.status = "confirmed"
        head.updated_at = utcnow()
        await session.flush()
        await emit(session, head, trip, "waitlist_promoted")
        promoted.append(head)
    return promoted


# --- automatic booking ----------------------------------------------------------------------------------------


async def suitable_trips(
    session: AsyncSession,
    passenger_id: str,
    origin_station_id: str,
    city_code: str,
    needed_by: date | None,
    *,
    ignore: str | None = None,
) -> list[Trip]:
    """Scheduled trips from the station that stop at the city and leave before the start date, earliest first,
    leaving out those that overlap the worker's other trips (`ignore`: a booking being moved)."""
    before = start_of(needed_by) if needed_by is not None else None
    trips = await repository.departures(session, origin_station_id, after=utcnow(), before=before)
    held = [trip for booking, trip in await repository.holding(session, passenger_id) if booking.id != ignore]
    return [trip for trip in trips if stops_at(trip, city_code) and not any(overlaps(trip, h) for h in held)]


async def choose(session: AsyncSession, trips: Sequence[Trip], employer_id: str | None) -> Trip | None:
    """The earliest trip with a seat, unless a later one with a seat already carries workers heading to the
    same employer: a group from one station to one employer travels together where seats allow."""
    open_trips = [trip for trip in trips if trip.seats_left > 0]
    if employer_id is not None:
        groups = await repository.employers_on(session, [trip.id for trip in open_trips])
        for trip in open_trips:
            if (trip.id, employer_id) in groups:
                return trip
    return open_trips[0] if open_trips else None


async def book_placement(session: AsyncSession, passenger: Passenger, placement: Placement) -> Booking | None:
    """A placed worker who needs transport gets a seat on the best suitable trip; with none free they wait
    on the earliest one, and with no trip at all they wait for one (`unserved`); both tell the station
    (`booking.unserved`) to add a trip. Once per placement: a replayed event changes nothing."""
    if await repository.active_for_placement(session, placement.id) is not None:
        return None
    await repository.get_passenger(session, passenger.id, lock=True)
    city = placement.city_code
    request = Request(passenger, city or "", placement, "placement")
    trips = (
        await suitable_trips(session, passenger.id, passenger.station_id, city, placement.start_date)
        if city
        else []
    )
    chosen = await choose(session, trips, placement.employer_id)
    if chosen is not None and await repository.take_seat(session, chosen.id):
        booking = new_booking(request, chosen, "confirmed")
        return await _store(session, booking, chosen)
    if trips:
        booking = await _store(session, new_booking(request, trips[0], "waitlisted"), trips[0])
        await emit(
            session, booking, trips[0], "trips_full", BOOKING_UNSERVED
        )  # the station should add a trip
        return booking
    booking = new_booking(request, None, "unserved")
    return await _store(session, booking, None, "no_trip" if city else "no_job_city")


async def _store(
    session: AsyncSession, booking: Booking, trip: Trip | None, reason: str | None = None
) -> Booking:
    session.add(booking)
    await session.flush()
    await emit(session, booking, trip, reason)
    return booking


async def serve_unserved(session: AsyncSession, trip: Trip) -> list[Booking]:
    """A new trip takes the workers waiting for one from its station to its cities, before their start."""
    served = []
    for booking in await repository.unserved_from(session, trip.origin_station_id):
        if not stops_at(trip, booking.destination_city_code):
            continue
        if booking.needed_by is not None and trip.departs_at >= start_of(booking.needed_by):
            continue
        held = await repository.holding(session, booking.person_id)
        if any(overlaps(trip, other) for _, other in held):
            continue
        seated = await repository.take_seat(session, trip.id)
        booking.trip_id = trip.id
        booking.status = "confirmed" if seated else "waitlisted"
        booking.updated_at = utcnow()
        await session.flush()
        await emit(session, booking, trip, "trip_added")
        served.append(booking)
    return served


async def move_off(session: AsyncSession, trip: Trip) -> None:
    """A cancelled trip's passengers, in queue order (seated first), go to the waitlist of the next suitable
    trip and are seated there while seats remain; those with nowhere to go wait for a trip (`unserved`)."""
    passengers = await repository.on_trip(session, trip.id, ("confirmed",))
    passengers = [*passengers, *await repository.on_trip(session, trip.id, ("waitlisted",))]
    targets: dict[str, Trip] = {}
    for booking in passengers:
        options = await suitable_trips(
            session,
            booking.person_id,
            booking.origin_station_id,
            booking.destination_city_code,
            booking.needed_by,
            ignore=booking.id,
        )
        options = [option for option in options if option.id != trip.id]
        booking.updated_at = utcnow()
        if not options:
            booking.trip_id = None
            booking.status = "unserved"
            await session.flush()
            await emit(session, booking, None, "trip_cancelled")
            continue
        target = await repository.get_trip(session, options[0].id, lock=True)
        assert target is not None
        booking.trip_id = target.id
        booking.status = "waitlisted"
        await session.flush()
        await emit(session, booking, target, "trip_cancelled")
        targets[target.id] = target
    for target_id in targets:
        await promote(session, target_id)
