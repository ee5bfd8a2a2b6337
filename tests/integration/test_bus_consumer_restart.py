"""Bus's placements consumer killed and restarted between placement events (issue 6, SQLite and PostgreSQL):
every placed worker who needs transport ends up with exactly one booking, whatever was redelivered.

The placement events are real CloudEvents published to JetStream the way matching's relay publishes them
(`new_event`, `nats_headers`: `Nats-Msg-Id` = event id); matching's pipeline is not driven (it would take
minutes for thirty workers and prove nothing more about bus). The workers are in bus's read model first
(inserted as the `person.*` consumer would leave them), except three whose person event is "late": their
placement carries the station and province, which is enough to book."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from libs.db import beijing_date
from libs.events.consumer import EventConsumer
from libs.events.contracts import PLACEMENT_CONFIRMED, PLACEMENT_EVENTS, PlacementConfirmed
from libs.events.envelope import CloudEvent, nats_headers, new_event
from services.bus.consumers import on_placement_event
from services.bus.models import Booking, Passenger, Placement, Trip
from services.bus.models import platform as bus_tables
from tests.harness import Platform, auth, eventually
from tests.integration.test_bus import new_trip, soon
from tests.integration.test_bus_contention import PROVINCE, seed_passengers, seed_station

CONSUMER = "bus-placements"
TASK = f"consumer-{CONSUMER}"
WORKERS = 30
NO_TRANSPORT = {i for i in range(WORKERS) if i % 5 == 4}  # 6 workers make their own way
NOT_A_STOP = {7, 22}  # their job is in Nanjing (3201): no trip goes there, they wait for one (`unserved`)
LATE_PERSON = {3, 18, 27}  # bus has not heard of them yet when their placement arrives
SEATS = {"early": 8, "late": 6}


class Crash(BaseException):
    """Stands for the process dying mid-handler: not an Exception, so nothing on the way catches it."""


@dataclass(frozen=True)
class Placed:
    index: int
    placement_id: str
    person_id: str
    envelope: dict[str, Any]

    @property
    def needs_transport(self) -> bool:
        return self.index not in NO_TRANSPORT


def placement_envelope(placement: PlacementConfirmed) -> dict[str, Any]:
    """What matching's outbox row holds for `placement.confirmed` (a fresh event id each call)."""
    event = new_event(
        "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
    )
    return event.model_dump(mode="json")


async def publish(platform: Platform, envelope: dict[str, Any], msg_id: str | None = None) -> bool:
    """Publish as the relay does; `msg_id` overrides `Nats-Msg-Id` (a re-publish after JetStream's duplicate
    window). True when JetStream stored it, False when it dropped it as a duplicate."""
    headers = nats_headers(envelope)
    if msg_id is not None:
        headers["Nats-Msg-Id"] = msg_id
    bus = platform.runtime("bus").bus
    payload = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    ack = await bus.js.publish(PLACEMENT_CONFIRMED, payload, headers=headers, stream=bus.stream)
    return not ack.duplicate


async def consumer_lag(platform: Platform) -> tuple[int, int]:
    """(messages not yet delivered, delivered but not acknowledged) of bus's durable placements consumer."""
    bus = platform.runtime("bus").bus
    info = await bus.js.consumer_info(bus.stream, CONSUMER)
    return int(info.num_pending or 0), int(info.num_ack_pending or 0)


async def count(platform: Platform, model: type[Any]) -> int:
    async with platform.runtime("bus").sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def placements_handled(platform: Platform, expected: int) -> None:
    async def done() -> bool:
        return await count(platform, Placement) == expected and await consumer_lag(platform) == (0, 0)

    await eventually(done, timeout=40, what=f"{expected} placements handled and acknowledged")


def fresh_consumer(platform: Platform, handler: Any = on_placement_event) -> EventConsumer:
    """What a restarted bus process builds: a new consumer object on the same durable name."""
    runtime = platform.runtime("bus")
    consumer = runtime.consumer(CONSUMER, PLACEMENT_EVENTS, handler)
    runtime.consumers = [c if c.name != CONSUMER else consumer for c in runtime.consumers]
    return consumer


