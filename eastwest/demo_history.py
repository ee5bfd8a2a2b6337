"""Eighteen months of history for the demo workers, so the officials' dashboard has a story: who started work
when and where (in Jiangsu, near home, in a public-welfare post), who lost a job and found another, placements
through the platform with their follow-up visits, warnings a station has dealt with, and two cooperation
agreements. Loaded through the public API like the rest of the demo; deterministic; loaded once (a worker with
a history already is left alone)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx

from libs.db import beijing_date

T = TypeVar("T")
CONCURRENCY = 6

EMPLOYMENTS: list[dict[str, Any]] = [
    {"how": "self_found", "where": "jiangsu"},
    {"how": "flexible", "where": "jiangsu"},
    {"how": "self_found", "where": "home_county"},
    {"how": "self_employed", "where": "home_county"},
    {"how": "public_welfare", "where": "home_county"},
    {"how": "flexible", "where": "home_province"},
]
AGREEMENTS = [
    ("苏州市—陕西省人力资源合作框架协议", "3205", "61", {"employed": 60, "trained": 20, "carried": 40}),
    ("南京市—贵州省人力资源合作框架协议", "3201", "52", {"employed": 40, "trained": 15, "carried": 30}),
]


async def _all(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        asked = {"limit": "200", **params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=asked)).raise_for_status().json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _employment(rng: random.Random, partner_city: str) -> dict[str, Any]:
    chosen = dict(rng.choice(EMPLOYMENTS))
    chosen["region_code"] = partner_city if chosen["where"] == "jiangsu" else None
    return {key: value for key, value in chosen.items() if value is not None}


async def _status(client: httpx.AsyncClient, person_id: str, body: dict[str, Any]) -> None:
    (await client.post(f"/v1/persons/{person_id}/status", json=body)).raise_for_status()


async def load_history(client: httpx.AsyncClient, partner_city_by_station: dict[str, str]) -> int:
    """The workers' timelines; the number of workers given one."""
    today = beijing_date()
    workers = [w for w in await _all(client, "/v1/persons") if w["status"] == "seeking"]
    jobs = [job for job in await _all(client, "/v1/jobs") if job["status"] == "published"]

    async def history_of(worker: dict[str, Any]) -> bool:
        rng = random.Random(worker["id"])
        if rng.random() < 0.2:
            return False  # still seeking: every list has some
        partner_city = partner_city_by_station.get(worker["station_id"], "3205")
        start = today - timedelta(days=rng.randint(20, 540))
        placed = start > today - timedelta(days=330) and jobs and rng.random() < 0.6
        if placed and await _placed(client, rng, worker, rng.choice(jobs), start):
            return True
        employment = _employment(rng, partner_city)
        await _status(
            client, worker["id"], {"status": "employed", "since": start.isoformat(), "employment": employment}
        )
        lost = start + timedelta(days=rng.randint(60, 240))
        if rng.random() < 0.3 and lost < today:
            await _status(client, worker["id"], {"status": "unemployed", "since": lost.isoformat()})
            again = lost + timedelta(days=rng.randint(15, 90))
            if again < today and rng.random() < 0.6:
                body = {
                    "status": "employed",
                    "since": again.isoformat(),
                    "employment": _employment(rng, partner_city),
                }
                await _status(client, worker["id"], body)
        return True

    given = sum(await each(sorted(workers, key=lambda w: str(w["id"])), history_of))
    await _visit(client)
    await _settle_warnings(client)
    if (await _all(client, "/v1/agreements"))[:1]:
        return given
    for title, city, region, targets in AGREEMENTS:
        agreement = {
            "title": title,
            "jiangsu_city_code": city,
            "partner_region_code": region,
            "year": today.year,
        }
        response = await client.post("/v1/agreements", json={**agreement, "targets": targets})
        response.raise_for_status()
    return given


def _closed_meanwhile(applied: httpx.Response) -> bool:
    """The job filled up and closed while the demo went down its list: matching answers that it is closed (404
    on the job), not that it is full (409)."""
    if applied.status_code != 404:
        return False
    errors = applied.json().get("errors") or []
    return any(error.get("field") == "body.job_id" for error in errors)


async def _placed(
    client: httpx.AsyncClient, rng: random.Random, worker: dict[str, Any], job: dict[str, Any], start: date
) -> bool:
    """Through the pipeline (the matching service waits for the worker it has not heard of yet); False when
    the job has no place left."""
    channel = rng.choice(["station", "station", "livestream", "online"])
    body = {"person_id": worker["id"], "job_id": job["id"], "channel": channel}
    applied = await client.post("/v1/applications", json=body)
    if applied.status_code == 409 or _closed_meanwhile(applied):
        return False
    path = f"/v1/applications/{applied.raise_for_status().json()['id']}"
    for step in ("offer", "accept"):
        (await client.post(f"{path}/{step}")).raise_for_status()
    place = {"start_date": start.isoformat(), "needs_transport": False}
    placed = await client.post(f"{path}/place", json=place)
    if placed.status_code == 409:  # the job filled meanwhile
        return False
    placement_id = placed.raise_for_status().json()["placement_id"]
    ended = start + timedelta(days=rng.randint(40, 200))
    if rng.random() < 0.3 and ended < beijing_date():
        end = {"ended_on": ended.isoformat(), "reason": rng.choice(["合同到期", "本人离职", "返乡照顾家人"])}
        (await client.post(f"/v1/placements/{placement_id}/end", json=end)).raise_for_status()
    return True


async def each(items: list[dict[str, Any]], do: Callable[[dict[str, Any]], Awaitable[T]]) -> list[T]:
    """`do` for every item, a few at a time (the demo loads in seconds, not minutes)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: dict[str, Any]) -> T:
        async with gate:
            return await do(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def _visit(client: httpx.AsyncClient) -> None:
    """Most overdue follow-up visits made: most still at work, some left, a few with wages late."""
    await each(await _all(client, "/v1/follow-ups", state="overdue"), lambda visit: _visit_one(client, visit))


async def _visit_one(client: httpx.AsyncClient, visit: dict[str, Any]) -> None:
    rng = random.Random(visit["id"])
    if rng.random() >= 0.25:
        body = {
            "visited_on": beijing_date().isoformat(),
            "still_employed": rng.random() < 0.85,
            "contract_signed": rng.random() < 0.9,
            "wages_on_time": rng.random() < 0.92,
        }
        response = await client.post(f"/v1/follow-ups/{visit['id']}", json=body)
        if response.status_code != 409:  # 409: cancelled by an earlier "left the job" visit
            response.raise_for_status()


async def _settle_warnings(client: httpx.AsyncClient) -> None:
    """Stations have dealt with most warnings."""

    async def settle(warning: dict[str, Any]) -> None:
        if warning["resolved_at"] is None and random.Random(warning["id"]).random() < 0.6:
            (await client.post(f"/v1/warnings/{warning['id']}/resolve")).raise_for_status()

    await each(await _all(client, "/v1/warnings"), settle)
