"""Service text messages end to end, through the real services and the local sink: an eligibility found by
policy queues a message in demand; quiet hours defer it to 08:00; it is sent with the phone masked in the sink,
its receipt recorded, and the station sees it arrived; a reply of TD stops everything after it; the daily cap
holds back all but urgent messages; each station sees only its own workers' messages.

The sender runs here at chosen instants (`deliver(..., now)`) rather than on its timer, so that 22:30 and
08:05 Beijing time happen whenever the test runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from eastwest.embedded import NatsServer
from libs.db import BEIJING, beijing_date, months_after
from libs.pii import PiiVault
from services.demand.notices import service
from services.demand.notices.providers import LocalSink
from services.policy.schemas import PolicyItem
from tests.factories import phone
from tests.harness import ADMIN, DatabaseFactory, Platform, auth, eventually, make_settings, running_platform
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_http_contract import assert_problem
from tests.integration.test_matching import new_employer, new_job

SERVICES = ("stations", "demand", "supply", "matching", "policy")
SERIAL = 501


@pytest.fixture
async def platform(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The sender's timer is an hour (the test drives it); policy's sweep looks every 0.3 s."""
    settings = await make_settings(
        databases, nats_server.url, tmp_path, SERVICES, policy_sweep_seconds=0.3, sms_send_every_seconds=3600
    )
    async with running_platform(settings, SERVICES) as running:
        yield running


def next_beijing(hour: int, minute: int, after: datetime | None = None) -> datetime:
    """The first hour:minute Beijing time after `after` (now): messages queued now are due by then."""
    after = after or datetime.now(UTC)
    day = after.astimezone(BEIJING).date()
    moment = datetime.combine(day, time(hour, minute), BEIJING)
    return (moment if moment > after else moment + timedelta(days=1)).astimezone(UTC)


class Sender:
    """Demand's sender, driven by hand."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        app = platform.gateway.services["demand"]
        self.sink: LocalSink = app.state.sms
        self.vault: PiiVault = app.state.vault
        self.sessions = platform.runtime("demand").sessions

    async def send(self, now: datetime) -> None:
        await service.deliver(self.sessions, self.sink, self.vault, self.platform.settings, now)

    async def receipts(self, now: datetime) -> int:
        return await service.record_receipts(self.sessions, self.sink, self.vault, now)

    async def replies(self) -> int:
        return await service.record_replies(self.sessions, self.sink, self.vault)

    def sent_lines(self) -> list[dict[str, Any]]:
        if not self.sink.sent_file.exists():
            return []
        return [json.loads(line) for line in self.sink.sent_file.read_text(encoding="utf-8").splitlines()]


async def notices(platform: Platform, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await platform.client.get("/v1/notices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def offer(platform: Platform, worker: dict[str, Any], employer: str, **job: Any) -> None:
    job_id = await new_job(platform, employer, **job)
    token = station_token(worker["station_id"])
    application = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker["id"], "job_id": job_id, "channel": "station"},
        headers=token,
    )
    assert application.status_code == 201, application.text
    offered = await platform.client.post(
        f"/v1/applications/{application.json()['id']}/offer", headers=auth("recruiter", employer_id=employer)
    )
    assert offered.status_code == 200, offered.text


async def hire(platform: Platform, worker: dict[str, Any], employer: str, start: date) -> None:
    """Through matching's pipeline: applied, offered, accepted, placed from `start`."""
    token, recruiter = station_token(worker["station_id"]), auth("recruiter", employer_id=employer)
    job = await new_job(platform, employer)
    application = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker["id"], "job_id": job, "channel": "station"},
        headers=token,
    )
    path = f"/v1/applications/{application.json()['id']}"
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
    assert (await platform.client.post(f"{path}/accept", headers=token)).status_code == 200
    placed = await platform.client.post(
        f"{path}/place", json={"start_date": start.isoformat(), "needs_transport": False}, headers=recruiter
    )
    assert placed.status_code == 200, placed.text


