"""Workers on the demand side: registration with personal data protected, scope, status and early warnings,
erasure; stations reach demand through their events."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from libs.events.contracts import PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import new_event
from services.demand.models import Person, Station
from tests.factories import person_body, station_body
from tests.harness import ADMIN, Platform, auth, eventually, known_to
from tests.integration.test_training import problem_fields

pytestmark = pytest.mark.services("stations", "demand")


async def new_station(platform: Platform, province_code: str = "61", **overrides: Any) -> str:
    """Created in the stations service; returned once demand has it from the event."""
    response = await platform.client.post(
        "/v1/stations", json=station_body(province_code, **overrides), headers=ADMIN
    )
    assert response.status_code == 201, response.text
    station_id = str(response.json()["id"])
    await known_to(platform, "demand", Station, station_id, what="demand learns the station")
    return station_id


def station_token(station_id: str) -> dict[str, str]:
    return auth("station", station_id=station_id)


async def register(platform: Platform, station_id: str, serial: int, **overrides: Any) -> dict[str, Any]:
    response = await platform.client.post(
        "/v1/persons", json=person_body(station_id, serial, **overrides), headers=station_token(station_id)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_registration_masks_and_derives(platform: Platform) -> None:
    station_id = await new_station(platform)
    body = person_body(station_id, 7)
    response = await platform.client.post("/v1/persons", json=body, headers=station_token(station_id))
    assert response.status_code == 201, response.text
    person = response.json()
    number = body["id_number"]
    assert person["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert person["phone_masked"] == body["phone"][:3] + "****" + body["phone"][-4:]
    assert person["birth_date"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    assert person["gender"] == ("male" if int(number[16]) % 2 else "female")
    assert person["province_code"] == "61" and person["status"] == "seeking"
    text = response.text
    assert number not in text and body["phone"] not in text
    # at rest: ciphertexts and keyed hashes only
    async with platform.runtime("demand").sessions() as session:
        row = (await session.scalars(select(Person).where(Person.id == person["id"]))).one()
    stored = " ".join(str(value) for value in vars(row).values())
    assert number not in stored and body["phone"] not in stored and body["name"] not in stored


async def test_second_registration_of_an_id_number_is_409_naming_the_worker(platform: Platform) -> None:
    station_id = await new_station(platform)
    first = await register(platform, station_id, 1)
    again = person_body(station_id, 2, id_number=person_body(station_id, 1)["id_number"])
    response = await platform.client.post("/v1/persons", json=again, headers=station_token(station_id))
    assert response.status_code == 409
    assert response.json()["existing_person_id"] == first["id"]
    assert response.json()["errors"][0]["field"] == "body.id_number"
    other_station = await new_station(platform, "52")
    elsewhere = person_body(other_station, 3, id_number=again["id_number"])
    response = await platform.client.post("/v1/persons", json=elsewhere, headers=station_token(other_station))
    assert response.status_code == 409 and "existing_person_id" not in response.json()  # not theirs to see


async def test_bad_personal_data_is_refused_field_by_field(platform: Platform) -> None:
    station_id = await new_station(platform)
    token = station_token(station_id)
    body = person_body(station_id, 1)
    cases = {
        "body.id_number": {
            "id_number": body["id_number"][:-1] + ("0" if body["id_number"][-1] != "0" else "1")
        },
        "body.phone": {"phone": "12345"},
        "body.consent": {"consent": None},
        "body.categories.0": {"categories": ["rich"]},
        "body.intention.city_codes": {"intention": {"city_codes": ["1101"]}},
    }
    for field, change in cases.items():
        response = await platform.client.post("/v1/persons", json={**body, **change}, headers=token)
        assert response.status_code == 422, (field, response.text)
        fields = [error["field"] for error in response.json()["errors"]]
        assert field in fields, (field, fields)
    missing_consent = {key: value for key, value in body.items() if key != "consent"}
    response = await platform.client.post("/v1/persons", json=missing_consent, headers=token)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.consent"
    listed = await platform.client.get("/v1/persons", headers=ADMIN)
    assert listed.json()["items"] == []


async def test_scope_station_partner_admin(platform: Platform) -> None:
    shaanxi = await new_station(platform, "61")
    guizhou = await new_station(platform, "52")
    worker = await register(platform, shaanxi, 1)
    await register(platform, guizhou, 2)
    path = f"/v1/persons/{worker['id']}"
    allowed = [station_token(shaanxi), auth("partner", provinces=["61"]), ADMIN]
    refused = [station_token(guizhou), auth("partner", provinces=["52"])]
    for headers in allowed:
        assert (await platform.client.get(path, headers=headers)).status_code == 200
    for headers in refused:
        assert (await platform.client.get(path, headers=headers)).status_code == 404
        assert (await platform.client.patch(path, json={"skills": []}, headers=headers)).status_code == 404
        status = {"status": "employed", "since": "2026-11-01"}
        assert (await platform.client.post(f"{path}/status", json=status, headers=headers)).status_code == 404
        assert (await platform.client.delete(path, headers=headers)).status_code == 404
    for headers in (auth("recruiter", employer_id="e1"), auth("public")):
        assert (await platform.client.get(path, headers=headers)).status_code in (403, 404)
    listed = await platform.client.get("/v1/persons", headers=auth("partner", provinces=["52"]))
    assert worker["id"] not in [item["id"] for item in listed.json()["items"]]
    assert len((await platform.client.get("/v1/persons", headers=ADMIN)).json()["items"]) == 2
    # a station cannot register for another station
    response = await platform.client.post(
        "/v1/persons", json=person_body(shaanxi, 9), headers=station_token(guizhou)
    )
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "body.station_id"


async def test_employed_to_unemployed_warns_the_station_through_nats(platform: Platform) -> None:
    station_id = await new_station(platform)
    worker = await register(platform, station_id, 4)
    token = station_token(station_id)
    path = f"/v1/persons/{worker['id']}/status"
    assert (
        await platform.client.post(path, json={"status": "employed", "since": "2026-10-01"}, headers=token)
    ).status_code == 201
    warnings = await platform.client.get(f"/v1/warnings?station_id={station_id}", headers=token)
    assert warnings.json()["items"] == []
    response = await platform.client.post(
        path, json={"status": "unemployed", "since": "2026-11-20"}, headers=token
    )
    assert response.status_code == 201
    warnings = (await platform.client.get(f"/v1/warnings?station_id={station_id}", headers=token)).json()[
        "items"
    ]
    assert [(w["person_id"], w["kind"]) for w in warnings] == [(worker["id"], "employed_to_unemployed")]
    other = await new_station(platform, "52")
    assert (await platform.client.get("/v1/warnings", headers=station_token(other))).json()["items"] == []
    history = (await platform.client.get(path, headers=token)).json()
    assert [row["status"] for row in history] == ["seeking", "employed", "unemployed"]

    js = platform.runtime("demand").bus.js

    async def published() -> bool:
        try:
            message = await js.get_last_msg("EW", "ew.demand.warning.raised")
        except Exception:
            return False
        return json.loads(message.data)["data"]["person_id"] == worker["id"]

    await eventually(published, what="warning.raised in the stream")
    changed = json.loads((await js.get_last_msg("EW", "ew.demand.person.status_changed")).data)
    assert changed["data"]["status"] == "unemployed" and changed["data"]["id"] == worker["id"]
    assert "name" not in changed["data"] and "id_number" not in json.dumps(changed)


async def test_erasure_removes_personal_data_and_tells_others(platform: Platform) -> None:
    station_id = await new_station(platform)
    body = person_body(station_id, 5)
    worker = await register(platform, station_id, 5)
    path = f"/v1/persons/{worker['id']}"
    assert (await platform.client.delete(path, headers=station_token(station_id))).status_code == 204
    assert (await platform.client.get(path, headers=ADMIN)).status_code == 404
    async with platform.runtime("demand").sessions() as session:
        row = await session.get(Person, worker["id"])
    assert row is not None and row.erased_at is not None
    assert row.name_encrypted is None and row.id_number_hash is None and row.phone_encrypted is None
    assert row.gender in ("male", "female") and row.birth_year > 1900  # statistics stay
    # the same person may register again later
    again = await platform.client.post("/v1/persons", json=body, headers=station_token(station_id))
    assert again.status_code == 201
    js = platform.runtime("demand").bus.js

    async def announced() -> bool:
        try:
            message = await js.get_last_msg("EW", "ew.demand.person.erased")
        except Exception:
            return False
        return json.loads(message.data)["data"]["id"] == worker["id"]

    await eventually(announced, what="person.erased in the stream")


async def test_where_and_how_a_worker_is_employed(platform: Platform) -> None:
    """A station records self-found work with where and how; unemployment clears it; a placement sets `placed`
    in the job's Jiangsu city; the event carries it (anonymous) for the monitoring figures."""
    station_id = await new_station(platform)
    worker = await register(platform, station_id, 5)
    token = station_token(station_id)
    path = f"/v1/persons/{worker['id']}/status"
    near_home = {"how": "self_found", "where": "home_county", "region_code": "610125"}
    recorded = await platform.client.post(
        path, json={"status": "employed", "since": "2026-10-01", "employment": near_home}, headers=token
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["employment"] == near_home
    person = (await platform.client.get(f"/v1/persons/{worker['id']}", headers=token)).json()
    assert person["employment"] == near_home
    silent = await platform.client.post(
        path, json={"status": "employed", "since": "2026-10-02"}, headers=token
    )
    assert silent.json()["employment"] == {"how": "self_found", "where": None, "region_code": None}

    bad = [
        ({"status": "seeking", "since": "2026-10-03", "employment": near_home}, "body.employment"),
        (
            {"status": "employed", "since": "2026-10-03", "employment": {**near_home, "where": "jiangsu"}},
            "body.employment.region_code",
        ),
        (
            {"status": "employed", "since": "2026-10-03", "employment": {"how": "moonlighting"}},
            "body.employment.how",
        ),
    ]
    for body, field in bad:
        refused = await platform.client.post(path, json=body, headers=token)
        assert refused.status_code == 422 and field in problem_fields(refused), (field, refused.text)

    left = await platform.client.post(
        path, json={"status": "unemployed", "since": "2026-11-20"}, headers=token
    )
    assert left.json()["employment"] is None
    history = (await platform.client.get(path, headers=token)).json()
    assert [row["employment"] and row["employment"]["how"] for row in history] == [
        None, "self_found", "self_found", None,
    ]  # fmt: skip

    placement = PlacementConfirmed(
        placement_id=str(uuid.uuid4()), person_id=worker["id"], job_id=str(uuid.uuid4()),
        start_date=date(2026, 11, 25), city_code="3205",
    )  # fmt: skip
    event = new_event(
        "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
    )
    await platform.runtime("demand").bus.js.publish(
        event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
    )

    async def placed() -> bool:
        now = (await platform.client.get(f"/v1/persons/{worker['id']}", headers=token)).json()
        return bool(now["employment"] == {"how": "placed", "where": "jiangsu", "region_code": "3205"})

    await eventually(placed, what="the placement's employment on the worker")
    js = platform.runtime("demand").bus.js

    async def announced() -> bool:  # the relay publishes a moment after the commit
        changed = json.loads((await js.get_last_msg("EW", "ew.demand.person.status_changed")).data)
        return bool(
            changed["data"]["employment"] == {"how": "placed", "where": "jiangsu", "region_code": "3205"}
        )

    await eventually(announced, what="person.status_changed carrying the placement's employment")


async def test_work_history_stays_with_the_station_but_its_words_reach_matching(platform: Platform) -> None:
    """The employer's name is for the station; the event carries the workplace kind, the dates and the words."""
    station_id = await new_station(platform)
    spell = {
        "employer": "昆山某某电子有限公司",
        "workplace_kind": "电子厂",
        "occupation_code": "6-25-04-07",
        "started": "2019-03-01",
        "ended": "2023-06-30",
        "duties": "SMT 贴片线操作工，换料、首件检验\n后两年做线长，带 12 人",
    }
    worker = await register(
        platform,
        station_id,
        31,
        work_history=[spell],
        speciality="会开叉车\n能看电路图",
        past_training="电工培训",
    )
    assert worker["work_history"] == [spell]
    assert (worker["speciality"], worker["past_training"]) == ("会开叉车\n能看电路图", "电工培训")
    js = platform.runtime("demand").bus.js

    event: dict[str, Any] = {}

    async def registered() -> bool:
        try:
            message = await js.get_last_msg("EW", "ew.demand.person.registered")
        except Exception:
            return False
        event.update(json.loads(message.data)["data"])
        return event["id"] == worker["id"]

    await eventually(registered, what="person.registered in the stream")
    assert event["work_history"] == [{key: value for key, value in spell.items() if key != "employer"}]
    assert "昆山某某" not in json.dumps(event, ensure_ascii=False)
    # the dates are checked against each other, the occupation against the 大典, each on its own field
    path = f"/v1/persons/{worker['id']}"
    headers = station_token(station_id)
    bad = [{**spell, "started": "2024-01-01", "occupation_code": "9-99-99-99"}]
    response = await platform.client.patch(path, json={"work_history": bad}, headers=headers)
    assert response.status_code == 422
    assert problem_fields(response) >= {"body.work_history.0.ended", "body.work_history.0.occupation_code"}
    response = await platform.client.patch(path, json={"work_history": []}, headers=headers)
    assert response.status_code == 200 and response.json()["work_history"] == []
    # erasure takes the history with the name
    assert (await platform.client.delete(path, headers=headers)).status_code == 204
    async with platform.runtime("demand").sessions() as session:
        row = await session.get(Person, worker["id"])
    assert row is not None and row.work_history == [] and row.speciality is None
