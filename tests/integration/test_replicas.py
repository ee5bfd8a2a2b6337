"""Two replicas of a service on one database and one NATS, as two Kubernetes pods run: every event relayed once
and consumed once, the work shared between the replicas."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from eastwest.embedded import NatsServer, free_port
from eastwest.services import FACTORIES
from libs import migrations
from libs.events.consumer import EventConsumer
from libs.runtime import ServiceRuntime
from libs.settings import Settings
from services.feed.models import FeedChange, FeedJob
from services.feed.models import platform as feed_tables
from services.supply.models import platform as supply_tables
from tests.factories import employer_body, job_body
from tests.harness import ADMIN, SECRET, DatabaseFactory, eventually

JOB_PUBLISHED = "ew.supply.job.published"
JOBS = 100


async def service_settings(
    databases: DatabaseFactory, nats_url: str, tmp_path: Path, services: list[str]
) -> Settings:
    """One fresh, migrated database per service; the replicas of a service share it."""
    urls: dict[str, str] = {}
    for name in services:
        urls[name] = await databases.create(name)
        await migrations.upgrade(name, urls[name])
    return Settings(
        environment="test",
        data_dir=tmp_path,
        database_urls=urls,
        nats_url=nats_url,
        jwt_secret=SecretStr(SECRET),
        relay_idle_seconds=0.2,
    )


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """One instance: its own uvicorn on a free port, its lifespan (relay, consumers) running."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.bus.wait_ready(), timeout=20)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


def runtime_of(app: FastAPI) -> ServiceRuntime:
    runtime: ServiceRuntime = app.state.runtime
    return runtime


def consumer_named(app: FastAPI, name: str) -> EventConsumer:
    return next(consumer for consumer in runtime_of(app).consumers if consumer.name == name)


