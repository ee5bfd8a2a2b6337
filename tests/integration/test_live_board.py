"""The live-stream job board end to end (issue 5, items 4 and 5): the page and its public stream from feed,
sign-ups to demand (a registered worker applies at once, anyone else becomes a lead that applies once
registered), attribution per stream, and no personal data on the board, in feed's database or on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.db import beijing_date
from services.demand.leads.api import TokenBucket
from services.demand.leads.schemas import LIVE_SIGNUP_CONSENT, RECEIVED_MESSAGE
from services.demand.models import Lead, LiveJob
from services.demand.models import platform as demand_tables
from services.feed import streaming
from services.feed.live.models import LiveStation
from tests.factories import employer_body, job_body, person_body
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually, known_to
from tests.integration.test_demand import new_station

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching", "feed")

STREAM = "douyin-2026-12-01.a"


# --- helpers ------------------------------------------------------------------------------------------------


async def new_job(platform: Platform, **overrides: Any) -> dict[str, Any]:
    employer = await platform.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
    assert employer.status_code == 201, employer.text
    employer_id = employer.json()["id"]
    body = job_body(employer_id, occupation_code="6-25-04-07", **overrides)
    response = await platform.client.post(
        "/v1/jobs", json=body, headers=auth("recruiter", employer_id=employer_id)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def open_job(platform: Platform, **overrides: Any) -> dict[str, Any]:
    """A job that the board lists and demand accepts sign-ups for."""
    job = await new_job(platform, **overrides)

    async def known() -> bool:
        board = (await platform.client.get("/live/jobs")).json()
        async with platform.runtime("demand").sessions() as session:
            in_demand = await session.get(LiveJob, job["id"])
        return job["id"] in [item["id"] for item in board["items"]] and in_demand is not None

    await eventually(known, what="the job on the board and known to demand")
    return job


async def board_station(platform: Platform, province_code: str = "61") -> str:
    """A station demand knows (for sign-ups) and the board lists (for the form)."""
    station_id = await new_station(platform, province_code)
    await known_to(platform, "feed", LiveStation, station_id, what="the board lists the station")
    return station_id


def signup(station_id: str, job_id: str, name: str, phone: str, stream_id: str = STREAM) -> dict[str, Any]:
    return {
        "stream_id": stream_id,
        "job_id": job_id,
        "station_id": station_id,
        "name": name,
        "phone": phone,
        "consent": True,
    }


def assert_received(response: httpx.Response, job_id: str, stream_id: str = STREAM) -> None:
    """The one answer every kept sign-up gets, registered worker or not (nothing tells them apart)."""
    assert response.status_code == 202, response.text
    assert response.json() == {
        "status": "received",
        "message": RECEIVED_MESSAGE,
        "job_id": job_id,
        "stream_id": stream_id,
    }


async def register(platform: Platform, station_id: str, serial: int, **overrides: Any) -> dict[str, Any]:
    body = person_body(station_id, serial, **overrides)
    response = await platform.client.post(
        "/v1/persons", json=body, headers=auth("station", station_id=station_id)
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "phone": body["phone"], "name": body["name"]}


async def applications(platform: Platform, **params: str) -> list[dict[str, Any]]:
    response = await platform.client.get("/v1/applications", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def stats(platform: Platform, stream_id: str = STREAM) -> dict[str, Any]:
    response = await platform.client.get(f"/v1/streams/{stream_id}/stats", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def demand_counts(platform: Platform) -> tuple[int, int]:
    """(leads, live-signup events in the outbox): what a refused sign-up must leave unchanged."""
    outbox = demand_tables.outbox
    async with platform.runtime("demand").sessions() as session:
        leads = await session.scalar(select(func.count()).select_from(Lead))
        events = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.subject.like("ew.demand.livesignup.%"))
        )
    return int(leads or 0), int(events or 0)


@contextlib.asynccontextmanager
async def sse(platform: Platform, path: str) -> AsyncIterator[list[dict[str, str]]]:
    """Read a Server-Sent Events stream in the background, with no token; yields the events seen so far."""
    events: list[dict[str, str]] = []
    opened = asyncio.Event()

    async def read() -> None:
        client = httpx.AsyncClient(base_url=platform.base_url, timeout=None)
        async with client, client.stream("GET", path) as response:
            assert response.status_code == 200
            opened.set()
            current: dict[str, str] = {}
            async for line in response.aiter_lines():
                if not line:
                    if "event" in current:
                        events.append(current)
                    current = {}
                    continue
                field, _, value = line.partition(":")
                current[field] = value.strip()

    task = asyncio.create_task(read())
    await asyncio.wait_for(opened.wait(), 10)
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def seen(events: list[dict[str, str]], kind: str, job_id: str | None = None) -> list[dict[str, Any]]:
    found = []
    for event in events:
        if event["event"] == kind:
            data = json.loads(event["data"])
            if job_id is None or job_id in (data.get("id"), data.get("job_id")):
                found.append(data)
    return found


# --- the token bucket (pure) --------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_one_per_interval_per_client() -> None:
    now = [0.0]
    bucket = TokenBucket(capacity=3, per_second=0.5, max_keys=2, clock=lambda: now[0])
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a") == 2.0  # empty: the next token in 2 s
    assert bucket.take("b") == 0  # another client has its own bucket
    now[0] = 2.0
    assert bucket.take("a") == 0
    bucket.take("c")  # a third client: the least recently seen ("b") is forgotten, the table stays bounded
    assert len(bucket._buckets) == 2 and "b" not in bucket._buckets


# --- the page and its stream --------------------------------------------------------------------------------


async def test_page_is_served_without_a_token_offline_and_counts_views(platform: Platform) -> None:
    for _ in range(2):
        page = await platform.client.get("/live", params={"province_code": "61", "stream_id": STREAM})
        assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert '<html lang="zh-CN">' in html and "江苏岗位直播招聘" in html and "我要报名" in html
    # the consent box: unticked, with the very words demand stores with each sign-up
    box = re.search(r'<input id="signup-consent"[^>]*>', html)
    assert box is not None and 'type="checkbox"' in box.group(0) and "checked" not in box.group(0)
    assert f'<span id="signup-consent-text">{LIVE_SIGNUP_CONSENT}</span>' in html
    texts = [html]
    for asset in ("live.css", "live.js"):
        response = await platform.client.get(f"/live/assets/{asset}")
        assert response.status_code == 200 and response.text
        texts.append(response.text)
    assert (await platform.client.get("/live/assets/secrets.py")).status_code == 404
    # offline: nothing is loaded from another host
    assert all(re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I) is None for text in texts)
    assert (await platform.client.get("/live")).status_code == 200  # no stream: not counted
    bad = await platform.client.get("/live", params={"stream_id": "<script>"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.stream_id"

    assert (await stats(platform))["views"] == 2
    assert (await stats(platform, "never-seen"))["views"] == 0
    assert (await platform.client.get(f"/v1/streams/{STREAM}/stats")).status_code == 401
    for role in (PUBLIC, auth("recruiter", employer_id="e-1")):
        assert (await platform.client.get(f"/v1/streams/{STREAM}/stats", headers=role)).status_code == 403
    station = auth("station", station_id="s-1")
    assert (await platform.client.get(f"/v1/streams/{STREAM}/stats", headers=station)).status_code == 200


async def test_public_stream_shows_cards_appear_change_be_pinned_and_leave(platform: Platform) -> None:
    async with sse(platform, f"/live/stream?stream_id={STREAM}") as events:
        job = await new_job(platform)
        await eventually(
            lambda: _true(seen(events, "job.published", job["id"])), what="the card on the stream"
        )
        [card] = seen(events, "job.published", job["id"])
        assert card == {
            "id": job["id"],
            "version": job["version"],
            "title": "电子产品装配工",
            "employer_name": "苏州精密电子有限公司",
            "city_code": "3205",
            "city_name": "苏州市",
            "salary_min": 5200,
            "salary_max": 7200,
            "dormitory": True,
            "meals": True,
            "headcount": 30,
            "headcount_left": 30,
        }
        board = (await platform.client.get("/live/jobs", params={"stream_id": STREAM})).json()
        assert board["items"][0] == card and board["version"] >= 1 and board["featured_job_id"] is None

        # the host pins it: boards of this stream highlight it
        recruiter = auth("recruiter", employer_id=job["employer_id"])
        path = f"/v1/streams/{STREAM}/featured"
        assert (await platform.client.put(path, json={"job_id": job["id"]})).status_code == 401
        assert (
            await platform.client.put(path, json={"job_id": job["id"]}, headers=recruiter)
        ).status_code == 403
        assert (await platform.client.put(path, json={"bad": 1}, headers=PUBLIC)).status_code == 403
        missing = await platform.client.put(path, json={"job_id": "nope"}, headers=ADMIN)
        assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "body.job_id"
        station = auth("station", station_id="s-1")
        pinned = await platform.client.put(path, json={"job_id": job["id"]}, headers=station)
        assert pinned.status_code == 200 and pinned.json()["job_id"] == job["id"]
        await eventually(lambda: _true(seen(events, "featured", job["id"])), what="the pin on the stream")
        assert seen(events, "featured", job["id"])[-1]["card"]["title"] == "电子产品装配工"
        board = (await platform.client.get("/live/jobs", params={"stream_id": STREAM})).json()
        assert board["featured_job_id"] == job["id"]

        changed = await platform.client.patch(
            f"/v1/jobs/{job['id']}", json={"salary_max": 8000}, headers=recruiter
        )
        assert changed.status_code == 200, changed.text
        await eventually(
            lambda: _true([c for c in seen(events, "job.updated", job["id"]) if c["salary_max"] == 8000]),
            what="the changed card on the stream",
        )

        closed = await platform.client.post(f"/v1/jobs/{job['id']}/close", headers=recruiter)
        assert closed.status_code == 200
        await eventually(lambda: _true(seen(events, "job.closed", job["id"])), what="the card leaves")
        assert set(seen(events, "job.closed", job["id"])[0]) == {"id", "removed_at"}
    board = (await platform.client.get("/live/jobs", params={"stream_id": STREAM})).json()
    assert job["id"] not in [item["id"] for item in board["items"]] and board["featured_job_id"] is None
    # a board that reconnects resumes after the last event it saw
    last = max(int(event["id"]) for event in events if "id" in event)
    async with sse(platform, f"/live/stream?since={last - 1}") as replay:
        await eventually(lambda: _true(seen(replay, "job.closed", job["id"])), what="replay from since")


async def _true(value: object) -> bool:
    return bool(value)


async def test_stations_for_the_form_come_from_station_events(platform: Platform) -> None:
    shaanxi = await board_station(platform, "61")
    guizhou = await board_station(platform, "52")
    listed = (await platform.client.get("/live/stations", params={"province_code": "61"})).json()
    assert listed["province_name"] == "陕西省"
    assert [item["id"] for item in listed["items"]] == [shaanxi]
    assert set(listed["items"][0]) == {"id", "name", "province_code"}  # the directory entry only
    everything = (await platform.client.get("/live/stations")).json()
    assert {item["id"] for item in everything["items"]} == {shaanxi, guizhou}
    closed = await platform.client.patch(f"/v1/stations/{guizhou}", json={"active": False}, headers=ADMIN)
    assert closed.status_code == 200, closed.text

    async def gone() -> bool:
        items = (await platform.client.get("/live/stations")).json()["items"]
        return guizhou not in [item["id"] for item in items]

    await eventually(gone, what="an inactive station leaves the form")


# --- sign-ups -----------------------------------------------------------------------------------------------


async def test_bad_sign_ups_are_422_naming_the_field_and_store_nothing(platform: Platform) -> None:
    station_id = await board_station(platform)
    job = await open_job(platform)
    good = signup(station_id, job["id"], "王小明", "13912345678")
    cases = {
        "body.phone": {**good, "phone": "1234"},
        "body.name": {**good, "name": "1"},
        "body.stream_id": {**good, "stream_id": "<b>"},
        "body.station_id": {**good, "station_id": "no-such-station"},
        "body.job_id": {**good, "job_id": "no-such-job"},
        "body.consent": {**good, "consent": False},
    }
    for field, body in cases.items():
        response = await platform.client.post("/v1/live-signups", json=body)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert [error["field"] for error in problem["errors"]] == [field]
        assert re.search(r"[\u4e00-\u9fff]", problem["errors"][0]["message"])  # Chinese
    phone_error = (await platform.client.post("/v1/live-signups", json=cases["body.phone"])).json()
    assert "手机号" in phone_error["errors"][0]["message"] and "1234" not in phone_error["detail"]
    # without the box ticked: refused, saying why, whoever signs up
    no_consent = (await platform.client.post("/v1/live-signups", json=cases["body.consent"])).json()
    assert "勾选" in no_consent["errors"][0]["message"] and "同意授权" in no_consent["errors"][0]["message"]
    missing = await platform.client.post("/v1/live-signups", json={"stream_id": STREAM})
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {
        "body.job_id",
        "body.station_id",
        "body.name",
        "body.phone",
        "body.consent",
    }
    assert (await platform.client.post("/v1/live-signups", content=b"name=x")).status_code == 415
    assert await demand_counts(platform) == (0, 0)
    # a closed job takes no more sign-ups
    closed = await platform.client.post(f"/v1/jobs/{job['id']}/close", headers=ADMIN)
    assert closed.status_code == 200

    async def closed_in_demand() -> bool:
        async with platform.runtime("demand").sessions() as session:
            row = await session.get(LiveJob, job["id"])
        return row is not None and not row.open

    await eventually(closed_in_demand, what="demand learns the job closed")
    response = await platform.client.post("/v1/live-signups", json=good)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.job_id"
    assert "结束招聘" in response.json()["errors"][0]["message"]
    assert await demand_counts(platform) == (0, 0)


async def test_sign_ups_are_rate_limited_per_client_address(platform: Platform) -> None:
    platform.gateway.services["demand"].state.live_signup_limiter = TokenBucket(capacity=2, per_second=0.01)
    body = signup("s", "j", "王小明", "1")
    assert [(await platform.client.post("/v1/live-signups", json=body)).status_code for _ in range(2)] == [
        422,
        422,
    ]
    limited = await platform.client.post("/v1/live-signups", json=body)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1 and "频繁" in limited.json()["detail"]


async def test_registered_worker_signing_up_gets_a_livestream_application(platform: Platform) -> None:
    station_id = await board_station(platform)
    other_station = await board_station(platform, "52")
    worker = await register(platform, station_id, 11)
    job = await open_job(platform)
    # picked another station on the form: still the same worker (found by keyed phone hash and name)
    body = signup(other_station, job["id"], worker["name"], worker["phone"])
    response = await platform.client.post("/v1/live-signups", json=body)
    assert_received(response, job["id"])
    assert worker["id"] not in response.text and worker["phone"] not in response.text

    async def applied() -> bool:
        return bool(await applications(platform, person_id=worker["id"], job_id=job["id"]))

    await eventually(applied, what="matching creates the application")
    [application] = await applications(platform, person_id=worker["id"])
    assert application["channel"] == "livestream" and application["stream_id"] == STREAM
    assert application["station_id"] == station_id  # the worker's own station, not the one picked
    # signing up again changes nothing
    again = await platform.client.post("/v1/live-signups", json=body)
    assert_received(again, job["id"])
    # the same phone with another name (a shared family phone) is not this worker: a lead, the same answer
    family = await platform.client.post(
        "/v1/live-signups", json=signup(station_id, job["id"], "李秀英", worker["phone"])
    )
    assert_received(family, job["id"])
    assert (family.status_code, family.json()) == (response.status_code, response.json())
    # the station sees both: the worker's sign-up (registered, with its consent) and the family member's lead
    listed = await platform.client.get("/v1/leads", headers=auth("station", station_id=station_id))
    by_status = {lead["status"]: lead for lead in listed.json()["items"]}
    assert set(by_status) == {"registered", "new"} and len(listed.json()["items"]) == 2
    assert by_status["registered"]["person_id"] == worker["id"]
    assert by_status["registered"]["name"] == worker["name"]  # shown from the worker's record
    assert by_status["new"]["name"] == "李秀英"
    for lead in by_status.values():
        assert lead["consent_scope"] == LIVE_SIGNUP_CONSENT and lead["consent_given_at"]

    async def counted() -> bool:
        return (await stats(platform))["signups"] == 2  # the worker once, the family member once

    await eventually(counted, what="both sign-ups counted")
    assert len(await applications(platform, person_id=worker["id"])) == 1


async def test_new_person_becomes_a_lead_and_applies_once_registered(platform: Platform) -> None:
    station_id = await board_station(platform)
    job = await open_job(platform)
    newcomer = person_body(station_id, 21)
    response = await platform.client.post(
        "/v1/live-signups", json=signup(station_id, job["id"], newcomer["name"], f"+86 {newcomer['phone']}")
    )
    assert_received(response, job["id"])
    again = await platform.client.post(
        "/v1/live-signups", json=signup(station_id, job["id"], newcomer["name"], newcomer["phone"])
    )
    assert_received(again, job["id"])
    # the station's call-back list: full name, masked phone, the job to talk about
    station = auth("station", station_id=station_id)
    listed = await platform.client.get("/v1/leads", params={"station_id": station_id}, headers=station)
    assert listed.status_code == 200, listed.text
    [lead] = listed.json()["items"]  # the second sign-up kept the first lead
    assert lead["name"] == newcomer["name"] and lead["status"] == "new"
    assert lead["phone_masked"] == newcomer["phone"][:3] + "****" + newcomer["phone"][-4:]
    assert lead["job_title"] == "电子产品装配工" and lead["stream_id"] == STREAM
    assert newcomer["phone"] not in listed.text
    # the consent as ticked: its time and the words next to the box
    assert lead["consent_scope"] == LIVE_SIGNUP_CONSENT
    assert lead["created_at"] == lead["consent_given_at"]
    # scope: another station sees nothing, a partner of another province nothing, a public token is refused
    other = auth("station", station_id="another")
    assert (await platform.client.get("/v1/leads", headers=other)).json()["items"] == []
    assert (await platform.client.get("/v1/leads", headers=auth("partner", provinces=["52"]))).json()[
        "items"
    ] == []
    assert (await platform.client.get("/v1/leads", headers=auth("partner", provinces=["61"]))).json()["items"]
    assert (await platform.client.get("/v1/leads", headers=PUBLIC)).status_code == 403
    assert (await platform.client.get(f"/v1/leads/{lead['id']}/phone", headers=other)).status_code == 404
    for someone in (ADMIN, auth("partner", provinces=["61"])):
        assert (
            await platform.client.get(f"/v1/leads/{lead['id']}/phone", headers=someone)
        ).status_code == 403
    revealed = await platform.client.get(f"/v1/leads/{lead['id']}/phone", headers=station)
    assert revealed.json()["phone"] == newcomer["phone"] and revealed.headers["cache-control"] == "no-store"
    contacted = await platform.client.patch(
        f"/v1/leads/{lead['id']}", json={"status": "contacted"}, headers=station
    )
    assert contacted.status_code == 200 and contacted.json()["status"] == "contacted"

    # the station registers the person: the lead turns registered and the application follows
    registered = await platform.client.post("/v1/persons", json=newcomer, headers=station)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["id"]

    async def lead_registered() -> bool:
        items = (await platform.client.get("/v1/leads", headers=station)).json()["items"]
        return items[0]["status"] == "registered"

    await eventually(lead_registered, what="the lead turns registered")
    [lead] = (await platform.client.get("/v1/leads", headers=station)).json()["items"]
    assert (
        lead["person_id"] == person_id and lead["name"] == newcomer["name"]
    )  # shown from the worker's record
    async with platform.runtime("demand").sessions() as session:
        row = await session.get(Lead, lead["id"])
    assert (
        row is not None
        and row.name_encrypted is None
        and row.phone_encrypted is None
        and row.phone_hash is None
    )
    assert row.consent_scope == LIVE_SIGNUP_CONSENT and row.consent_given_at is not None  # kept
    assert (
        await platform.client.patch(f"/v1/leads/{lead['id']}", json={"status": "new"}, headers=station)
    ).status_code == 409

    async def applied() -> bool:
        return bool(await applications(platform, person_id=person_id))

    await eventually(applied, what="the application follows registration")
    [application] = await applications(platform, person_id=person_id)
    assert application["channel"] == "livestream" and application["stream_id"] == STREAM
    assert application["job_id"] == job["id"]


async def test_stream_stats_count_views_signups_leads_applications_and_placements(platform: Platform) -> None:
    station_id = await board_station(platform)
    worker = await register(platform, station_id, 31)
    job = await open_job(platform)
    assert (await platform.client.get("/live", params={"stream_id": STREAM})).status_code == 200
    applied = await platform.client.post(
        "/v1/live-signups", json=signup(station_id, job["id"], worker["name"], worker["phone"])
    )
    assert_received(applied, job["id"])
    newcomer = person_body(station_id, 32)
    lead = await platform.client.post(
        "/v1/live-signups", json=signup(station_id, job["id"], newcomer["name"], newcomer["phone"])
    )
    assert_received(lead, job["id"])
    elsewhere = await platform.client.post(
        "/v1/live-signups",
        json=signup(station_id, job["id"], "赵四", "13700001111", stream_id="other-stream"),
    )
    assert_received(elsewhere, job["id"], "other-stream")

    async def counted(expected: dict[str, int]) -> bool:
        current = await stats(platform)
        return {name: current[name] for name in expected} == expected

    await eventually(
        lambda: counted({"views": 1, "signups": 2, "leads": 1, "applications": 1, "placements": 0}),
        what="views, sign-ups, leads and the application counted",
    )
    # the lead registers: one more application, not one more sign-up
    registered = await platform.client.post(
        "/v1/persons", json=newcomer, headers=auth("station", station_id=station_id)
    )
    assert registered.status_code == 201
    await eventually(
        lambda: counted({"signups": 2, "leads": 1, "applications": 2}),
        what="the converted lead's application",
    )
    # the worker is placed: attributed to the stream
    [application] = await applications(platform, person_id=worker["id"])
    path = f"/v1/applications/{application['id']}"
    recruiter = auth("recruiter", employer_id=job["employer_id"])
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
    assert (await platform.client.post(f"{path}/accept", headers=ADMIN)).status_code == 200
    placed = await platform.client.post(
        f"{path}/place",
        json={"start_date": beijing_date().isoformat(), "needs_transport": True},
        headers=recruiter,
    )
    assert placed.status_code == 200, placed.text
    await eventually(lambda: counted({"placements": 1}), what="the placement counted")
    other = await stats(platform, "other-stream")
    assert (other["signups"], other["leads"], other["applications"]) == (1, 1, 0)


# --- personal data ------------------------------------------------------------------------------------------


async def test_no_personal_data_in_feed_or_on_the_stream(platform: Platform) -> None:
    station_id = await board_station(platform)
    worker = await register(platform, station_id, 41)
    job = await open_job(platform)
    newcomer = person_body(station_id, 42)
    planted = [worker["name"], worker["phone"], newcomer["name"], newcomer["phone"]]
    async with sse(platform, f"/live/stream?stream_id={STREAM}&since=0") as events:
        for person in (worker, newcomer):
            response = await platform.client.post(
                "/v1/live-signups", json=signup(station_id, job["id"], person["name"], person["phone"])
            )
            assert response.status_code == 202, response.text
        pinned = await platform.client.put(
            f"/v1/streams/{STREAM}/featured", json={"job_id": job["id"]}, headers=ADMIN
        )
        assert pinned.status_code == 200

        async def settled() -> bool:
            current = await stats(platform)
            return (current["signups"], current["applications"]) == (2, 1) and bool(
                seen(events, "featured", job["id"])
            )

        await eventually(settled, what="sign-ups counted and the pin streamed")
        streamed = json.dumps(events, ensure_ascii=False)
    board = (await platform.client.get("/live/jobs")).text
    page = (await platform.client.get("/live", params={"stream_id": STREAM})).text
    for text in (streamed, board, page):
        assert [value for value in planted if value in text] == []

    found = []
    feed_metadata = importlib.import_module("services.feed.models").Base.metadata
    async with platform.runtime("feed").sessions() as session:
        for table in feed_metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                text = " ".join(str(value) for value in row)
                found += [table.name for value in planted if value in text]
    assert found == []
    # nor in demand's tables in plain text (leads are encrypted like workers)
    async with platform.runtime("demand").sessions() as session:
        for row in (await session.execute(select(Lead))).scalars():
            assert [value for value in planted if value in " ".join(map(str, vars(row).values()))] == []

    js = platform.runtime("demand").bus.js
    info = await js.stream_info("EW")
    leaked, subjects = [], set()
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("EW", sequence)
        subjects.add(message.subject)
        payload = (message.data or b"").decode() + str(message.headers or {})
        leaked += [message.subject for value in planted if value in payload]
    assert {"ew.demand.livesignup.matched", "ew.demand.livesignup.lead"} <= subjects
    assert leaked == []


async def test_many_boards_see_every_card_once_and_a_late_board_catches_up(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty screens on two streams share one reader of the change log: each still gets every card once, in
    order, and only its own stream's pin; a board starting from version 0, older than the reader's (here
    tiny) memory, catches up from the database."""
    monkeypatch.setattr(streaming, "TAIL", 2)
    async with contextlib.AsyncExitStack() as stack:
        boards = [
            await stack.enter_async_context(sse(platform, f"/live/stream?stream_id={STREAM}-{i % 2}"))
            for i in range(40)
        ]
        jobs = [await new_job(platform) for _ in range(6)]
        ids = [job["id"] for job in jobs]

        async def everywhere() -> bool:
            return all(len(seen(board, "job.published")) >= len(ids) for board in boards)

        await eventually(everywhere, what="every card on every board")
        for board in boards:
            assert [card["id"] for card in seen(board, "job.published")] == ids
        pinned = await platform.client.put(
            f"/v1/streams/{STREAM}-0/featured", json={"job_id": ids[2]}, headers=ADMIN
        )
        assert pinned.status_code == 200, pinned.text

        async def pinned_on_stream_0() -> bool:
            return all(seen(board, "featured", ids[2]) for board in boards[0::2])

        await eventually(pinned_on_stream_0, what="the pin on stream 0's boards")
        assert not any(seen(board, "featured", ids[2]) for board in boards[1::2])
        assert all(seen(board, "featured")[0] == {"job_id": None, "card": None} for board in boards)
    async with sse(platform, "/live/stream?since=0") as late:
        await eventually(lambda: _true(len(seen(late, "job.published")) >= len(ids)), what="catch-up")
        assert [card["id"] for card in seen(late, "job.published")] == ids
