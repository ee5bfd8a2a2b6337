"""Training: bases, order-based programmes, enrolments, completions and the post-training employment rate.

The demand and matching services are not needed: the tests publish `ew.demand.person.*` and
`ew.matching.placement.confirmed` CloudEvents to the stream themselves, as those services will, and wait
for training's consumers to fold them into its read models.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.db import beijing_date, utcnow
from libs.events.contracts import (
    PERSON_ERASED,
    PERSON_REGISTERED,
    PERSON_UPDATED,
    PLACEMENT_CONFIRMED,
    TRAINING_COMPLETED,
    Intention,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    TrainingCompleted,
)
from libs.events.envelope import CloudEvent, new_event
from services.matching.models import WorkerView
from services.training.models import Enrolment, ErasedPerson, Person, Placement, Programme
from services.training.models import platform as training_tables
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually, known_to

pytestmark = pytest.mark.services("training", "matching")

PROBLEM_JSON = "application/problem+json"
SHAANXI, GUIZHOU, JIANGSU = "61", "52", "32"


# --- helpers ------------------------------------------------------------------------------------------------


async def publish(platform: Platform, event: CloudEvent) -> None:
    js = platform.runtime("training").bus.js
    await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})


def person_event(
    person_id: str, station_id: str, province_code: str, *, version: int = 1, kind: str = PERSON_REGISTERED
) -> CloudEvent:
    payload = PersonPayload(
        id=person_id,
        version=version,
        station_id=station_id,
        province_code=province_code,
        gender="女",
        age=32,
        education="初中",
        categories=["poverty_alleviated"],
        key_region=False,
        skills=["缝纫"],
        certificates=[],
        intention=Intention(city_codes=["3205"]),
        status="seeking",
        status_since=beijing_date(),
        updated_at=utcnow(),
    )
    return new_event("demand", kind, person_id, payload.model_dump(mode="json"))


async def person_row(platform: Platform, person_id: str) -> Person | None:
    async with platform.runtime("training").sessions() as session:
        return await session.get(Person, person_id)


async def register_persons(platform: Platform, *people: tuple[str, str, str]) -> None:
    """Publish (id, station, province) persons and wait until training knows every one."""
    for person_id, station_id, province in people:
        await publish(platform, person_event(person_id, station_id, province))
    wanted = {person_id for person_id, _, _ in people}

    async def known() -> bool:
        async with platform.runtime("training").sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Person).where(Person.id.in_(wanted))
            )
        return count == len(wanted)

    await eventually(known, what=f"{len(wanted)} persons in training's read model")


async def place(platform: Platform, person_id: str, start: date, placement_id: str | None = None) -> str:
    placement_id = placement_id or str(uuid.uuid4())
    data = PlacementConfirmed(
        placement_id=placement_id, person_id=person_id, job_id=str(uuid.uuid4()), start_date=start
    ).model_dump(mode="json")
    data["needs_transport"] = True  # matching sends more than training reads
    await publish(platform, new_event("matching", PLACEMENT_CONFIRMED, placement_id, data))
    await known_to(platform, "training", Placement, placement_id, what="placement recorded")
    return placement_id


def new_id() -> str:
    return str(uuid.uuid4())


def base_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "汉中市技工学校培训基地", "kind": "origin", "province_code": SHAANXI, **overrides}


def programme_body(base_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "base_id": base_id,
        "title": "电子装配订单班",
        "occupation_code": "6-25-04-07",
        "skills": ["电子装配", "质检"],
        "capacity": 30,
        "starts_on": (beijing_date() - timedelta(days=10)).isoformat(),
        "ends_on": (beijing_date() + timedelta(days=20)).isoformat(),
        "order": {"employer_id": new_id(), "job_ids": [new_id()], "committed_hires": 20},
        **overrides,
    }


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_base(platform: Platform, headers: dict[str, str] = ADMIN, **overrides: Any) -> dict[str, Any]:
    return await created(
        await platform.client.post("/v1/training-bases", json=base_body(**overrides), headers=headers)
    )


async def new_programme(
    platform: Platform, base_id: str, headers: dict[str, str] = ADMIN, **overrides: Any
) -> dict[str, Any]:
    response = await platform.client.post(
        "/v1/programmes", json=programme_body(base_id, **overrides), headers=headers
    )
    return await created(response)


async def enrol(
    platform: Platform, programme_id: str, person_id: str, headers: dict[str, str] = ADMIN
) -> httpx.Response:
    return await platform.client.post(
        f"/v1/programmes/{programme_id}/enrolments", json={"person_id": person_id}, headers=headers
    )


def problem_fields(response: httpx.Response) -> set[str]:
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["type"].startswith("https://")
    return {error["field"] for error in body.get("errors", [])}


# --- happy path ---------------------------------------------------------------------------------------------


async def test_base_programme_enrolment_completion_and_event(platform: Platform) -> None:
    base = await new_base(platform, station_id=new_id())
    jiangsu = await new_base(platform, name="苏州工业园区实训基地", kind="jiangsu", province_code=JIANGSU)
    assert base["kind"] == "origin" and base["province_code"] == SHAANXI

    fetched = await platform.client.get(f"/v1/training-bases/{base['id']}", headers=ADMIN)
    assert fetched.status_code == 200 and fetched.json() == base
    listed = await platform.client.get("/v1/training-bases", params={"province_code": SHAANXI}, headers=ADMIN)
    assert [item["id"] for item in listed.json()["items"]] == [base["id"]]
    everything = await platform.client.get("/v1/training-bases", params={"limit": 1}, headers=ADMIN)
    page_two = await platform.client.get(
        "/v1/training-bases", params={"limit": 1, "cursor": everything.json()["next_cursor"]}, headers=ADMIN
    )
    assert [everything.json()["items"][0]["id"], page_two.json()["items"][0]["id"]] == [
        base["id"],
        jiangsu["id"],
    ]

    order = {"employer_id": new_id(), "job_ids": [new_id(), new_id()], "committed_hires": 8}
    programme = await new_programme(platform, base["id"], capacity=10, order=order)
    assert programme["order"] == order and programme["seats_taken"] == 0 and programme["seats_left"] == 10
    no_order = await new_programme(platform, jiangsu["id"], order=None, capacity=25)
    assert no_order["order"] is None
    by_base = await platform.client.get("/v1/programmes", params={"base_id": base["id"]}, headers=ADMIN)
    assert [item["id"] for item in by_base.json()["items"]] == [programme["id"]]
    got = await platform.client.get(f"/v1/programmes/{programme['id']}", headers=ADMIN)
    assert got.status_code == 200 and got.json()["title"] == "电子装配订单班"

    station_id, person_id = new_id(), new_id()
    await register_persons(platform, (person_id, station_id, SHAANXI))
    station = auth("station", station_id=station_id)
    key = {"Idempotency-Key": "enrol-" + person_id}
    first = await platform.client.post(
        f"/v1/programmes/{programme['id']}/enrolments",
        json={"person_id": person_id},
        headers={**station, **key},
    )
    enrolment = await created(first)
    assert enrolment["status"] == "enrolled" and enrolment["base_id"] == base["id"]
    replay = await platform.client.post(
        f"/v1/programmes/{programme['id']}/enrolments",
        json={"person_id": person_id},
        headers={**station, **key},
    )
    assert replay.status_code == 201 and replay.json() == enrolment
    assert replay.headers["idempotent-replayed"] == "true"
    seats = await platform.client.get(f"/v1/programmes/{programme['id']}", headers=ADMIN)
    assert seats.json()["seats_taken"] == 1 and seats.json()["seats_left"] == 9

    mine = await platform.client.get("/v1/enrolments", params={"person_id": person_id}, headers=station)
    assert [item["id"] for item in mine.json()["items"]] == [enrolment["id"]]

    base_token = auth("training", base_id=base["id"])
    completed = await platform.client.post(
        f"/v1/enrolments/{enrolment['id']}/complete",
        json={"certificate": "电子设备装接工（五级）"},
        headers=base_token,
    )
    assert completed.status_code == 200, completed.text
    assert (
        completed.json()["status"] == "completed"
        and completed.json()["completed_on"] == beijing_date().isoformat()
    )
    again = await platform.client.post(
        f"/v1/enrolments/{enrolment['id']}/complete", json={}, headers=base_token
    )
    assert again.status_code == 409 and problem_fields(again) == set()
    read = await platform.client.get(f"/v1/enrolments/{enrolment['id']}", headers=station)
    assert read.json()["certificate"] == "电子设备装接工（五级）"

    js = platform.runtime("training").bus.js

    async def on_stream() -> bool:
        try:
            message = await js.get_last_msg("EW", TRAINING_COMPLETED)
        except Exception:
            return False
        return bool(json.loads(message.data or b"{}").get("data", {}).get("enrolment_id") == enrolment["id"])

    await eventually(on_stream, what="training.completed on the stream")
    message = await js.get_last_msg("EW", TRAINING_COMPLETED)
    envelope = json.loads(message.data or b"{}")
    assert envelope["source"] == "/eastwest/training" and envelope["subject"] == enrolment["id"]
    payload = TrainingCompleted.model_validate(envelope["data"])
    assert payload == TrainingCompleted(
        enrolment_id=enrolment["id"],
        programme_id=programme["id"],
        base_id=base["id"],
        person_id=person_id,
        occupation_code="6-25-04-07",
        skills=["电子装配", "质检"],
        certificate="电子设备装接工（五级）",
        completed_on=beijing_date(),
        enrolled_on=beijing_date(),
        order_employer_id=order["employer_id"],  # 订单式培训: the employer that ordered it (policy's subsidy)
    )
    outbox = training_tables.outbox
    async with platform.runtime("training").sessions() as session:
        events = await session.scalar(select(func.count()).select_from(outbox))
    assert events == 2  # the enrolment and one completion: the refused second completion wrote nothing

    async def in_matching() -> bool:  # what the training gave, where the ranker reads it
        async with platform.runtime("matching").sessions() as session:
            row = await session.get(WorkerView, person_id)
        return (
            row is not None and row.trainings == 1 and row.trained_certificates == ["电子设备装接工（五级）"]
        )

    await eventually(in_matching, what="the training's certificate in matching's read model")


# --- validation ---------------------------------------------------------------------------------------------


async def test_validation_errors_name_the_field(platform: Platform) -> None:
    base = await new_base(platform)
    client = platform.client
    start, end = beijing_date() - timedelta(days=1), beijing_date() + timedelta(days=30)
    base_cases: list[tuple[dict[str, Any], str]] = [
        (base_body(kind="jiangsu", province_code=SHAANXI), "body.province_code"),
        (base_body(kind="origin", province_code=JIANGSU), "body.province_code"),
        (base_body(province_code="99"), "body.province_code"),
        (base_body(province_code="610"), "body.province_code"),
        (base_body(kind="abroad"), "body.kind"),
        ({"kind": "origin", "province_code": SHAANXI}, "body.name"),
        (base_body(station_id=""), "body.station_id"),
        (base_body(colour="red"), "body.colour"),
    ]
    programme_cases: list[tuple[dict[str, Any], str]] = [
        (programme_body(base["id"], occupation_code="9-99-99-99"), "body.occupation_code"),
        (programme_body(base["id"], capacity=0), "body.capacity"),
        (programme_body(base["id"], capacity="many"), "body.capacity"),
        (programme_body(base["id"], starts_on=end.isoformat(), ends_on=start.isoformat()), "body.ends_on"),
        (programme_body(base["id"], starts_on="2026-13-01"), "body.starts_on"),
        (programme_body(base["id"], title=""), "body.title"),
        (
            programme_body(base["id"], capacity=5, order={"employer_id": new_id(), "committed_hires": 6}),
            "body.order.committed_hires",
        ),
        (
            programme_body(base["id"], order={"employer_id": new_id(), "committed_hires": -1}),
            "body.order.committed_hires",
        ),
        (programme_body(base["id"], order={"committed_hires": 1}), "body.order.employer_id"),
        ({k: v for k, v in programme_body(base["id"]).items() if k != "base_id"}, "body.base_id"),
    ]
    seen = 0
    for body, field_name in base_cases:
        response = await client.post("/v1/training-bases", json=body, headers=ADMIN)
        assert response.status_code == 422, (body, response.text)
        assert field_name in problem_fields(response), (field_name, response.text)
        seen += 1
    for body, field_name in programme_cases:
        response = await client.post("/v1/programmes", json=body, headers=ADMIN)
        assert response.status_code == 422, (body, response.text)
        assert field_name in problem_fields(response), (field_name, response.text)
        seen += 1

    unknown_base = await client.post("/v1/programmes", json=programme_body(new_id()), headers=ADMIN)
    assert unknown_base.status_code == 404 and problem_fields(unknown_base) == {"body.base_id"}

    programme = await new_programme(platform, base["id"])
    person_id, erased_id = new_id(), new_id()
    await register_persons(platform, (person_id, new_id(), SHAANXI), (erased_id, new_id(), SHAANXI))
    await publish(
        platform,
        new_event(
            "demand",
            PERSON_ERASED,
            erased_id,
            PersonErased(id=erased_id, station_id="s", erased_at=utcnow()).model_dump(mode="json"),
        ),
    )
    await known_to(platform, "training", ErasedPerson, erased_id, what="erased person dropped")
    enrolments = f"/v1/programmes/{programme['id']}/enrolments"
    person_cases: list[tuple[dict[str, Any], str]] = [
        ({"person_id": new_id()}, "body.person_id"),
        ({"person_id": erased_id}, "body.person_id"),
        ({}, "body.person_id"),
        ({"person_id": person_id, "seat": 1}, "body.seat"),
    ]
    for body, field_name in person_cases:
        response = await client.post(enrolments, json=body, headers=ADMIN)
        assert response.status_code == 422 and field_name in problem_fields(response), response.text
        seen += 1
    bad_key = await client.post(
        enrolments, json={"person_id": person_id}, headers={**ADMIN, "Idempotency-Key": "has spaces"}
    )
    assert bad_key.status_code == 422 and problem_fields(bad_key) == {"header.Idempotency-Key"}
    malformed = await client.post(
        enrolments, content=b"{", headers={**ADMIN, "content-type": "application/json"}
    )
    assert malformed.status_code == 400 and problem_fields(malformed) == {"body"}
    missing = await client.post(
        f"/v1/programmes/{new_id()}/enrolments", json={"person_id": person_id}, headers=ADMIN
    )
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM_JSON)

    enrolment = await created(await enrol(platform, programme["id"], person_id))
    complete = f"/v1/enrolments/{enrolment['id']}/complete"
    for body, field_name in [
        ({"certificate": "证" * 101}, "body.certificate"),
        ({"completed_on": (beijing_date() + timedelta(days=1)).isoformat()}, "body.completed_on"),
        ({"completed_on": (beijing_date() - timedelta(days=11)).isoformat()}, "body.completed_on"),
        ({"completed_on": "yesterday"}, "body.completed_on"),
    ]:
        response = await client.post(complete, json=body, headers=ADMIN)
        assert response.status_code == 422 and field_name in problem_fields(response), response.text
        seen += 1
    for path, params in [
        ("/v1/training-bases", {"province_code": "6"}),
        ("/v1/programmes", {"cursor": "not-a-cursor"}),
        ("/v1/enrolments", {"status": "dropped"}),
        ("/v1/enrolments", {"limit": "0"}),
    ]:
        response = await client.get(path, params=params, headers=ADMIN)
        assert response.status_code == 422 and {f"query.{next(iter(params))}"} == problem_fields(response)
        seen += 1
    assert seen == 30
    nothing = await client.get(f"/v1/enrolments/{enrolment['id']}", headers=ADMIN)
    assert nothing.json()["status"] == "enrolled"  # refused completions changed nothing


# --- capacity and duplicates --------------------------------------------------------------------------------


async def test_capacity_holds_under_concurrency(platform: Platform) -> None:
    base = await new_base(platform)
    programme = await new_programme(
        platform, base["id"], capacity=5, order={"employer_id": new_id(), "committed_hires": 5}
    )
    station_id = new_id()
    people = [(new_id(), station_id, SHAANXI) for _ in range(30)]
    await register_persons(platform, *people)
    station = auth("station", station_id=station_id)
    responses = await asyncio.gather(
        *(enrol(platform, programme["id"], person, station) for person, _, _ in people)
    )
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 5, 409: 25}, statuses
    assert all(r.json()["type"].endswith("/programme-full") for r in responses if r.status_code == 409)

    # The same person thirty times at once, into a fresh programme: one enrolment, one seat.
    other = await new_programme(platform, base["id"], capacity=5, order=None)
    same = await asyncio.gather(*(enrol(platform, other["id"], people[0][0], station) for _ in range(30)))
    assert Counter(response.status_code for response in same) == {201: 1, 409: 29}

    async with platform.runtime("training").sessions() as session:
        counts = {
            row.id: row.seats_taken
            for row in await session.scalars(
                select(Programme).where(Programme.id.in_([programme["id"], other["id"]]))
            )
        }
        enrolled = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.programme_id == programme["id"])
        )
    assert counts == {programme["id"]: 5, other["id"]: 1} and enrolled == 5
    full = await platform.client.get(f"/v1/programmes/{programme['id']}", headers=ADMIN)
    assert full.json()["seats_left"] == 0


async def test_one_enrolment_per_person_and_no_enrolment_after_the_end(platform: Platform) -> None:
    base = await new_base(platform)
    programme = await new_programme(platform, base["id"])
    person_id = new_id()
    await register_persons(platform, (person_id, new_id(), SHAANXI))
    enrolment = await created(await enrol(platform, programme["id"], person_id))
    again = await enrol(platform, programme["id"], person_id)
    assert again.status_code == 409 and problem_fields(again) == {"body.person_id"}
    assert again.json()["existing_id"] == enrolment["id"]

    ended = await new_programme(
        platform,
        base["id"],
        starts_on=(beijing_date() - timedelta(days=40)).isoformat(),
        ends_on=(beijing_date() - timedelta(days=1)).isoformat(),
    )
    late = await enrol(platform, ended["id"], person_id)
    assert late.status_code == 409 and late.json()["type"].endswith("/programme-ended")
    seats = await platform.client.get(f"/v1/programmes/{programme['id']}", headers=ADMIN)
    assert seats.json()["seats_taken"] == 1


# --- outcomes -----------------------------------------------------------------------------------------------


async def outcomes(platform: Platform, programme_id: str) -> dict[str, Any]:
    response = await platform.client.get(f"/v1/programmes/{programme_id}/outcomes", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_outcomes_count_placements_on_or_after_completion(platform: Platform) -> None:
    base = await new_base(platform)
    programme = await new_programme(platform, base["id"])
    empty = await outcomes(platform, programme["id"])
    assert empty == {
        "programme_id": programme["id"],
        "enrolled": 0,
        "completed": 0,
        "employed_after": 0,
        "employment_rate": None,
    }
    placed_after, placed_before, not_completed = new_id(), new_id(), new_id()
    station = new_id()
    await register_persons(
        platform,
        (placed_after, station, SHAANXI),
        (placed_before, station, SHAANXI),
        (not_completed, station, SHAANXI),
    )
    ids = {}
    for person in (placed_after, placed_before, not_completed):
        ids[person] = (await created(await enrol(platform, programme["id"], person)))["id"]
    completed_on = beijing_date() - timedelta(days=3)
    await place(
        platform, placed_before, beijing_date() - timedelta(days=8)
    )  # a job before training: not counted
    for person in (placed_after, placed_before):
        response = await platform.client.post(
            f"/v1/enrolments/{ids[person]}/complete",
            json={"completed_on": completed_on.isoformat()},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text
    await place(platform, not_completed, beijing_date())  # placed, but never completed: not counted
    placement = await place(platform, placed_after, beijing_date())
    assert await outcomes(platform, programme["id"]) == {
        "programme_id": programme["id"],
        "enrolled": 3,
        "completed": 2,
        "employed_after": 1,
        "employment_rate": 0.5,
    }
    # The same placement again (redelivered under a new event id) changes nothing.
    await place(platform, placed_after, beijing_date(), placement_id=placement)
    assert (await outcomes(platform, programme["id"]))["employed_after"] == 1
    employed = await platform.client.get(f"/v1/enrolments/{ids[placed_after]}", headers=ADMIN)
    assert employed.json()["employed_on"] == beijing_date().isoformat()

    # A later job for the one placed before training counts: every placement is kept, not only the first.
    await place(platform, placed_before, completed_on)
    assert (await outcomes(platform, programme["id"]))["employment_rate"] == 1.0

    # A placement known before the completion is recorded counts at completion.
    early = new_id()
    await register_persons(platform, (early, station, SHAANXI))
    other = await new_programme(platform, base["id"])
    enrolment = await created(await enrol(platform, other["id"], early))
    await place(platform, early, beijing_date())
    done = await platform.client.post(
        f"/v1/enrolments/{enrolment['id']}/complete",
        json={"completed_on": (beijing_date() - timedelta(days=1)).isoformat()},
        headers=ADMIN,
    )
    assert done.json()["employed_on"] == beijing_date().isoformat()
    assert await outcomes(platform, other["id"]) == {
        "programme_id": other["id"],
        "enrolled": 1,
        "completed": 1,
        "employed_after": 1,
        "employment_rate": 1.0,
    }


# --- read model of persons ----------------------------------------------------------------------------------


async def test_person_updates_move_scope_and_erasure_anonymises(platform: Platform) -> None:
    base = await new_base(platform)
    programme = await new_programme(platform, base["id"])
    person_id, first_station, second_station = new_id(), new_id(), new_id()
    await register_persons(platform, (person_id, first_station, SHAANXI))
    enrolment = await created(
        await enrol(platform, programme["id"], person_id, auth("station", station_id=first_station))
    )
    path = f"/v1/enrolments/{enrolment['id']}"
    first, second = auth("station", station_id=first_station), auth("station", station_id=second_station)

    await publish(platform, person_event(person_id, second_station, GUIZHOU, version=2, kind=PERSON_UPDATED))

    async def moved() -> bool:
        row = await person_row(platform, person_id)
        return row is not None and row.version == 2

    await eventually(moved, what="person moved to the second station")
    await publish(platform, person_event(person_id, first_station, SHAANXI, version=1, kind=PERSON_UPDATED))
    await register_persons(platform, (new_id(), first_station, SHAANXI))  # handled after the stale event
    assert (await person_row(platform, person_id)) is not None
    assert (await platform.client.get(path, headers=first)).status_code == 404
    assert (await platform.client.get(path, headers=second)).status_code == 200
    assert (await platform.client.get(path, headers=auth("partner", provinces=[GUIZHOU]))).status_code == 200

    done = await platform.client.post(f"{path}/complete", json={}, headers=ADMIN)
    assert done.status_code == 200
    await place(platform, person_id, beijing_date())
    before = await outcomes(platform, programme["id"])
    assert before["employed_after"] == 1
    waiting = await created(
        await enrol(platform, (await new_programme(platform, base["id"]))["id"], person_id)
    )

    erased = PersonErased(id=person_id, station_id=second_station, erased_at=utcnow())
    await publish(platform, new_event("demand", PERSON_ERASED, person_id, erased.model_dump(mode="json")))
    await known_to(platform, "training", ErasedPerson, person_id, what="person erased")
    assert await person_row(platform, person_id) is None
    async with platform.runtime("training").sessions() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Placement).where(Placement.person_id == person_id)
            )
            == 0
        )
        linked = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.person_id == person_id)
        )
    assert linked == 0
    assert await outcomes(platform, programme["id"]) == before  # counts survive, anonymous
    anonymous = await platform.client.get(path, headers=auth("training", base_id=base["id"]))
    assert anonymous.status_code == 200 and anonymous.json()["person_id"] is None
    assert (await platform.client.get(path, headers=second)).status_code == 404  # no longer anyone's worker
    refused = await platform.client.post(f"/v1/enrolments/{waiting['id']}/complete", json={}, headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/person-erased")

    # A late event cannot bring the person back.
    await publish(platform, person_event(person_id, second_station, GUIZHOU, version=9, kind=PERSON_UPDATED))
    marker = new_id()
    await register_persons(platform, (marker, second_station, GUIZHOU))  # processed after the late event
    assert await person_row(platform, person_id) is None
    late = await enrol(platform, programme["id"], person_id)
    assert late.status_code == 422 and problem_fields(late) == {"body.person_id"}


# --- scope matrix -------------------------------------------------------------------------------------------


@dataclass
class Caller:
    """What each caller should be able to do, stated as data (not derived from the service's rules)."""

    name: str
    headers: dict[str, str]
    catalogue: set[str] = field(default_factory=set)  # bases (and their programmes) it reads; empty = 403
    manages: set[str] = field(default_factory=set)  # bases it creates programmes for
    creates_in: set[str] = field(default_factory=set)  # provinces it may set up bases in
    enrols_for: set[str] = field(default_factory=set)  # its workers: person groups (by province)
    sees_base: set[str] = field(default_factory=set)  # enrolments seen by base
    completes: set[str] = field(default_factory=set)  # bases whose enrolments it completes
    may_create_programmes: bool = False
    may_create_bases: bool = False
    is_base: bool = False


async def test_scope_matrix(platform: Platform) -> None:
    """Ten callers × bases A (origin, Shaanxi) and B (Jiangsu) × workers of Shaanxi and Guizhou, on every
    endpoint: 270 cases per database backend (counted below, asserted at the end)."""
    client = platform.client
    station_61, station_52 = new_id(), new_id()
    bases = {
        "A": await new_base(platform, station_id=station_61),
        "B": await new_base(platform, name="无锡新区实训基地", kind="jiangsu", province_code=JIANGSU),
    }
    a, b = bases["A"]["id"], bases["B"]["id"]
    programmes = {key: await new_programme(platform, base["id"], capacity=500) for key, base in bases.items()}
    stations = {SHAANXI: station_61, GUIZHOU: station_52}
    both = {"A", "B"}
    callers = [
        Caller(
            "admin",
            ADMIN,
            both,
            both,
            {SHAANXI, GUIZHOU, JIANGSU},
            {SHAANXI, GUIZHOU},
            both,
            both,
            True,
            True,
        ),
        Caller(
            "partner-61",
            auth("partner", provinces=[SHAANXI]),
            both,
            {"A"},
            {SHAANXI},
            {SHAANXI},
            may_create_programmes=True,
            may_create_bases=True,
        ),
        Caller(
            "partner-52",
            auth("partner", provinces=[GUIZHOU]),
            both,
            set(),
            {GUIZHOU},
            {GUIZHOU},
            may_create_programmes=True,
            may_create_bases=True,
        ),
        Caller(
            "partner-32",
            auth("partner", provinces=[JIANGSU]),
            both,
            {"B"},
            {JIANGSU},
            set(),
            may_create_programmes=True,
            may_create_bases=True,
        ),
        Caller("station-61", auth("station", station_id=station_61), both, enrols_for={SHAANXI}),
        Caller("station-52", auth("station", station_id=station_52), both, enrols_for={GUIZHOU}),
        Caller(
            "base-A",
            auth("training", base_id=a),
            {"A"},
            {"A"},
            sees_base={"A"},
            completes={"A"},
            may_create_programmes=True,
            is_base=True,
        ),
        Caller(
            "base-B",
            auth("training", base_id=b),
            {"B"},
            {"B"},
            sees_base={"B"},
            completes={"B"},
            may_create_programmes=True,
            is_base=True,
        ),
        Caller("recruiter", auth("recruiter", employer_id=new_id())),
        Caller("public", PUBLIC),
    ]
    provinces = (SHAANXI, GUIZHOU)
    grid = [(caller, base_key, province) for caller in callers for base_key in both for province in provinces]

    # Workers: two for the read checks, one per enrolment case, one per completion case.
    fixture = {province: new_id() for province in provinces}
    enrol_people = {(c.name, k, p): new_id() for c, k, p in grid}
    complete_people = {(c.name, k, p): new_id() for c, k, p in grid}
    people = [(pid, stations[p], p) for p, pid in fixture.items()]
    for workers in (enrol_people, complete_people):
        people += [(pid, stations[province], province) for (_, _, province), pid in workers.items()]
    await register_persons(platform, *people)
    fixture_enrolments = {
        (key, province): (await created(await enrol(platform, programmes[key]["id"], person)))["id"]
        for key in sorted(both)
        for province, person in fixture.items()
    }
    complete_enrolments = {
        case: (await created(await enrol(platform, programmes[case[1]]["id"], person)))["id"]
        for case, person in complete_people.items()
    }

    cases: Counter[str] = Counter()
    mismatches: list[str] = []

    def check(endpoint: str, caller: Caller, what: str, response: httpx.Response, expected: int) -> None:
        cases[endpoint] += 1
        if response.status_code != expected:
            mismatches.append(
                f"{endpoint} {caller.name} {what}: {response.status_code} != {expected} {response.text[:160]}"
            )
        elif expected >= 400:
            problem_fields(response)

    def listing(
        endpoint: str, caller: Caller, response: httpx.Response, ids: set[str], expected: set[str]
    ) -> None:
        cases[endpoint] += 1
        if not caller.catalogue:
            if response.status_code != 403:
                mismatches.append(f"{endpoint} {caller.name}: {response.status_code} != 403")
            return
        got = {item["id"] for item in response.json()["items"]} & ids
        if response.status_code != 200 or got != expected:
            mismatches.append(
                f"{endpoint} {caller.name}: {response.status_code} {sorted(got)} != {sorted(expected)}"
            )

    for caller in callers:
        h = caller.headers
        readable = caller.catalogue
        forbidden = not readable
        # bases: create in each province, read each, list
        for province in (SHAANXI, GUIZHOU, JIANGSU):
            kind = "jiangsu" if province == JIANGSU else "origin"
            response = await client.post(
                "/v1/training-bases", json=base_body(kind=kind, province_code=province), headers=h
            )
            expected = 201 if caller.may_create_bases and province in caller.creates_in else 403
            check("POST /training-bases", caller, province, response, expected)
        for key, base in bases.items():
            response = await client.get(f"/v1/training-bases/{base['id']}", headers=h)
            check(
                "GET /training-bases/{id}",
                caller,
                key,
                response,
                403 if forbidden else 200 if key in readable else 404,
            )
        response = await client.get("/v1/training-bases", params={"limit": 200}, headers=h)
        listing("GET /training-bases", caller, response, {a, b}, {bases[k]["id"] for k in readable})

        # programmes: create for each base, read each, list (also filtered by the other base), outcomes
        for key, base in bases.items():
            response = await client.post("/v1/programmes", json=programme_body(base["id"]), headers=h)
            expected = (201 if key in caller.manages else 404) if caller.may_create_programmes else 403
            check("POST /programmes", caller, key, response, expected)
            if expected == 404 and problem_fields(response) != {"body.base_id"}:
                mismatches.append(f"POST /programmes {caller.name} {key}: 404 without body.base_id")
        for key, programme in programmes.items():
            expected = 403 if forbidden else 200 if key in readable else 404
            response = await client.get(f"/v1/programmes/{programme['id']}", headers=h)
            check("GET /programmes/{id}", caller, key, response, expected)
            response = await client.get(f"/v1/programmes/{programme['id']}/outcomes", headers=h)
            check("GET /programmes/{id}/outcomes", caller, key, response, expected)
        programme_ids = {programmes[k]["id"] for k in both}
        response = await client.get("/v1/programmes", params={"limit": 200}, headers=h)
        listing("GET /programmes", caller, response, programme_ids, {programmes[k]["id"] for k in readable})
        response = await client.get("/v1/programmes", params={"base_id": b, "limit": 200}, headers=h)
        listing(
            "GET /programmes?base_id=B",
            caller,
            response,
            programme_ids,
            {programmes["B"]["id"]} & {programmes[k]["id"] for k in readable},
        )

        # enrolments: enrol a worker of each province into each programme
        for key in sorted(both):
            for province in provinces:
                person = enrol_people[(caller.name, key, province)]
                response = await enrol(platform, programmes[key]["id"], person, h)
                if forbidden:
                    expected = 403
                elif key not in readable:
                    expected = 404
                else:
                    expected = 201 if caller.is_base or province in caller.enrols_for else 422
                check("POST /programmes/{id}/enrolments", caller, f"{key}/{province}", response, expected)
                if expected == 422 and problem_fields(response) != {"body.person_id"}:
                    mismatches.append(f"enrol {caller.name} {key}/{province}: 422 without body.person_id")

        # read each fixture enrolment, list them, complete one per base and province
        def visible(key: str, province: str, caller: Caller = caller) -> bool:
            return key in caller.sees_base or province in caller.enrols_for

        for (key, province), enrolment_id in fixture_enrolments.items():
            response = await client.get(f"/v1/enrolments/{enrolment_id}", headers=h)
            expected = 403 if forbidden else 200 if visible(key, province) else 404
            check("GET /enrolments/{id}", caller, f"{key}/{province}", response, expected)
        response = await client.get("/v1/enrolments", params={"limit": 200}, headers=h)
        expected_ids = {eid for (k, p), eid in fixture_enrolments.items() if visible(k, p)}
        listing("GET /enrolments", caller, response, set(fixture_enrolments.values()), expected_ids)
        for key in sorted(both):
            for province in provinces:
                enrolment_id = complete_enrolments[(caller.name, key, province)]
                response = await client.post(f"/v1/enrolments/{enrolment_id}/complete", json={}, headers=h)
                if forbidden:
                    expected = 403
                elif not visible(key, province):
                    expected = 404
                else:
                    expected = 200 if key in caller.completes else 403
                check("POST /enrolments/{id}/complete", caller, f"{key}/{province}", response, expected)

    assert not mismatches, "\n".join(mismatches)
    assert dict(cases) == {
        "POST /training-bases": 30,
        "GET /training-bases/{id}": 20,
        "GET /training-bases": 10,
        "POST /programmes": 20,
        "GET /programmes/{id}": 20,
        "GET /programmes/{id}/outcomes": 20,
        "GET /programmes": 10,
        "GET /programmes?base_id=B": 10,
        "POST /programmes/{id}/enrolments": 40,
        "GET /enrolments/{id}": 40,
        "GET /enrolments": 10,
        "POST /enrolments/{id}/complete": 40,
    }
    assert sum(cases.values()) == 270

    # Refused writes left nothing behind: seats match enrolments, one event per successful completion.
    async with platform.runtime("training").sessions() as session:
        for programme in programmes.values():
            row = await session.get(Programme, programme["id"])
            count = await session.scalar(
                select(func.count()).select_from(Enrolment).where(Enrolment.programme_id == programme["id"])
            )
            assert row is not None and row.seats_taken == count
        completed = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.status == "completed")
        )
        enrolments = await session.scalar(select(func.count()).select_from(Enrolment))
        events = await session.scalar(select(func.count()).select_from(training_tables.outbox))
    assert completed == 4 + 2 + 2  # admin: all four; each base: its own two
    assert events == (enrolments or 0) + completed  # one per enrolment and per successful completion