@pytest.fixture
async def private_nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A nats-server of this test alone, on a port nobody prefers. The session's server takes 4222 when free,
    which is also the default `EW_NATS_URL`: any process on the machine started with the defaults would join
    it and take messages from the durable consumers under test (and a test that restarts it could find 4222
    taken by another test session meanwhile)."""
    server = NatsServer(tmp_path / "nats", port=free_port(), log_file=None)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
def postgres(postgres_admin_url: str, tmp_path: Path) -> DatabaseFactory:
    """Fresh PostgreSQL databases (these tests need a database server)."""
    return DatabaseFactory("postgres", tmp_path, postgres_admin_url)


@pytest.mark.postgres
async def test_two_replicas_relay_and_consume_each_event_once(
    postgres: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    """Two supply and two feed instances (each its own app, relay and consumers, on its own port); the
    supply pair shares one PostgreSQL database, the feed pair another, all four one NATS. PostgreSQL only:
    replicas need a database server (SQLite is a file per process, and its relay takes no row locks).

    What shows "relayed once": the stream alone cannot, since JetStream drops a re-publish of the same
    `Nats-Msg-Id` within its two-minute window. So each relay counts the publishes JetStream acknowledged and,
    among them, those JetStream reported as duplicates (`PubAck.duplicate`); with every outbox row sent, the
    two relays' counts summing to the number of outbox rows, with no duplicate, means no row was published
    twice (the rows are claimed `FOR UPDATE SKIP LOCKED` and marked sent in the same transaction). The stream
    then holds exactly one `job.published` message per job, with distinct event ids.

    What shows "consumed once": both feed instances pull from the one durable consumer `feed-jobs`, so
    JetStream hands each message to one of them; their handled counts sum to N with no duplicate seen by the
    inbox, the inbox holds each event id once, the feed each job once, and JetStream reports nothing
    redelivered or left unacknowledged.

    Both replicas doing some of the work is not guaranteed by the design, only made overwhelmingly likely:
    each supply instance's commits wake its own relay (the other relay polls), and both feed instances keep a
    pull request waiting while the other handles its batch; with 100 jobs posted over both, each does part.
    """
    settings = await service_settings(postgres, private_nats.url, tmp_path, ["supply", "feed"])
    supply = [FACTORIES["supply"](settings) for _ in range(2)]
    feed = [FACTORIES["feed"](settings) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(serving(app)) for app in (*supply, *feed)]
        supply_clients = clients[:2]

        response = await supply_clients[0].post("/v1/employers", json=employer_body(), headers=ADMIN)
        assert response.status_code == 201, response.text
        employer_id = str(response.json()["id"])
        semaphore = asyncio.Semaphore(16)

        async def post(index: int) -> str:
            async with semaphore:
                client = supply_clients[index % 2]
                body = job_body(employer_id, title=f"电子产品装配工{index:03d}")
                created = await client.post("/v1/jobs", json=body, headers=ADMIN)
                assert created.status_code == 201, created.text
                return str(created.json()["id"])

        job_ids = await asyncio.gather(*(post(index) for index in range(JOBS)))
        assert len(set(job_ids)) == JOBS

        supply_runtime = runtime_of(supply[0])
        feed_runtime = runtime_of(feed[0])
        consumers = [consumer_named(app, "feed-jobs") for app in feed]

        async def all_consumed() -> bool:
            return sum(consumer.processed for consumer in consumers) >= JOBS

        await eventually(all_consumed, timeout=60, what=f"{JOBS} job events handled by the feed instances")

        # Relayed once: every outbox row sent, each published by exactly one relay, no duplicate publish.
        outbox = supply_tables.outbox
        async with supply_runtime.sessions() as session:
            unsent = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )
            rows = (await session.execute(select(outbox.c.event_id, outbox.c.subject))).all()
        assert unsent == 0
        published_ids = {row.event_id for row in rows if row.subject == JOB_PUBLISHED}
        assert len(published_ids) == JOBS
        relays = [runtime_of(app).relay for app in supply]
        assert sum(relay.published for relay in relays) == len(rows), [r.published for r in relays]
        assert [relay.duplicates for relay in relays] == [0, 0]
        assert all(relay.published > 0 for relay in relays), [relay.published for relay in relays]

        # The stream: one job.published message per job, distinct event ids, the outbox's ids.
        js = supply_runtime.bus.js
        info = await js.stream_info("EW", subjects_filter=JOB_PUBLISHED)
        assert (info.state.subjects or {}).get(JOB_PUBLISHED) == JOBS
        stream_ids: list[str] = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg("EW", sequence)
            if message.subject == JOB_PUBLISHED:
                envelope: dict[str, Any] = json.loads(message.data or b"{}")
                stream_ids.append(str(envelope["id"]))
        assert len(stream_ids) == JOBS
        assert set(stream_ids) == published_ids

        # Consumed once: the work divided between the two feed instances, not duplicated.
        assert sum(consumer.processed for consumer in consumers) == JOBS
        assert [consumer.duplicates for consumer in consumers] == [0, 0]
        assert all(consumer.processed > 0 for consumer in consumers), [c.processed for c in consumers]

        async def all_acknowledged() -> bool:
            state = await js.consumer_info("EW", "feed-jobs")
            return bool(state.num_pending == 0 and state.num_ack_pending == 0)

        await eventually(all_acknowledged, what="feed-jobs fully acknowledged")
        state = await js.consumer_info("EW", "feed-jobs")
        assert state.num_redelivered == 0

        inbox = feed_tables.inbox
        async with feed_runtime.sessions() as session:
            inbox_ids = (
                await session.scalars(select(inbox.c.event_id).where(inbox.c.consumer == "feed-jobs"))
            ).all()
            feed_ids = (await session.scalars(select(FeedJob.job_id).where(FeedJob.listed.is_(True)))).all()
            changes = (
                await session.scalars(select(FeedChange.job_id).where(FeedChange.kind == "job.published"))
            ).all()
        assert len(inbox_ids) == JOBS and set(inbox_ids) == published_ids
        assert sorted(feed_ids) == sorted(job_ids)
        assert sorted(changes) == sorted(job_ids)
