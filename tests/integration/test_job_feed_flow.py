"""The first real flow: an employer posts a job, a partner province reads it in the feed and on the stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.factories import employer_body, job_body
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually

pytestmark = pytest.mark.services("supply", "feed")


async def create_employer(platform: Platform, **overrides: Any) -> dict[str, Any]:
    response = await platform.client.post("/v1/employers", json=employer_body(**overrides), headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def feed_ids(platform: Platform, **params: str) -> list[str]:
    response = await platform.client.get("/v1/feed", params=params, headers=PUBLIC)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def read_sse(client: httpx.AsyncClient, events: list[dict[str, str]], headers: dict[str, str]) -> None:
    async with client.stream("GET", "/v1/feed/stream", headers=headers) as response:
        assert response.status_code == 200
        current: dict[str, str] = {}
        async for line in response.aiter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                current = {}
                continue
            field, _, value = line.partition(":")
            current[field] = value.strip()


async def test_posted_job_reaches_feed_and_stream_then_leaves_when_closed(platform: Platform) -> None:
    employer = await create_employer(platform)
    recruiter = auth("recruiter", employer_id=employer["id"])
    events: list[dict[str, str]] = []
    reader = asyncio.create_task(read_sse(platform.client, events, PUBLIC))
    await asyncio.sleep(0.3)

    response = await platform.client.post("/v1/jobs", json=job_body(employer["id"]), headers=recruiter)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "published" and job["compliance"] == []

    async def in_feed() -> bool:
        return job["id"] in await feed_ids(platform)

    await eventually(in_feed, what="job in feed")

    async def streamed(kind: str) -> bool:
        return any(e["event"] == kind and json.loads(e["data"])["id"] == job["id"] for e in events)

    await eventually(lambda: streamed("job.published"), what="job.published on SSE")

    first = await platform.client.get("/v1/feed", headers=PUBLIC)
    etag = first.headers["etag"]
    assert first.json()["version"] >= 1
    cached = await platform.client.get("/v1/feed", headers={**PUBLIC, "If-None-Match": etag})
    assert cached.status_code == 304

    closed = await platform.client.post(f"/v1/jobs/{job['id']}/close", headers=recruiter)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    async def gone() -> bool:
        return job["id"] not in await feed_ids(platform)

    await eventually(gone, what="closed job leaves the feed")
    await eventually(lambda: streamed("job.closed"), what="job.closed on SSE")
    after = await platform.client.get("/v1/feed", headers={**PUBLIC, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    reader.cancel()


async def test_stream_resumes_from_last_event_id(platform: Platform) -> None:
    employer = await create_employer(platform)
    ids = []
    for title in ("快递分拣员", "仓库管理员", "保安员"):
        response = await platform.client.post(
            "/v1/jobs", json=job_body(employer["id"], title=title, industry=None), headers=ADMIN
        )
        ids.append(response.json()["id"])

    async def all_listed() -> bool:
        return set(ids) <= set(await feed_ids(platform))

    await eventually(all_listed, what="three jobs listed")
    events: list[dict[str, str]] = []
    reader = asyncio.create_task(read_sse(platform.client, events, {**PUBLIC, "Last-Event-ID": "1"}))

    async def replayed() -> bool:
        return len(events) >= 2

    await eventually(replayed, what="replay after Last-Event-ID")
    reader.cancel()
    assert [json.loads(e["data"])["id"] for e in events[:2]] == ids[1:]
    assert [int(e["id"]) for e in events[:2]] == [2, 3]


async def test_flagged_job_never_reaches_feed(platform: Platform) -> None:
    employer = await create_employer(platform)
    body = job_body(employer["id"], description="限男性，不招河南人", salary_min=1000, salary_max=1200)
    response = await platform.client.post("/v1/jobs", json=body, headers=ADMIN)
    assert response.status_code == 201
    job = response.json()
    codes = {note["code"] for note in job["compliance"]}
    assert job["status"] == "flagged"
    assert {"discrimination.sex", "discrimination.region", "pay.below_minimum_wage"} <= codes
    clean = await platform.client.post("/v1/jobs", json=job_body(employer["id"]), headers=ADMIN)

    async def clean_listed() -> bool:
        return clean.json()["id"] in await feed_ids(platform)

    await eventually(clean_listed, what="the clean job listed")
    assert job["id"] not in await feed_ids(platform)
    # fixing the posting publishes it
    fixed = await platform.client.patch(
        f"/v1/jobs/{job['id']}",
        json={"description": "流水线装配", "salary_min": 5000, "salary_max": 6000},
        headers=ADMIN,
    )
    assert fixed.status_code == 200 and fixed.json()["status"] == "published", fixed.text

    async def fixed_listed() -> bool:
        return job["id"] in await feed_ids(platform)

    await eventually(fixed_listed, what="fixed job listed")
