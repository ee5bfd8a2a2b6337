"""The direct bus end to end (issue 6): trips, bookings and the waitlist, scope, trip cancellation, and
placed workers booked automatically through NATS."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from libs.db import beijing_date
from services.bus.models import Booking, Passenger, Station
from services.bus.models import platform as bus_tables
from tests.factories import person_body, phone
from tests.harness import ADMIN, Platform, auth, eventually, known_to
from tests.integration.test_demand import new_station
from tests.integration.test_matching import new_employer, new_job, new_worker

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching", "bus")


def soon(days: float, hour: int = 8) -> str:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return moment.isoformat()


def trip_body(station_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "origin_station_id": station_id,
        "destination_city_codes": ["3202", "3205"],
        "departs_at": soon(3),
        "seats": 2,
        "operator": "陕西汽车客运集团",
        "operator_id": "op-1",
        "vehicle": "陕A·12345",
        "contact": "王师傅 13900000000",
        "pickup_point": "西安市莲湖区劳务联络站门口",
        **overrides,
    }


async def bus_knows_station(platform: Platform, station_id: str) -> None:
    await known_to(platform, "bus", Station, station_id, what="bus learns the station")


async def bus_knows_worker(platform: Platform, person_id: str) -> None:
    await known_to(platform, "bus", Passenger, person_id, what="bus learns the worker")


async def new_trip(platform: Platform, station_id: str, **overrides: Any) -> dict[str, Any]:
    response = await platform.client.post(
        "/v1/trips", json=trip_body(station_id, **overrides), headers=auth("station", station_id=station_id)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def book(
    platform: Platform, trip_id: str, person_id: str, headers: dict[str, str], **body: Any
) -> tuple[int, dict[str, Any]]:
    response = await platform.client.post(
        f"/v1/trips/{trip_id}/bookings", json={"person_id": person_id, **body}, headers=headers
    )
    return response.status_code, dict(response.json())


async def outbox_types(platform: Platform) -> list[str]:
    async with platform.runtime("bus").sessions() as session:
        rows = await session.execute(select(bus_tables.outbox.c.subject).order_by(bus_tables.outbox.c.seq))
        return [str(subject) for (subject,) in rows]


async def test_seats_waitlist_promotion_and_scope(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    workers = [await new_worker(platform, station_id, serial) for serial in (1, 2, 3)]
    await bus_knows_station(platform, station_id)
    for worker in workers:
        await bus_knows_worker(platform, worker)
    trip = await new_trip(platform, station_id)
    assert trip["seats_left"] == 2 and trip["status"] == "scheduled" and trip["origin_province_code"] == "61"

    first = await book(platform, trip["id"], workers[0], {**station, "Idempotency-Key": "b-1"})
    assert first[0] == 201 and first[1]["status"] == "confirmed", first
    assert first[1]["destination_city_code"] == "3205"  # no placement: the last stop
    replay = await platform.client.post(
        f"/v1/trips/{trip['id']}/bookings",
        json={"person_id": workers[0]},
        headers={**station, "Idempotency-Key": "b-1"},
    )
    assert replay.status_code == 201 and replay.json() == first[1]
    assert replay.headers["idempotent-replayed"] == "true"
    second = await book(platform, trip["id"], workers[1], station, destination_city_code="3202")
    assert second[0] == 201 and second[1]["destination_city_code"] == "3202"
    third = await book(platform, trip["id"], workers[2], station)
    assert third[0] == 202 and third[1]["status"] == "waitlisted" and third[1]["waitlist_position"] == 1

    # one seat per trip, no two overlapping trips, stops only
    again = await book(platform, trip["id"], workers[0], station)
    assert again[0] == 409 and again[1]["errors"][0]["field"] == "body.person_id"
    overlapping = await new_trip(platform, station_id, departs_at=soon(3, hour=12))
    clash = await book(platform, overlapping["id"], workers[0], station)
    assert clash[0] == 409 and trip["id"] in clash[1]["detail"]
    later = await new_trip(platform, station_id, departs_at=soon(6))
    not_a_stop = await book(platform, later["id"], workers[0], station, destination_city_code="3201")
    assert not_a_stop[0] == 422 and not_a_stop[1]["errors"][0]["field"] == "body.destination_city_code"

    # scope: another station, another province, a recruiter, the operator
    other_station = await new_station(platform, "52")
    for headers in (auth("station", station_id=other_station), auth("partner", provinces=["52"])):
        assert (await platform.client.get(f"/v1/trips/{trip['id']}", headers=headers)).status_code == 404
        assert (
            await platform.client.get(f"/v1/bookings/{first[1]['id']}", headers=headers)
        ).status_code == 404
        assert (
            await platform.client.delete(f"/v1/bookings/{first[1]['id']}", headers=headers)
        ).status_code == 404
    assert (
        await platform.client.get("/v1/trips", headers=auth("recruiter", employer_id="e"))
    ).status_code == 403
    partner = await book(platform, later["id"], workers[0], auth("partner", provinces=["52"]))
    assert partner[0] == 404 and partner[1]["title"]
    operator = auth("operator", operator_id="op-1")
    seen = await platform.client.get("/v1/bookings", params={"trip_id": trip["id"]}, headers=operator)
    assert seen.status_code == 200 and len(seen.json()["items"]) == 3
    mine = await platform.client.get("/v1/bookings", params={"person_id": workers[2]}, headers=station)
    assert [item["status"] for item in mine.json()["items"]] == ["waitlisted"]
    listed = await platform.client.get("/v1/trips", params={"origin_station_id": station_id}, headers=station)
    assert [item["id"] for item in listed.json()["items"]] == [trip["id"], overlapping["id"], later["id"]]
    assert listed.json()["items"][0]["waitlisted"] == 1

    # cancelling a seat seats the first on the waitlist
    cancelled = await platform.client.delete(f"/v1/bookings/{first[1]['id']}", headers=station)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    promoted = await platform.client.get(f"/v1/bookings/{third[1]['id']}", headers=station)
    assert promoted.json()["status"] == "confirmed" and promoted.json()["waitlist_position"] is None
    shown = await platform.client.get(f"/v1/trips/{trip['id']}", headers=ADMIN)
    assert shown.json()["seats_left"] == 0 and shown.json()["waitlisted"] == 0
    assert (
        await platform.client.delete(f"/v1/bookings/{first[1]['id']}", headers=station)
    ).status_code == 200
    types = await outbox_types(platform)
    assert types.count("ew.bus.booking.confirmed") == 3  # two at once, one promoted
    assert types.count("ew.bus.booking.waitlisted") == 1 and types.count("ew.bus.booking.cancelled") == 1


async def test_bad_trips_are_refused_field_by_field(platform: Platform) -> None:
    station_id = await new_station(platform)
    await bus_knows_station(platform, station_id)
    station = auth("station", station_id=station_id)
    cases = {
        "body.destination_city_codes": {"destination_city_codes": ["6101"]},
        "body.seats": {"seats": 0},
        "body.departs_at": {"departs_at": soon(-1)},
        "body": {"arrives_at": soon(2)},
        "body.origin_station_id": {"origin_station_id": "nope"},
    }
    for field, change in cases.items():
        response = await platform.client.post(
            "/v1/trips", json=trip_body(station_id, **change), headers=station
        )
        assert response.status_code in (404, 422), response.text
        assert response.json()["errors"][0]["field"] == field, (field, response.text)
    naive = await platform.client.post(
        "/v1/trips", json=trip_body(station_id, departs_at="2030-01-01T08:00:00"), headers=station
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "body.departs_at"
    other = auth("station", station_id="someone-else")
    assert (
        await platform.client.post("/v1/trips", json=trip_body(station_id), headers=other)
    ).status_code == 404
    async with platform.runtime("bus").sessions() as session:
        assert await session.scalar(select(func.count()).select_from(bus_tables.outbox)) == 0


async def test_cancelled_trip_moves_its_passengers(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    workers = [await new_worker(platform, station_id, serial) for serial in (4, 5, 6, 7)]
    await bus_knows_station(platform, station_id)
    for worker in workers:
        await bus_knows_worker(platform, worker)
    doomed = await new_trip(platform, station_id, seats=3)
    next_one = await new_trip(platform, station_id, departs_at=soon(5), seats=2)
    ids = []
    for worker in workers[:3]:
        ids.append((await book(platform, doomed["id"], worker, station))[1]["id"])
    off_route = (await book(platform, doomed["id"], workers[3], station, destination_city_code="3202"))[1]
    assert off_route["status"] == "waitlisted"
    response = await platform.client.post(
        f"/v1/trips/{doomed['id']}/cancel", json={"reason": "车辆故障"}, headers=station
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    moved = [
        (await platform.client.get(f"/v1/bookings/{booking_id}", headers=station)).json()
        for booking_id in ids
    ]
    assert [(b["trip_id"], b["status"]) for b in moved] == [
        (next_one["id"], "confirmed"),
        (next_one["id"], "confirmed"),
        (next_one["id"], "waitlisted"),
    ]
    assert moved[2]["waitlist_position"] == 1
    # the next trip stops at 3202 too, so the fourth waits there behind the third
    fourth = (await platform.client.get(f"/v1/bookings/{off_route['id']}", headers=station)).json()
    assert fourth["trip_id"] == next_one["id"] and fourth["waitlist_position"] == 2
    assert "ew.bus.trip.cancelled" in await outbox_types(platform)
    assert (await book(platform, doomed["id"], workers[0], station))[0] == 409


async def test_placed_worker_is_booked_on_the_right_trip_through_nats(platform: Platform) -> None:
    station_id = await new_station(platform)
    await bus_knows_station(platform, station_id)
    worker_id = await new_worker(platform, station_id, 11)
    employer_id = await new_employer(platform)
    job_id = await new_job(platform, employer_id, headcount=5)
    start = beijing_date() + timedelta(days=10)
    wrong_city = await new_trip(platform, station_id, destination_city_codes=["3201"], departs_at=soon(2))
    right = await new_trip(platform, station_id, destination_city_codes=["3202", "3205"], departs_at=soon(4))
    too_late = await new_trip(platform, station_id, destination_city_codes=["3205"], departs_at=soon(12))
    station = auth("station", station_id=station_id)
    recruiter = auth("recruiter", employer_id=employer_id)

    async def job_known() -> bool:
        response = await platform.client.get(f"/v1/jobs/{job_id}/candidates", headers=recruiter)
        return response.status_code == 200

    await eventually(job_known, what="matching knows the job")
    await bus_knows_worker(platform, worker_id)
    body = {"person_id": worker_id, "job_id": job_id, "channel": "station"}

    async def apply() -> bool:
        response = await platform.client.post("/v1/applications", json=body, headers=station)
        return response.status_code == 201

    await eventually(apply, what="the application")
    application = (
        await platform.client.get("/v1/applications", params={"person_id": worker_id}, headers=station)
    ).json()["items"][0]["id"]
    path = f"/v1/applications/{application}"
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
    assert (await platform.client.post(f"{path}/accept", headers=station)).status_code == 200
    placed = await platform.client.post(
        f"{path}/place", json={"start_date": start.isoformat(), "needs_transport": True}, headers=recruiter
    )
    assert placed.status_code == 200, placed.text
    placement_id = placed.json()["placement_id"]

    async def booked() -> list[dict[str, Any]]:
        response = await platform.client.get("/v1/bookings", params={"person_id": worker_id}, headers=station)
        return list(response.json()["items"])

    await eventually(booked, what="bus books the placed worker")
    [booking] = await booked()
    assert booking["trip_id"] == right["id"] and booking["status"] == "confirmed"
    assert booking["placement_id"] == placement_id and booking["channel"] == "placement"
    assert booking["destination_city_code"] == "3205" and booking["needed_by"] == start.isoformat()
    assert wrong_city["id"] != right["id"] != too_late["id"]
    js = platform.runtime("bus").bus.js

    async def published() -> bool:
        try:
            await js.get_last_msg("EW", "ew.bus.booking.confirmed")
        except NotFoundError:
            return False
        return True

    await eventually(published, what="the relay publishes booking.confirmed")
    event = json.loads((await js.get_last_msg("EW", "ew.bus.booking.confirmed")).data)["data"]
    assert event["trip_id"] == right["id"] and event["person_id"] == worker_id and "name" not in event


async def test_no_trip_leaves_the_worker_unserved_until_one_is_added(platform: Platform) -> None:
    station_id = await new_station(platform)
    await bus_knows_station(platform, station_id)
    worker_id = await new_worker(platform, station_id, 12)
    await bus_knows_worker(platform, worker_id)
    from libs.events.contracts import PlacementConfirmed
    from services.bus import service

    start = beijing_date() + timedelta(days=7)
    async with platform.runtime("bus").sessions() as session:
        await service.record_placement(
            session,
            PlacementConfirmed(
                placement_id="pl-unserved",
                person_id=worker_id,
                job_id="job-x",
                employer_id="emp-x",
                start_date=start,
                station_id=station_id,
                province_code="61",
                city_code="3205",
                needs_transport=True,
            ),
        )
        await session.commit()
    station = auth("station", station_id=station_id)
    [waiting] = (
        await platform.client.get("/v1/bookings", params={"person_id": worker_id}, headers=station)
    ).json()["items"]
    assert waiting["status"] == "unserved" and waiting["trip_id"] is None
    assert "ew.bus.booking.unserved" in await outbox_types(platform)
    await new_trip(platform, station_id, departs_at=soon(9))  # leaves after the start date: no use
    trip = await new_trip(platform, station_id, departs_at=soon(2))
    served = (await platform.client.get(f"/v1/bookings/{waiting['id']}", headers=station)).json()
    assert served["status"] == "confirmed" and served["trip_id"] == trip["id"]
    async with platform.runtime("bus").sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Booking)) == 1


async def test_manifest_in_every_form_with_phones_for_the_operator_only(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    workers = [await new_worker(platform, station_id, serial) for serial in (21, 22, 23)]
    await bus_knows_station(platform, station_id)
    for worker in workers:
        await bus_knows_worker(platform, worker)
    trip = await new_trip(platform, station_id)
    for worker in workers:  # two seats: the third waits and is not on the manifest
        await book(platform, trip["id"], worker, station)
    path = f"/v1/trips/{trip['id']}/manifest"

    as_station = await platform.client.get(path, headers=station)
    assert as_station.status_code == 200, as_station.text
    assert as_station.headers["cache-control"] == "no-store"
    passengers = as_station.json()["passengers"]
    assert [p["seat"] for p in passengers] == [1, 2]
    assert passengers[0]["name"] == person_body(station_id, 21)["name"]
    assert "*" in passengers[0]["id_number_masked"] and "*" in passengers[0]["phone"]
    assert (
        passengers[0]["pickup_point"] == "西安市莲湖区劳务联络站门口"
        and passengers[0]["destination"] == "苏州市"
    )

    operator = auth("operator", operator_id="op-1")
    as_operator = (await platform.client.get(path, headers=operator)).json()["passengers"]
    assert as_operator[0]["phone"] == phone(21) and as_operator[1]["phone"] == phone(22)
    assert (await platform.client.get(path, headers=auth("operator", operator_id="op-2"))).status_code == 404
    assert (await platform.client.get(path, headers=auth("recruiter", employer_id="e"))).status_code == 403

    csv_answer = await platform.client.get(path, params={"format": "csv"}, headers=operator)
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("座位号,姓名") and phone(21) in lines[1] and len(lines) == 3
    xlsx_answer = await platform.client.get(path, params={"format": "xlsx"}, headers=station)
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_answer.content))
    cells = [str(cell.value) for row in workbook.active.iter_rows() for cell in row if cell.value]  # type: ignore[union-attr]
    assert person_body(station_id, 22)["name"] in cells and phone(22) not in cells
    page = await platform.client.get(path, params={"format": "html"}, headers=station)
    assert (
        page.headers["content-type"].startswith("text/html")
        and "default-src 'none'" in page.headers["content-security-policy"]
    )
    assert "就业帮扶直通车乘车名单" in page.text and "<script" not in page.text
    bad = await platform.client.get(path, params={"format": "pdf"}, headers=station)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format"

    # the personal data passed through; bus kept none of it
    async with platform.runtime("bus").sessions() as session:
        stored = json.dumps(
            [
                [str(value) for value in row]
                for table in (bus_tables.outbox, Booking.__table__, Passenger.__table__)
                for row in (await session.execute(select(table))).all()
            ],
            ensure_ascii=False,
        )
    for serial in (21, 22, 23):
        body = person_body(station_id, serial)
        assert body["name"] not in stored and body["phone"] not in stored and body["id_number"] not in stored


async def test_bad_booking_requests_are_clear_and_write_nothing(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    worker = await new_worker(platform, station_id, 31)
    await bus_knows_station(platform, station_id)
    await bus_knows_worker(platform, worker)
    trip = await new_trip(platform, station_id)
    path = f"/v1/trips/{trip['id']}/bookings"
    before = await outbox_types(platform)
    malformed = await platform.client.post(
        path, content=b'{"person_id": ', headers={**station, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "body"
    form = await platform.client.post(path, data={"person_id": worker}, headers=station)
    assert form.status_code == 415
    cases = {
        "body.person_id": {},
        "body.surprise": {"person_id": worker, "surprise": 1},
        "body.destination_city_code": {"person_id": worker, "destination_city_code": "9999"},
        "body.placement_id": {"person_id": worker, "placement_id": "no-such-placement"},
    }
    for field, body in cases.items():
        response = await platform.client.post(path, json=body, headers=station)
        assert response.status_code in (404, 422), response.text
        assert response.json()["errors"][0]["field"] == field
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = await platform.client.post(path, json={"person_id": "nobody"}, headers=station)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "body.person_id"
    key = {**station, "Idempotency-Key": "same"}
    assert (await platform.client.post(path, json={"person_id": worker}, headers=key)).status_code == 201
    reused = await platform.client.post(
        path, json={"person_id": worker, "destination_city_code": "3202"}, headers=key
    )
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert (
        await platform.client.post("/v1/trips/nope/bookings", json={"person_id": worker}, headers=station)
    ).status_code == 404
    assert (await outbox_types(platform)) == [*before, "ew.bus.booking.confirmed"]
    trip_now = (await platform.client.get(f"/v1/trips/{trip['id']}", headers=station)).json()
    assert trip_now["seats_left"] == 1