async def test_placements_consumer_killed_and_restarted_books_each_worker_once(platform: Platform) -> None:
    station_id = await seed_station(platform)
    station = auth("station", station_id=station_id)
    early = await new_trip(platform, station_id, seats=SEATS["early"], departs_at=soon(2))
    late = await new_trip(platform, station_id, seats=SEATS["late"], departs_at=soon(4))
    known = await seed_passengers(platform, station_id, WORKERS)
    start = beijing_date() + timedelta(days=10)
    placed = []
    for index in range(WORKERS):
        person_id = str(uuid.uuid4()) if index in LATE_PERSON else known[index]
        placement = PlacementConfirmed(
            placement_id=str(uuid.uuid4()),
            person_id=person_id,
            job_id=f"job-{index % 3}",
            employer_id=f"employer-{index % 2}",
            start_date=start,
            station_id=station_id,
            province_code=PROVINCE,
            city_code="3201" if index in NOT_A_STOP else ("3205" if index % 2 else "3202"),
            needs_transport=index not in NO_TRANSPORT,
        )
        placed.append(Placed(index, placement.placement_id, person_id, placement_envelope(placement)))
    first, second = placed[:15], placed[15:]

    # 1. the first half goes through while the consumer runs
    for item in first:
        assert await publish(platform, item.envelope)
    await placements_handled(platform, len(first))

    # 2. the consumer dies; the second half arrives, with duplicates of both halves
    await platform.stop_task(TASK)
    delivered_later = 0
    for item in second:
        assert await publish(platform, item.envelope)
        delivered_later += 1
        if item.index in (16, 20):  # matching published the same placement twice (a new event id)
            again = PlacementConfirmed.model_validate(item.envelope["data"])
            assert await publish(platform, placement_envelope(again))
            delivered_later += 1
    for item in first[:2]:  # the relay re-publishing within the duplicate window: JetStream drops it
        assert not await publish(platform, item.envelope)
    for item in (
        first[2],
        first[5],
    ):  # the same event after the window: JetStream keeps it, the inbox drops it
        assert await publish(platform, item.envelope, msg_id=f"{item.envelope['id']}-late")
        delivered_later += 1
    for item in (
        first[4],
        first[6],
        first[10],
    ):  # the same placement, a new event id (first[4]: no transport)
        again = PlacementConfirmed.model_validate(item.envelope["data"])
        assert await publish(platform, placement_envelope(again))
        delivered_later += 1
    await asyncio.sleep(0.5)
    assert await count(platform, Placement) == len(first)  # nobody is consuming
    assert await consumer_lag(platform) == (delivered_later, 0)

    # 3. a restarted process dies in the middle of its fifth event: that transaction leaves no trace
    handled: list[str] = []

    async def dies_on_the_fifth(session: Any, event: CloudEvent) -> None:
        await on_placement_event(session, event)
        handled.append(str(event.data["placement_id"]))
        if len(handled) == 5:
            raise Crash

    crashing = asyncio.create_task(fresh_consumer(platform, dies_on_the_fifth).run())
    with pytest.raises(Crash):
        await asyncio.wait_for(crashing, timeout=30)
    async with platform.runtime("bus").sessions() as session:
        assert await session.get(Placement, handled[-1]) is None
        assert await session.scalar(select(Booking).where(Booking.placement_id == handled[-1])) is None

    # 4. restarted again: the unacknowledged events come back (after the ack wait) and everything settles
    consumer = fresh_consumer(platform)
    platform.start_task("bus", TASK, consumer.run())
    await placements_handled(platform, WORKERS)
    assert consumer.duplicates >= 2  # at least the two re-published event ids, dropped by the inbox

    async with platform.runtime("bus").sessions() as session:
        bookings = (await session.scalars(select(Booking))).all()
        trips = {trip.id: trip for trip in (await session.scalars(select(Trip))).all()}
        late_people = (
            await session.scalars(select(Passenger).where(Passenger.id.in_([p.person_id for p in placed])))
        ).all()
        inbox = await session.scalar(
            select(func.count()).select_from(bus_tables.inbox).where(bus_tables.inbox.c.consumer == CONSUMER)
        )
        events = await session.execute(
            select(bus_tables.outbox.c.subject, func.count())
            .where(bus_tables.outbox.c.subject.like("ew.bus.booking.%"))
            .group_by(bus_tables.outbox.c.subject)
        )
        emitted = {str(subject): int(number) for subject, number in events.tuples()}

    by_placement: dict[str | None, list[Booking]] = {}
    for booking in bookings:
        by_placement.setdefault(booking.placement_id, []).append(booking)
    for item in placed:
        held = by_placement.get(item.placement_id, [])
        if not item.needs_transport:
            assert held == [], item.index
            continue
        assert len(held) == 1, (item.index, [(b.id, b.status) for b in held])
        [booking] = held
        assert booking.person_id == item.person_id and booking.channel == "placement"
        if item.index in NOT_A_STOP:
            assert (booking.status, booking.trip_id) == ("unserved", None), item.index
        else:
            assert booking.status in ("confirmed", "waitlisted") and booking.trip_id in trips, item.index
    assert len(bookings) == WORKERS - len(NO_TRANSPORT)

    travelling = WORKERS - len(NO_TRANSPORT) - len(NOT_A_STOP)  # 22 for 14 seats
    confirmed = {trip_id: 0 for trip_id in trips}
    for booking in bookings:
        if booking.status == "confirmed" and booking.trip_id is not None:
            confirmed[booking.trip_id] += 1
    for trip_id, trip in trips.items():
        assert trip.seats_left + confirmed[trip_id] == trip.seats, trip_id
        assert trip.seats_left == 0
    waitlisted = [booking for booking in bookings if booking.status == "waitlisted"]
    assert len(waitlisted) == travelling - sum(SEATS.values())
    assert {booking.trip_id for booking in waitlisted} == {early["id"]}  # the earliest suitable trip
    assert {p.id for p in late_people} >= {placed[i].person_id for i in LATE_PERSON}

    # each event handled once: 30 placements + 2 + 3 re-sent placements under new ids; the inbox de-duplicated
    # the two re-published event ids, and only committed transactions left events for other services
    assert inbox == WORKERS + 2 + 3
    assert emitted == {
        "ew.bus.booking.confirmed": sum(SEATS.values()),
        "ew.bus.booking.waitlisted": len(waitlisted),
        "ew.bus.booking.unserved": len(NOT_A_STOP) + len(waitlisted),  # no trip; trips full
    }
    shown = await platform.client.get(f"/v1/trips/{late['id']}", headers=station)
    assert shown.json()["seats_left"] == 0
