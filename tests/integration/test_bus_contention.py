"""Bus under contention (issue 6, on SQLite and PostgreSQL): a thousand workers asking for fifty seats at once
never oversell a trip, and an Idempotency-Key retried concurrently never books twice.

"Concurrent" here: every request is started at once (`gather_with_progress`) over real HTTP to the platform's
uvicorn port, and up to `IN_FLIGHT` (200) of them are on the wire together, each on its own connection (four
httpx clients of 50 connections; one pool of 200 with 800 requests queued in it spends more CPU choosing
connections than the server spends booking, in the same event loop); the rest wait in the client for a
free connection. The platform's own limits (its database pool, SQLite's single writer, PostgreSQL's row lock
on the trip) decide the order after that. On a busy machine a request may wait longer for a pooled connection
than the pool allows and get `503` with `Retry-After` (nothing booked): the clients retry those as a real
client would (`retrying`), and no request has a deadline of its own: the batch fails only when no answer at
all comes for two minutes.

Workers are inserted straight into bus's read model (`passengers`, as the `person.*` consumer would write
them) and the station into `stations`: creating a thousand workers through demand's API would take minutes
and prove nothing about seats."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from libs.api.problems import problem_type
from services.bus.models import Booking, Passenger, Station, Trip
from services.bus.models import platform as bus_tables
from tests.harness import Platform, auth, gather_with_progress, retrying
from tests.integration.test_bus import new_trip

pytestmark = pytest.mark.services("stations", "demand", "bus")

IN_FLIGHT = 200
POOL = 50
PROVINCE = "61"


async def seed_station(platform: Platform) -> str:
    """A liaison station in bus's read model, as `station.registered` would leave it."""
    station_id = str(uuid.uuid4())
    async with platform.runtime("bus").sessions() as session:
        session.add(
            Station(
                id=station_id,
                version=1,
                name="江苏驻西安新城劳务联络站",
                province_code=PROVINCE,
                county_code="610102",
                active=True,
            )
        )
        await session.commit()
    return station_id


