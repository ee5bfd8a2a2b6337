"""The employer-risk signal: follow-up visits that found wage arrears, no contract or unpaid insurance count
against the employer in supply; admins see it; two wage-arrears reports hold the employer's new postings
until an admin has reviewed them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from libs.db import beijing_date
from libs.events.contracts import PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import new_event
from tests.factories import job_body
from tests.harness import ADMIN, Platform, auth, eventually
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_event_backbone import new_employer
from tests.integration.test_follow_ups import visits

pytestmark = pytest.mark.services("stations", "demand", "supply")


async def placed_and_visited(
    platform: Platform, station: str, serial: int, employer_id: str, **found: Any
) -> None:
    worker = await register(platform, station, serial)
    placement = PlacementConfirmed(
        placement_id=str(uuid.uuid4()), person_id=worker["id"], job_id=str(uuid.uuid4()),
        start_date=beijing_date() - timedelta(days=40), employer_id=employer_id, city_code="3205",
    )  # fmt: skip
    event = new_event(
        "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
    )
    js = platform.runtime("demand").bus.js
    await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
    token = station_token(station)

    async def scheduled() -> list[dict[str, Any]]:
        return [v for v in await visits(platform, token, state="overdue") if v["person_id"] == worker["id"]]

    await eventually(lambda: _nonempty(scheduled()), what="the visit is due")
    (visit,) = await scheduled()
    body = {"visited_on": str(beijing_date()), "still_employed": True, **found}
    response = await platform.client.post(f"/v1/follow-ups/{visit['id']}", json=body, headers=token)
    assert response.status_code == 200, response.text


async def _nonempty(items: Any) -> bool:
    return bool(await items)


async def risk_of(platform: Platform, employer_id: str, headers: dict[str, str]) -> Any:
    response = await platform.client.get(f"/v1/employers/{employer_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["risk"]


async def test_visits_count_against_the_employer_and_hold_its_postings(platform: Platform) -> None:
    station = await new_station(platform, "61")
    employer = await new_employer(platform)
    await placed_and_visited(platform, station, 61, employer, wages_on_time=False, contract_signed=False)
    await placed_and_visited(platform, station, 62, employer, wages_on_time=True, contract_signed=True)

    async def reported() -> bool:
        risk = await risk_of(platform, employer, ADMIN)
        return bool(risk["no_contract"] == 1)

    await eventually(reported, what="supply hears of the first visit")
    assert (await risk_of(platform, employer, ADMIN))["wage_arrears"] == 1
    assert await risk_of(platform, employer, auth("recruiter", employer_id=employer)) is None

    one_report = await platform.client.post("/v1/jobs", json=job_body(employer), headers=ADMIN)
    assert one_report.json()["status"] == "published"

    await placed_and_visited(platform, station, 63, employer, wages_on_time=False, insurance_paid=False)

    async def two() -> bool:
        return bool((await risk_of(platform, employer, ADMIN))["wage_arrears"] == 2)

    await eventually(two, what="supply hears of the second visit")
    held = await platform.client.post("/v1/jobs", json=job_body(employer), headers=ADMIN)
    assert held.status_code == 201
    assert held.json()["status"] == "flagged"
    assert [issue["code"] for issue in held.json()["compliance"]] == ["employer.wage_arrears"]

    refused = await platform.client.post(
        f"/v1/employers/{employer}/risk-review", headers=auth("recruiter", employer_id=employer)
    )
    assert refused.status_code == 403
    reviewed = await platform.client.post(f"/v1/employers/{employer}/risk-review", headers=ADMIN)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["risk"]["wage_arrears"] == 0
    assert reviewed.json()["risk"]["reviewed_on"] == str(beijing_date())
    resubmitted = await platform.client.patch(
        f"/v1/jobs/{held.json()['id']}", json={"title": "电子产品装配工（长白班）"}, headers=ADMIN
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["status"] == "published"
    missing = await platform.client.post(f"/v1/employers/{uuid.uuid4()}/risk-review", headers=ADMIN)
    assert missing.status_code == 404
