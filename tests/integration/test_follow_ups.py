"""Follow-up visits (回访): a placement schedules them, the station sees what is due and overdue and records each
visit, and what a visit finds has its consequences (back to seeking, warnings, the employer-risk event)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from libs.db import beijing_date, months_after
from libs.events.contracts import FOLLOW_UP_RECORDED, PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import new_event
from tests.harness import Platform, eventually
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_training import problem_fields

pytestmark = pytest.mark.services("stations", "demand")


async def place(platform: Platform, person_id: str, placement_id: str, days_ago: int) -> PlacementConfirmed:
    placement = PlacementConfirmed(
        placement_id=placement_id, person_id=person_id, job_id=str(uuid.uuid4()),
        start_date=beijing_date() - timedelta(days=days_ago), employer_id="employer-1", city_code="3205",
    )  # fmt: skip
    event = new_event("matching", PLACEMENT_CONFIRMED, placement_id, placement.model_dump(mode="json"))
    js = platform.runtime("demand").bus.js
    await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
    return placement


async def visits(platform: Platform, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await platform.client.get("/v1/follow-ups", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def warning_kinds(platform: Platform, headers: dict[str, str], station_id: str) -> list[str]:
    items = (await platform.client.get(f"/v1/warnings?station_id={station_id}", headers=headers)).json()[
        "items"
    ]
    return sorted(w["kind"] for w in items)


async def test_a_placement_is_followed_up_and_what_a_visit_finds_follows(platform: Platform) -> None:
    station_id = await new_station(platform)
    token = station_token(station_id)
    worker = await register(platform, station_id, 1)
    placement = await place(platform, worker["id"], str(uuid.uuid4()), days_ago=40)

    async def scheduled() -> bool:
        return len(await visits(platform, token)) == 4

    await eventually(scheduled, what="four visits scheduled")
    listed = await visits(platform, token)
    assert [v["months"] for v in listed] == [1, 3, 6, 12]
    assert [v["due_on"] for v in listed] == [
        months_after(placement.start_date, m).isoformat() for m in (1, 3, 6, 12)
    ]
    assert [v["state"] for v in listed] == ["overdue", "due", "due", "due"]
    assert [v["months"] for v in await visits(platform, token, state="overdue")] == [1]
    first, second = listed[0], listed[1]

    # the same placement again (a redelivery with a new event id) schedules nothing more
    await place(platform, worker["id"], placement.placement_id, days_ago=40)
    await eventually(lambda: _person_employed(platform, worker["id"], token), what="the worker employed")
    assert len(await visits(platform, token)) == 4

    # another station sees none of it
    other = station_token(await new_station(platform, "52"))
    assert await visits(platform, other) == []
    outsider = await platform.client.post(
        f"/v1/follow-ups/{first['id']}",
        json={"visited_on": str(beijing_date()), "still_employed": True},
        headers=other,
    )
    assert outsider.status_code == 404

    # bad input names its field and records nothing
    tomorrow = str(beijing_date() + timedelta(days=1))
    for body, field in (
        ({"visited_on": tomorrow, "still_employed": True}, "body.visited_on"),
        ({"visited_on": str(beijing_date())}, "body.still_employed"),
        ({"visited_on": str(beijing_date()), "still_employed": True, "problem": "x" * 1001}, "body.problem"),
    ):
        refused = await platform.client.post(f"/v1/follow-ups/{first['id']}", json=body, headers=token)
        assert refused.status_code == 422 and field in problem_fields(refused), (field, refused.text)

    # month 1: still there, but no contract and wages late
    visit = {
        "visited_on": str(beijing_date()), "still_employed": True, "contract_signed": False,
        "insurance_paid": True, "wages_on_time": False, "problem": "11 月工资推迟两周发放\n未签合同",
    }  # fmt: skip
    recorded = await platform.client.post(f"/v1/follow-ups/{first['id']}", json=visit, headers=token)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["state"] == "done" and recorded.json()["problem"] == visit["problem"]
    again = await platform.client.post(f"/v1/follow-ups/{first['id']}", json=visit, headers=token)
    assert again.status_code == 409
    assert await warning_kinds(platform, token, station_id) == ["no_contract", "wage_arrears"]

    # month 3: the worker has left; back to seeking, a warning, the rest of the visits cancelled
    left = {"visited_on": str(beijing_date()), "still_employed": False, "problem": "回老家照顾老人"}
    recorded = await platform.client.post(f"/v1/follow-ups/{second['id']}", json=left, headers=token)
    assert recorded.status_code == 200, recorded.text
    person = (await platform.client.get(f"/v1/persons/{worker['id']}", headers=token)).json()
    assert person["status"] == "seeking" and person["employment"] is None
    assert await warning_kinds(platform, token, station_id) == ["left_job", "no_contract", "wage_arrears"]
    assert [v["state"] for v in await visits(platform, token)] == ["done", "done", "cancelled", "cancelled"]

    js = platform.runtime("demand").bus.js

    async def published() -> bool:
        try:
            message = await js.get_last_msg("EW", FOLLOW_UP_RECORDED)
        except Exception:
            return False
        return bool(json.loads(message.data)["data"]["id"] == second["id"])

    await eventually(published, what="follow_up.recorded on the stream")
    data = json.loads((await js.get_last_msg("EW", FOLLOW_UP_RECORDED)).data)["data"]
    assert data["still_employed"] is False and data["employer_id"] == "employer-1"
    assert "problem" not in data and "回老家" not in json.dumps(data, ensure_ascii=False)


async def _person_employed(platform: Platform, person_id: str, token: dict[str, str]) -> bool:
    person = (await platform.client.get(f"/v1/persons/{person_id}", headers=token)).json()
    return bool(person["status"] == "employed")
