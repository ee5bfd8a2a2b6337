"""A database failover loses no event (production operations, item 5). Feed reaches its PostgreSQL through a
TCP proxy that the test cuts while supply keeps posting jobs: feed's consumer pauses and tries the same event
again instead of counting the failures towards dead-lettering, feed's API answers 503 with Retry-After
meanwhile while staying in rotation, and once the database is back every job reaches the feed exactly once with
nothing dead-lettered.

The outage lasts EW_TEST_DATABASE_OUTAGE_SECONDS (8 by default, against 2 deliveries before dead-lettering: the
code before this change dead-lettered within about 1 s); a CloudNativePG switchover takes 10-60 s, and the same
test runs with 60."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import nats
import pytest

from eastwest.embedded import NatsServer
from eastwest.services import FACTORIES
from libs.events.consumer import dead_letter_subject
from tests.factories import employer_body, job_body
from tests.harness import ADMIN, DatabaseFactory, eventually
from tests.integration.test_graceful_shutdown import behind_a_proxy
from tests.integration.test_replicas import postgres, private_nats, runtime_of, service_settings, serving

__all__ = ["postgres", "private_nats"]  # fixtures

OUTAGE_SECONDS = float(os.environ.get("EW_TEST_DATABASE_OUTAGE_SECONDS", "8"))


@pytest.mark.postgres
async def test_jobs_posted_while_feeds_database_is_away_all_arrive_and_none_is_dead_lettered(
    postgres: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    settings = await service_settings(postgres, private_nats.url, tmp_path, ["supply", "feed"])
    settings, proxy = await behind_a_proxy(settings, "feed", consumer_max_deliver=2)
    supply_app, feed_app = FACTORIES["supply"](settings), FACTORIES["feed"](settings)
    try:
        async with serving(supply_app) as supply, serving(feed_app) as feed:
            employer = await supply.post("/v1/employers", json=employer_body(), headers=ADMIN)
            assert employer.status_code == 201, employer.text
            employer_id = employer.json()["id"]

            async def post(count: int) -> list[str]:
                ids = []
                for index in range(count):
                    response = await supply.post(
                        "/v1/jobs", json=job_body(employer_id, title=f"普工{index}"), headers=ADMIN
                    )
                    assert response.status_code == 201, response.text
                    ids.append(response.json()["id"])
                return ids

            consumer = next(c for c in runtime_of(feed_app).consumers if c.name == "feed-jobs")
            posted = await post(5)
            await eventually(lambda: _handled(consumer, 5), what="the first jobs in the feed")

            assert (await feed.get("/readyz")).status_code == 200  # as the kubelet's probe sees it, every 5 s
            await proxy.cut()
            posted += await post(20)  # supply's own database is fine: it takes every job
            answer = await _feed_page(feed)
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"].isdigit()
            assert answer.headers["content-type"] == "application/problem+json"
            await asyncio.sleep(OUTAGE_SECONDS)
            # still in rotation at the end of the outage (shorter than the readiness grace, 90 s): the pod
            # answers 503 with Retry-After itself rather than leaving its Service empty
            ready = await feed.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["database"] is False, ready.text
            await proxy.restore()

            await eventually(lambda: _handled(consumer, 25), timeout=60, what="every job in the feed")
            page = await _feed_page(feed)
            assert page.status_code == 200, page.text
            assert sorted(item["id"] for item in page.json()["items"]) == sorted(posted)
            assert consumer.duplicates == 0
            assert await _dead_letters(private_nats.url, settings.stream_name, consumer.name) == 0
    finally:
        await proxy.cut()


async def _handled(consumer: object, count: int) -> bool:
    return getattr(consumer, "processed", 0) == count


async def _feed_page(feed: httpx.AsyncClient) -> httpx.Response:
    return await feed.get("/v1/feed", params={"limit": 100}, headers=ADMIN)


async def _dead_letters(nats_url: str, stream: str, consumer: str) -> int:
    connection = await nats.connect(nats_url)
    try:
        subject = dead_letter_subject(consumer)
        info = await connection.jetstream().stream_info(f"{stream}_DLQ", subjects_filter=subject)
        return sum((info.state.subjects or {}).values())
    finally:
        await connection.close()