async def seed_passengers(platform: Platform, station_id: str, count: int) -> list[str]:
    """`count` workers of the station in bus's read model (what `person.registered` gives bus)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [
        {"id": person_id, "version": 1, "station_id": station_id, "province_code": PROVINCE, "erased": False}
        for person_id in ids
    ]
    async with platform.runtime("bus").sessions() as session:
        await session.execute(insert(Passenger), rows)
        await session.commit()
    return ids


class Clients:
    """`IN_FLIGHT` connections in pools of `POOL` (httpx scans a pool's connections for every request it
    queues: small pools keep the client cheap); at most `IN_FLIGHT` requests on the wire at once."""

    def __init__(self, platform: Platform) -> None:
        limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        self.pools = [
            # no read deadline per request: `gather_with_progress` bounds the batch by its progress
            httpx.AsyncClient(
                base_url=platform.base_url, timeout=httpx.Timeout(None, connect=10), limits=limits
            )
            for _ in range(IN_FLIGHT // POOL)
        ]
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.sent = 0

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        async def send() -> httpx.Response:
            async with self.slots:  # a retry waits for a free slot like any request (not holding one asleep)
                pool = self.pools[self.sent % len(self.pools)]
                self.sent += 1
                return await pool.post(path, json=body, headers=headers)

        return await retrying(send)

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *_: object) -> None:
        for pool in self.pools:
            await pool.aclose()


async def booking_counts(platform: Platform, trip_id: str) -> dict[str, int]:
    async with platform.runtime("bus").sessions() as session:
        rows = await session.execute(
            select(Booking.status, func.count()).where(Booking.trip_id == trip_id).group_by(Booking.status)
        )
        return {str(status): int(count) for status, count in rows.tuples()}


async def seats_left(platform: Platform, trip_id: str) -> int:
    async with platform.runtime("bus").sessions() as session:
        value = await session.scalar(select(Trip.seats_left).where(Trip.id == trip_id))
    assert value is not None
    return int(value)


async def waitlist_positions(platform: Platform, trip_id: str, headers: dict[str, str]) -> dict[str, int]:
    """Booking id -> waitlist position, as the API shows them now (every page of the trip's waitlist)."""
    positions: dict[str, int] = {}
    params: dict[str, Any] = {"trip_id": trip_id, "status": "waitlisted", "limit": 200}
    while True:
        page = await platform.client.get("/v1/bookings", params=params, headers=headers)
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            positions[item["id"]] = item["waitlist_position"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return positions
        params["cursor"] = cursor


async def test_a_thousand_requests_for_fifty_seats(platform: Platform) -> None:
    station_id = await seed_station(platform)
    station = auth("station", station_id=station_id)
    trip = await new_trip(platform, station_id, seats=50)
    workers = await seed_passengers(platform, station_id, 1000)

    async with Clients(platform) as clients:

        async def book(person_id: str) -> httpx.Response:
            return await clients.post(f"/v1/trips/{trip['id']}/bookings", {"person_id": person_id}, station)

        answers = await gather_with_progress(book(worker) for worker in workers)

    statuses = Counter(answer.status_code for answer in answers)
    unexpected = [(a.status_code, a.text[:300]) for a in answers if a.status_code not in (201, 202)]
    assert statuses == {201: 50, 202: 950}, (statuses, unexpected[:5])
    bodies = [answer.json() for answer in answers]
    assert {
        body["status"] for body, answer in zip(bodies, answers, strict=True) if answer.status_code == 201
    } == {"confirmed"}
    assert {
        body["status"] for body, answer in zip(bodies, answers, strict=True) if answer.status_code == 202
    } == {"waitlisted"}
    assert sorted(body["person_id"] for body in bodies) == sorted(workers)
    # each 202 told its true place in the queue: requests for one trip take their turns, full or not
    answered = sorted(body["waitlist_position"] for body in bodies if body["status"] == "waitlisted")
    assert answered == list(range(1, 951))

    # the database: every worker once, fifty seats sold, the rest queued in one order
    assert await booking_counts(platform, trip["id"]) == {"confirmed": 50, "waitlisted": 950}
    async with platform.runtime("bus").sessions() as session:
        per_person = await session.execute(
            select(Booking.person_id, func.count()).group_by(Booking.person_id).having(func.count() > 1)
        )
        assert per_person.all() == []
        events = await session.execute(
            select(bus_tables.outbox.c.subject, func.count()).group_by(bus_tables.outbox.c.subject)
        )
        counted = {str(subject): int(count) for subject, count in events.tuples()}
    assert counted.get("ew.bus.booking.confirmed") == 50 and counted.get("ew.bus.booking.waitlisted") == 950
    assert await seats_left(platform, trip["id"]) == 0
    positions = await waitlist_positions(platform, trip["id"], station)
    assert len(positions) == 950 and sorted(positions.values()) == list(range(1, 951))
    shown = await platform.client.get(f"/v1/trips/{trip['id']}", headers=station)
    assert shown.json()["seats_left"] == 0 and shown.json()["waitlisted"] == 950

    # the CHECK holds even for a statement that skips the conditional UPDATE
    async with platform.runtime("bus").sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                text("UPDATE trips SET seats_left = seats_left - 1 WHERE id = :id"), {"id": trip["id"]}
            )
        await session.rollback()
    assert await seats_left(platform, trip["id"]) == 0


async def test_an_idempotency_key_retried_concurrently_books_once(platform: Platform) -> None:
    station_id = await seed_station(platform)
    # one token for every request: the key's scope is the caller (its `sub`), the method and the path
    station = auth("station", station_id=station_id)
    trip = await new_trip(platform, station_id, seats=10)
    workers = await seed_passengers(platform, station_id, 20)
    keys = {f"contention-{index:02d}-{uuid.uuid4().hex[:6]}": worker for index, worker in enumerate(workers)}
    requests = [key for key in keys for _ in range(10)]
    random.Random(6).shuffle(requests)

    async with Clients(platform) as clients:

        async def book(key: str) -> tuple[str, httpx.Response]:
            response = await clients.post(
                f"/v1/trips/{trip['id']}/bookings",
                {"person_id": keys[key]},
                {**station, "Idempotency-Key": key},
            )
            return key, response

        answers = await gather_with_progress(book(key) for key in requests)

    by_key: dict[str, list[tuple[int, dict[str, Any]]]] = {key: [] for key in keys}
    originals: Counter[str] = Counter()
    in_progress = replayed = 0
    for key, answer in answers:
        assert answer.status_code in (201, 202, 409), (answer.status_code, answer.text[:300])
        body = answer.json()
        if answer.status_code == 409:
            assert body["type"] == problem_type("idempotency-in-progress"), body
            in_progress += 1
            continue
        by_key[key].append((answer.status_code, body))
        if answer.headers.get("idempotent-replayed") == "true":
            replayed += 1
        else:
            originals[key] += 1
    for key, outcomes in by_key.items():
        assert outcomes, f"{key}: every request answered 409"
        assert all(outcome == outcomes[0] for outcome in outcomes), key  # the same answer, replayed
        assert outcomes[0][1]["person_id"] == keys[key]
    assert originals == dict.fromkeys(keys, 1)  # one request per key did the work, the others replayed it
    # a request that waited for the first with its key replays that answer once it commits: no 409 left
    assert in_progress == 0 and replayed == len(requests) - len(keys)

    assert await booking_counts(platform, trip["id"]) == {"confirmed": 10, "waitlisted": 10}
    async with platform.runtime("bus").sessions() as session:
        booked = (await session.scalars(select(Booking.person_id))).all()
        stored_keys = await session.scalar(select(func.count()).select_from(bus_tables.idempotency))
    assert sorted(booked) == sorted(workers)
    assert stored_keys == 20
    booking_ids = {outcomes[0][1]["id"] for outcomes in by_key.values()}
    assert len(booking_ids) == 20
    assert await seats_left(platform, trip["id"]) == 0
