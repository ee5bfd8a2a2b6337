"""The event backbone under failure: relay crashes, a consumer outage, a NATS restart, poison events."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StreamConfig
from sqlalchemy import event, func, select

from eastwest.embedded import NatsServer
from libs.events.bus import ensure_stream
from libs.events.relay import OutboxRelay
from services.feed.models import FeedChange, FeedJob
from services.supply.models import platform as supply_tables
from tests.factories import employer_body, job_body
from tests.harness import ADMIN, DatabaseFactory, Platform, eventually, make_settings, running_platform


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


async def new_employer(platform: Platform) -> str:
    response = await platform.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def post_job(platform: Platform, employer_id: str, **overrides: Any) -> str:
    response = await platform.client.post("/v1/jobs", json=job_body(employer_id, **overrides), headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def unsent_events(platform: Platform) -> int:
    outbox = supply_tables.outbox
    async with platform.runtime("supply").sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
    return int(count or 0)


async def feed_counts(platform: Platform) -> tuple[int, int, int]:
    """(listed jobs, publication changes, distinct jobs among those changes)."""
    async with platform.runtime("feed").sessions() as session:
        listed = await session.scalar(
            select(func.count()).select_from(FeedJob).where(FeedJob.listed.is_(True))
        )
        published = select(FeedChange).where(FeedChange.kind == "job.published").subquery()
        changes = await session.scalar(select(func.count()).select_from(published))
        distinct = await session.scalar(select(func.count(func.distinct(published.c.job_id))))
    return int(listed or 0), int(changes or 0), int(distinct or 0)


async def stream_messages(platform: Platform) -> int:
    """Supply's messages on the stream (other services publish their own, e.g. monitoring's monthly report)."""
    info = await platform.runtime("supply").bus.js.stream_info("EW", subjects_filter="ew.supply.>")
    return sum((info.state.subjects or {}).values())


async def test_relay_crash_before_publish_loses_nothing(platform: Platform) -> None:
    await platform.stop_task("relay-supply")
    employer_id = await new_employer(platform)
    job_id = await post_job(platform, employer_id)
    assert await unsent_events(platform) == 1  # committed with the job, not yet published
    await asyncio.sleep(0.5)
    assert await stream_messages(platform) == 0

    runtime = platform.runtime("supply")
    platform.start_task("supply", "relay-supply", runtime.relay.run())

    async def delivered() -> bool:
        return await feed_counts(platform) == (1, 1, 1)

    await eventually(delivered, what="the job in the feed once")
    assert await unsent_events(platform) == 0
    assert await stream_messages(platform) == 1
    feed = await platform.client.get("/v1/feed", headers=ADMIN)
    assert [item["id"] for item in feed.json()["items"]] == [job_id]


async def test_relay_crash_after_publish_before_ack_is_recorded(platform: Platform) -> None:
    await platform.stop_task("relay-supply")
    employer_id = await new_employer(platform)
    await post_job(platform, employer_id)
    runtime = platform.runtime("supply")

    class CrashingRelay(OutboxRelay):
        async def _mark_sent(self, *args: Any, **kwargs: Any) -> None:
            raise Crash

    crashing = CrashingRelay(
        service="supply", sessions=runtime.sessions, outbox=supply_tables.outbox, bus=runtime.bus
    )
    try:
        await crashing.relay_once()
        raise AssertionError("the relay should have crashed")
    except Crash:
        pass
    assert await stream_messages(platform) == 1  # published, acknowledged by JetStream...
    assert await unsent_events(platform) == 1  # ...but the relay died before recording it

    platform.start_task("supply", "relay-supply", runtime.relay.run())  # the restarted relay publishes again

    async def recorded() -> bool:
        return await unsent_events(platform) == 0

    await eventually(recorded, what="the restarted relay records the event")
    assert await stream_messages(platform) == 1  # Nats-Msg-Id: JetStream dropped the second publish

    async def delivered() -> bool:
        return (await feed_counts(platform))[0] == 1

    await eventually(delivered, what="the job in the feed")
    await asyncio.sleep(0.3)
    assert await feed_counts(platform) == (1, 1, 1)


async def test_consumer_outage_catches_up_with_every_job_once(platform: Platform) -> None:
    await platform.stop_task("consumer-feed-jobs")
    employer_id = await new_employer(platform)
    semaphore = asyncio.Semaphore(10)

    async def post(index: int) -> str:
        async with semaphore:
            return await post_job(platform, employer_id, title=f"电子产品装配工{index:03d}")

    job_ids = await asyncio.gather(*(post(index) for index in range(200)))
    assert len(set(job_ids)) == 200

    async def all_relayed() -> bool:
        return await unsent_events(platform) == 0

    await eventually(all_relayed, what="all 200 events relayed")
    assert await feed_counts(platform) == (0, 0, 0)

    consumer = platform.runtime("feed").consumers[0]
    inbox_writes: list[int] = []  # the feed's inbox INSERTs while it catches up, and how many rows each

    def count_inbox_writes(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("INSERT INTO inbox"):
            many = (
                isinstance(parameters, list) and bool(parameters) and isinstance(parameters[0], tuple | dict)
            )
            inbox_writes.append(len(parameters) if many else 1)

    engine = platform.runtime("feed").engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_inbox_writes)
    platform.start_task("feed", "consumer-feed-jobs", consumer.run())

    async def caught_up() -> bool:
        return (await feed_counts(platform))[0] == 200

    await eventually(caught_up, timeout=60, what="the feed catches up")
    await asyncio.sleep(0.5)
    event.remove(engine, "before_cursor_execute", count_inbox_writes)
    assert await feed_counts(platform) == (200, 200, 200)
    # the backlog came in fetched batches, each handled in one transaction with one inbox write
    assert sum(inbox_writes) == 200 and len(inbox_writes) < 200 / 4, inbox_writes


async def test_nats_restart_mid_stream_resumes_by_itself(platform: Platform, nats_server: NatsServer) -> None:
    employer_id = await new_employer(platform)
    before = [await post_job(platform, employer_id, title=f"仓库管理员{index}") for index in range(10)]

    async def listed(count: int) -> bool:
        return (await feed_counts(platform))[0] == count

    await eventually(lambda: listed(10), what="first jobs listed")
    await asyncio.to_thread(nats_server.stop)

    async def ready_without_nats() -> bool:  # NATS is reported down, and every service stays in rotation
        response = await platform.client.get("/readyz")
        return response.status_code == 200 and response.json()["services"]["feed"]["nats"] is False

    await eventually(ready_without_nats, what="NATS reported down while the platform stays ready")
    during = [await post_job(platform, employer_id, title=f"快递分拣员{index}") for index in range(10)]
    assert await unsent_events(platform) >= 1  # kept in the outbox while NATS is away
    await asyncio.to_thread(nats_server.start)

    async def nats_back() -> bool:
        response = await platform.client.get("/readyz")
        return response.status_code == 200 and response.json()["services"]["feed"]["nats"] is True

    await eventually(nats_back, timeout=30, what="NATS reported back")
    after = [await post_job(platform, employer_id, title=f"保安员{index}") for index in range(10)]
    await eventually(lambda: listed(30), timeout=60, what="every job in the feed after the restart")
    assert len(set(before + during + after)) == 30
    await asyncio.sleep(0.3)
    assert await feed_counts(platform) == (30, 30, 30)


async def test_poison_events_go_to_the_dead_letter_subject(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> None:
    settings = await make_settings(databases, nats_server.url, tmp_path, consumer_max_deliver=2)
    async with running_platform(settings) as platform:
        js = platform.runtime("supply").bus.js
        envelope = {
            "specversion": "1.0",
            "id": "poison-1",
            "source": "/test",
            "type": "ew.supply.job.published",
            "time": "2026-11-28T00:00:00Z",
            "data": {"id": "no-such-fields"},
        }
        await js.publish(
            "ew.supply.job.published", json.dumps(envelope).encode(), headers={"Nats-Msg-Id": "p1"}
        )
        await js.publish("ew.supply.job.updated", b"not json at all", headers={"Nats-Msg-Id": "p2"})

        async def dead_lettered() -> bool:
            info = await js.stream_info("EW_DLQ", subjects_filter="dlq.ew.>")
            # each consumer of job events dead-letters both (feed, matching, demand); feed's are checked here
            return (info.state.subjects or {}).get("dlq.ew.feed-jobs") == 2

        await eventually(dead_lettered, what="both poison events dead-lettered")
        last = await js.get_last_msg("EW_DLQ", "dlq.ew.feed-jobs")
        dead_letters = await js.stream_info("EW_DLQ")  # a stream of their own: longer kept, bounded in size
        assert dead_letters.config.max_age == 90 * 86400 and dead_letters.config.max_bytes == 1 << 30
        assert last.headers is not None and "ew-dead-letter-reason" in last.headers
        # the consumer goes on with good events
        employer_id = await new_employer(platform)
        await post_job(platform, employer_id)

        async def good_one_listed() -> bool:
            return (await feed_counts(platform))[0] == 1

        await eventually(good_one_listed, what="a good event after the poison ones")


async def test_a_poison_event_in_a_batch_leaves_the_others_handled_once(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> None:
    settings = await make_settings(databases, nats_server.url, tmp_path, consumer_max_deliver=2)
    async with running_platform(settings) as platform:
        await platform.stop_task("consumer-feed-jobs")
        employer_id = await new_employer(platform)
        first = [await post_job(platform, employer_id, title=f"焊工{index}") for index in range(5)]

        async def relayed() -> bool:
            return await unsent_events(platform) == 0

        await eventually(relayed, what="the first jobs relayed")
        envelope = {
            "specversion": "1.0",
            "id": "poison-in-a-batch",
            "source": "/test",
            "type": "ew.supply.job.published",
            "time": "2026-12-07T00:00:00Z",
            "data": {"id": "no-such-fields"},
        }
        js = platform.runtime("supply").bus.js
        await js.publish(
            "ew.supply.job.published", json.dumps(envelope).encode(), headers={"Nats-Msg-Id": "pb"}
        )
        second = [await post_job(platform, employer_id, title=f"电工{index}") for index in range(5)]
        await eventually(relayed, what="the other jobs relayed")
        consumer = platform.runtime("feed").consumers[0]
        platform.start_task("feed", "consumer-feed-jobs", consumer.run())

        async def settled() -> bool:
            info = await js.stream_info("EW_DLQ", subjects_filter="dlq.ew.>")
            dead = (info.state.subjects or {}).get("dlq.ew.feed-jobs") == 1
            return dead and (await feed_counts(platform))[0] == 10

        await eventually(settled, timeout=60, what="ten jobs listed and the poison event dead-lettered")
        await asyncio.sleep(0.3)
        assert len(set(first + second)) == 10
        assert await feed_counts(platform) == (10, 10, 10)  # each good one handled exactly once


async def test_an_existing_stream_keeps_its_settings(nats_server: NatsServer, clean_stream: None) -> None:
    """A stream an operator edited (say to three replicas on the cluster) is not set back by a pod that starts
    with other configuration: the difference is logged, the stream kept as it is."""
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        name = f"EWSETTINGS{uuid.uuid4().hex[:6].upper()}"
        await js.add_stream(StreamConfig(name=name, subjects=[f"ewsettings.{name}.>"], max_age=3600.0))
        await ensure_stream(js, name, replicas=1, max_age_days=2)
        info = await js.stream_info(name)
        assert info.config.max_age == 3600.0 and info.config.subjects == [f"ewsettings.{name}.>"]
        assert info.config.num_replicas == 1
        await js.delete_stream(name)
        await js.delete_stream(f"{name}_DLQ")  # its dead letters' stream, made beside it
    finally:
        await client.close()
