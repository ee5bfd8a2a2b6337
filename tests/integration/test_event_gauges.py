"""The gauges behind the event alerts move when it matters (production operations, item 8): with NATS down the
outbox backlog and its oldest event's age rise, read on their own timer, and fall back once the events are
published; every consumer's dead-letter counter is exported at 0 from the start, so Prometheus's increase()
sees its first dead letter."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from eastwest.embedded import NatsServer
from tests.harness import ADMIN, DatabaseFactory, Platform, eventually, make_settings, running_platform
from tests.integration.test_event_backbone import new_employer, post_job
from tests.integration.test_replicas import private_nats

__all__ = ["private_nats"]  # fixture


async def samples(platform: Platform, name: str) -> dict[str, float]:
    """`name`'s samples by their first label's value."""
    text = (await platform.client.get("/metrics")).text
    return {
        next(iter(sample.labels.values()), ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_outbox_gauges_rise_while_nats_is_down_and_fall_after(
    databases: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    settings = await make_settings(databases, private_nats.url, tmp_path, event_gauges_every_seconds=0.2)
    async with running_platform(settings) as platform:
        consumers = [c.name for name in platform.gateway.services for c in platform.runtime(name).consumers]
        dead_letters = await samples(platform, "ew_events_dead_lettered_total")
        assert set(consumers) <= set(dead_letters), "a consumer's dead-letter counter is not exported yet"

        async def outbox(backlog_at_least: int, *, old: bool) -> bool:
            backlog = (await samples(platform, "ew_outbox_backlog")).get("supply", -1)
            age = (await samples(platform, "ew_outbox_oldest_age_seconds")).get("supply", -1)
            if old:
                return backlog >= backlog_at_least and age > 0.5
            return backlog == 0 and age == 0

        await eventually(lambda: outbox(0, old=False), what="an empty outbox reported")
        employer_id = await new_employer(platform)
        await asyncio.to_thread(private_nats.stop)
        for index in range(3):
            await post_job(platform, employer_id, title=f"包装工{index}")
        await eventually(lambda: outbox(3, old=True), what="the waiting events and their age reported")
        await asyncio.to_thread(private_nats.start)
        await eventually(lambda: outbox(0, old=False), timeout=60, what="the outbox reported empty again")


async def test_open_sse_streams_are_counted_for_the_autoscaler(platform: Platform) -> None:
    """feed scales on its open streams (they use no CPU): the gauge follows a partner's stream open and shut."""

    async def open_streams() -> float:
        return (await samples(platform, "ew_sse_streams_open")).get("", -1)

    assert await open_streams() == 0
    async with platform.client.stream("GET", "/v1/feed/stream", headers=ADMIN) as response:
        assert response.status_code == 200

        async def counted() -> bool:
            return await open_streams() == 1

        await eventually(counted, what="the open stream counted")

    async def closed() -> bool:
        return await open_streams() == 0

    await eventually(closed, what="the closed stream no longer counted")
