"""A clerk registers a worker and acts for them at once in another service: never told they do not exist.

Each service knows demand's workers from `person.*` events, a moment after demand commits. Bus, matching and
training wait briefly for a worker they have not seen; a consistency token names the exact events to wait for;
past the bound the answer is 409 `not-yet-synchronised` with Retry-After, and 404 stays for ids that really are
unknown."""

from __future__ import annotations

import uuid

import pytest

from libs.api.consistency import TOKEN_HEADER
from libs.events.contracts import PERSON_REGISTERED
from services.bus.consumers import bus_consumers
from tests.factories import person_body
from tests.harness import Platform, auth
from tests.integration.test_bus import bus_knows_station, new_trip
from tests.integration.test_demand import new_station
from tests.integration.test_matching import new_employer, new_job
from tests.integration.test_training import new_base, new_programme

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching", "training", "bus")

TRIES = 3


async def register(platform: Platform, station_id: str, serial: int) -> tuple[str, str]:
    """A worker registered by their station: their id and the answer's consistency token."""
    response = await platform.client.post(
        "/v1/persons", json=person_body(station_id, serial), headers=auth("station", station_id=station_id)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), response.headers[TOKEN_HEADER]


async def test_register_then_book_apply_and_enrol_at_once(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    await bus_knows_station(platform, station_id)
    trip = await new_trip(platform, station_id)
    job_id = await new_job(platform, await new_employer(platform))
    base = await new_base(platform, station_id=station_id)
    programme = await new_programme(platform, base["id"], capacity=10, order=None)
    for serial in range(TRIES):  # no wait of any kind between the registration and the next request
        person_id, _ = await register(platform, station_id, 900 + serial)
        booked = await platform.client.post(
            f"/v1/trips/{trip['id']}/bookings", json={"person_id": person_id}, headers=station
        )
        assert booked.status_code in (201, 202), booked.text
        person_id, _ = await register(platform, station_id, 910 + serial)
        applied = await platform.client.post(
            "/v1/applications",
            json={"person_id": person_id, "job_id": job_id, "channel": "station"},
            headers=station,
        )
        assert applied.status_code == 201, applied.text
        person_id, _ = await register(platform, station_id, 920 + serial)
        enrolled = await platform.client.post(
            f"/v1/programmes/{programme['id']}/enrolments", json={"person_id": person_id}, headers=station
        )
        assert enrolled.status_code == 201, enrolled.text


async def test_an_unknown_worker_is_still_not_found(platform: Platform) -> None:
    station_id = await new_station(platform)
    await bus_knows_station(platform, station_id)
    trip = await new_trip(platform, station_id)
    answer = await platform.client.post(
        f"/v1/trips/{trip['id']}/bookings",
        json={"person_id": str(uuid.uuid4())},
        headers=auth("station", station_id=station_id),
    )
    assert answer.status_code == 404
    assert [error["field"] for error in answer.json()["errors"]] == ["body.person_id"]


async def test_the_token_names_the_events_and_a_service_behind_answers_409(platform: Platform) -> None:
    station_id = await new_station(platform)
    station = auth("station", station_id=station_id)
    await bus_knows_station(platform, station_id)
    trip = await new_trip(platform, station_id)
    await platform.stop_task("consumer-bus-persons")  # bus stops hearing of workers
    person_id, token = await register(platform, station_id, 950)
    subject, _, event_id = token.partition("@")
    assert subject == PERSON_REGISTERED and uuid.UUID(event_id)
    assert person_id not in token  # names an event, not the person

    for headers in (station, {**station, TOKEN_HEADER: token}):
        behind = await platform.client.post(
            f"/v1/trips/{trip['id']}/bookings", json={"person_id": person_id}, headers=headers
        )
        assert behind.status_code == 409, behind.text
        assert behind.json()["type"].endswith("not-yet-synchronised")
        assert behind.headers["retry-after"] == "1"
    # a token another service wrote is ignored where its events are not followed (supply follows no person)
    listed = await platform.client.get("/v1/jobs", headers={**station, TOKEN_HEADER: token})
    assert listed.status_code != 409
    malformed = await platform.client.get(
        f"/v1/trips/{trip['id']}", headers={**station, TOKEN_HEADER: "person:" + person_id}
    )
    assert malformed.status_code == 400
    assert [error["field"] for error in malformed.json()["errors"]] == [f"header.{TOKEN_HEADER}"]

    runtime = platform.runtime("bus")
    (persons,) = [c for c in bus_consumers(runtime) if c.name == "bus-persons"]
    runtime.consumers = [c if c.name != "bus-persons" else persons for c in runtime.consumers]
    platform.start_task("bus", "consumer-bus-persons", persons.run())
    booked = await platform.client.post(
        f"/v1/trips/{trip['id']}/bookings",
        json={"person_id": person_id},
        headers={**station, TOKEN_HEADER: token},
    )
    assert booked.status_code in (201, 202), booked.text