async def test_an_eligibility_is_told_after_quiet_hours_and_a_reply_of_td_stops_the_rest(
    platform: Platform,
) -> None:
    sender = Sender(platform)
    station = await new_station(platform, "52")
    token = station_token(station)
    worker = await register(platform, station, SERIAL)
    employer = await new_employer(platform)
    await hire(platform, worker, employer, beijing_date() - timedelta(days=130))

    # The office extends the transport subsidy; the worker becomes eligible, and demand queues a message.
    published = (await platform.client.get("/v1/policies/transport-subsidy")).json()
    body = {key: value for key, value in published.items() if key in PolicyItem.model_fields}
    extended = {
        **body,
        "valid_to": "2027-12-31",
        "base_version": published["version"],
        "note": "延长（测试）",
    }
    assert (
        await platform.client.put("/v1/policies/transport-subsidy", json=extended, headers=ADMIN)
    ).status_code == 200

    async def queued() -> bool:
        return any(n["kind"] == "eligibility" for n in await notices(platform, token, person_id=worker["id"]))

    await eventually(queued, timeout=60, what="demand queues the eligibility's message")
    (told,) = [
        n for n in await notices(platform, token, person_id=worker["id"]) if n["kind"] == "eligibility"
    ]
    assert told["status"] == "queued" and "跨省就业一次性交通补贴" in told["text"]
    assert told["phone_masked"] == "139****0501"

    # 22:30 in Beijing: held until 08:00; the offer sent earlier the same evening is held as well.
    evening = next_beijing(22, 30)
    await sender.send(evening)
    held = {n["kind"]: n for n in await notices(platform, token, person_id=worker["id"])}
    assert held["eligibility"]["status"] == "queued" and "夜间免打扰" in held["eligibility"]["reason"]
    assert held["offer"]["status"] == "queued"
    assert sender.sent_lines() == []

    # 08:05 the next morning: sent through the sink, the phone masked there; then the receipt.
    morning = next_beijing(8, 5, after=evening)
    await sender.send(morning)
    lines = sender.sent_lines()
    assert {line["kind"] for line in lines} == {"eligibility", "offer"}
    assert all(line["phone"] == "139****0501" for line in lines)
    assert phone(SERIAL) not in sender.sink.sent_file.read_text(encoding="utf-8")
    assert await sender.receipts(morning) == 2
    arrived = {n["kind"]: n for n in await notices(platform, token, person_id=worker["id"])}
    assert arrived["eligibility"]["status"] == "delivered" and arrived["eligibility"]["delivered_at"]
    assert arrived["offer"]["attempts"] == 1 and arrived["offer"]["provider"] == "sink"

    # A redelivered eligibility or offer queues nothing twice (one message per claim, per offer).
    assert len(await notices(platform, token, person_id=worker["id"])) == 2

    # The worker replies TD: the next message (another offer) is not sent.
    sender.sink.reply_file.write_text(
        json.dumps({"phone": phone(SERIAL), "text": "TD"}) + "\n", encoding="utf-8"
    )
    assert await sender.replies() == 1
    await offer(platform, worker, employer, title="仓库分拣员")

    async def offered_again() -> bool:
        return len(await notices(platform, token, person_id=worker["id"])) == 3

    await eventually(offered_again, timeout=60, what="the second offer's message is queued")
    await sender.send(morning + timedelta(hours=2))
    latest = (await notices(platform, token, person_id=worker["id"]))[0]
    assert latest["status"] == "suppressed" and latest["reason"] == "本人已退订"
    assert len(sender.sent_lines()) == 2


async def test_the_daily_cap_holds_back_all_but_urgent_messages_and_stations_see_their_own(
    platform: Platform,
) -> None:
    sender = Sender(platform)
    station = await new_station(platform, "52")
    token = station_token(station)
    worker = await register(platform, station, SERIAL + 1)
    employer = await new_employer(platform)
    for n in range(4):
        await offer(platform, worker, employer, title=f"装配工{n}")

    async def four() -> bool:
        return len(await notices(platform, token, person_id=worker["id"])) == 4

    await eventually(four, timeout=60, what="four offers' messages queued")
    async with sender.sessions.begin() as session:  # a bus seat, urgent: it goes whatever the hour and count
        await service.enqueue(
            session,
            person_id=worker["id"],
            kind="bus_seat",
            values={"time": "12月8日07:30", "place": "碧江区人民广场"},
            dedup_key="bus:test",
        )
    ten = next_beijing(10, 0)
    await sender.send(ten)
    statuses = sorted(n["status"] for n in await notices(platform, token, person_id=worker["id"]))
    assert statuses == ["queued", "sent", "sent", "sent", "sent"]  # three offers and the seat
    (waiting,) = await notices(platform, token, person_id=worker["id"], status="queued")
    assert "今日条数已达上限" in waiting["reason"]
    await sender.send(next_beijing(8, 0, after=ten))
    assert len(await notices(platform, token, status="sent")) == 5

    # Scope: another station sees nothing of them and cannot opt their worker out; roles without a part, 403.
    other = station_token(await new_station(platform, "52", name="江苏驻碧江区第二劳务联络站"))
    assert await notices(platform, other) == []
    assert await notices(platform, other, person_id=worker["id"]) == []
    assert_problem(
        await platform.client.post("/v1/notices/opt-outs", json={"person_id": worker["id"]}, headers=other),
        404,
    )
    for role in (auth("public"), auth("recruiter", employer_id=employer), auth("bureau", city_code="3205")):
        assert_problem(await platform.client.get("/v1/notices", headers=role), 403)
    assert len(await notices(platform, auth("partner", provinces=["52"]))) == 5
    assert await notices(platform, auth("partner", provinces=["61"])) == []
    # The station records the worker's opt-out: nothing queued for them goes any more.
    assert (
        await platform.client.post("/v1/notices/opt-outs", json={"person_id": worker["id"]}, headers=token)
    ).status_code == 204


async def test_a_worker_is_told_of_a_follow_up_visit_coming_due(platform: Platform) -> None:
    sender = Sender(platform)
    station = await new_station(platform, "52")
    token = station_token(station)
    worker = await register(platform, station, SERIAL + 2)
    start = months_after(beijing_date() + timedelta(days=2), -1)  # the one-month visit falls in two days
    await hire(platform, worker, await new_employer(platform), start)

    async def scheduled() -> bool:
        visits = await platform.client.get("/v1/follow-ups", params={"state": "due"}, headers=token)
        return any(visit["months"] == 1 for visit in visits.json()["items"])

    await eventually(scheduled, timeout=60, what="demand schedules the visits")
    assert await service.queue_follow_ups(sender.sessions, beijing_date()) == 1
    assert await service.queue_follow_ups(sender.sessions, beijing_date()) == 0  # once per visit
    (told,) = [n for n in await notices(platform, token, person_id=worker["id"]) if n["kind"] == "follow_up"]
    due = months_after(start, 1)
    assert f"{due.month}月{due.day}日" in told["text"] and told["label"] == "回访提醒"
