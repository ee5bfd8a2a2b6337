"""Graceful behaviour: readiness follows the database and NATS, the outbox holds events while NATS is away, and
SIGTERM finishes what is in hand (a request, an event handler) before the process exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import httpx
import nats
import pytest
from fastapi import FastAPI

from eastwest.embedded import NatsServer, free_port
from eastwest.services import FACTORIES
from libs import migrations
from libs.db import beijing_date
from libs.events.contracts import PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import nats_headers, new_event
from libs.settings import Settings
from tests.factories import employer_body, job_body
from tests.harness import (
    ADMIN,
    SECRET,
    DatabaseFactory,
    Platform,
    eventually,
    make_settings,
    reaches,
    running_platform,
    token,
)
from tests.integration.test_event_backbone import feed_counts, new_employer, post_job, unsent_events
from tests.integration.test_replicas import postgres, private_nats, runtime_of, service_settings, serving

# How long a pod stays in rotation with its database unreachable (90 s by default; shorter in this test).
GRACE_SECONDS = 3.0
# How long NATS stays down beyond the first posts kept in the outbox (EW_TEST_NATS_OUTAGE_SECONDS=60: the
# production-operations issue's 60 s).
NATS_OUTAGE_SECONDS = float(os.environ.get("EW_TEST_NATS_OUTAGE_SECONDS", "0"))

__all__ = ["postgres", "private_nats"]  # fixtures shared with test_replicas


# --- the database unreachable --------------------------------------------------------------------------------


class TcpProxy:
    """A TCP relay in front of PostgreSQL: `cut()` makes the database unreachable from the service (new
    connections refused, open ones reset, as in a network partition), `restore()` reconnects it."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        socket_dir = parse_qs(parts.query).get("host", [None])[0]
        # The embedded server listens on a Unix socket (`?host=DIR`), a configured one on host:port.
        self.unix_path = next(Path(socket_dir).glob(".s.PGSQL.*"), None) if socket_dir else None
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url_for(self, database_url: str) -> str:
        """The service's database URL, through the proxy."""
        parts = urlsplit(database_url)
        credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit((parts.scheme, f"{credentials}127.0.0.1:{self.port}", parts.path, "", ""))

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.unix_path is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(str(self.unix_path))
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


async def behind_a_proxy(settings: Settings, service: str, **overrides: Any) -> tuple[Settings, TcpProxy]:
    """The settings with `service`'s database reached through a TCP proxy the test can cut, and the proxy."""
    proxy = TcpProxy(settings.database_urls[service])
    await proxy.restore()
    urls = {**settings.database_urls, service: proxy.url_for(settings.database_urls[service])}
    return settings.model_copy(update={"database_urls": urls, **overrides}), proxy


@pytest.mark.postgres
async def test_database_unreachable_turns_readiness_false_after_the_grace_then_true(
    postgres: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    """A supply instance reaches its PostgreSQL database through a TCP proxy that the test cuts: /readyz says
    `database: false` at once but stays 200 for the grace period, then 503 while it is still cut, 200 once it
    is back, and a job posted then reaches the feed. PostgreSQL only: a SQLite file is opened by the service
    process itself and cannot become unreachable while it runs (and file permissions do not stop root)."""
    settings = await service_settings(postgres, private_nats.url, tmp_path, ["supply", "feed"])
    settings, proxy = await behind_a_proxy(settings, "supply", readiness_grace_seconds=GRACE_SECONDS)
    supply_app, feed_app = FACTORIES["supply"](settings), FACTORIES["feed"](settings)
    try:
        async with serving(supply_app) as supply, serving(feed_app):
            await exercise_database_outage(proxy, supply, feed_app)
    finally:
        await proxy.cut()


async def exercise_database_outage(proxy: TcpProxy, supply: httpx.AsyncClient, feed_app: FastAPI) -> None:
    async def readiness(status: int, database: bool) -> bool:
        response = await supply.get("/readyz")
        checks = response.json()["checks"]
        return response.status_code == status and checks == {
            "database": database,
            "nats": True,
            "schema": True,
            "serving": True,
        }

    await eventually(lambda: readiness(200, True), what="ready with the database reachable")
    await proxy.cut()
    # The first probe that finds it unreachable counts the grace from now: reported, still in rotation.
    await eventually(lambda: readiness(200, False), what="the outage reported, the pod still ready")
    await eventually(lambda: readiness(503, False), what="readiness false once the outage lasts")
    await proxy.restore()
    await eventually(lambda: readiness(200, True), what="readiness true again")

    employer = await supply.post("/v1/employers", json=employer_body(), headers=ADMIN)
    assert employer.status_code == 201, employer.text
    job = await supply.post("/v1/jobs", json=job_body(employer.json()["id"]), headers=ADMIN)
    assert job.status_code == 201, job.text
    consumer = next(c for c in runtime_of(feed_app).consumers if c.name == "feed-jobs")

    async def in_feed() -> bool:
        return consumer.processed == 1

    await eventually(in_feed, what="the job posted after the outage handled by the feed")


# --- NATS stopped while jobs are being posted ------------------------------------------------------------------


async def test_nats_stopped_while_jobs_are_posted(
    databases: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    """test_event_backbone stops NATS between batches of posts; here three posters never stop, so the server
    goes away while jobs are being committed and relayed. Every service stays ready (NATS reported down),
    posts still succeed and their events wait in the outbox, NATS is reported back after the restart, and
    every job reaches the feed exactly once. A NATS server of its own (see `private_nats`)."""
    settings = await make_settings(databases, private_nats.url, tmp_path)
    async with running_platform(settings) as platform:
        await exercise_nats_outage(platform, private_nats)


async def exercise_nats_outage(platform: Platform, nats_server: NatsServer) -> None:
    employer_id = await new_employer(platform)
    posted: list[str] = []
    done = asyncio.Event()

    async def poster(worker: int) -> None:
        index = 0
        while not done.is_set():
            posted.append(await post_job(platform, employer_id, title=f"普工{worker}-{index:04d}"))
            index += 1
            await asyncio.sleep(0.05)  # pacing the load, not waiting for anything

    async def listed_at_least(count: int) -> bool:
        return (await feed_counts(platform))[0] >= count

    async def ready_with(nats_up: bool) -> bool:  # ready either way: NATS never takes a pod out of rotation
        response = await platform.client.get("/readyz")
        services = response.json()["services"]
        return response.status_code == 200 and all(checks["nats"] is nats_up for checks in services.values())

    posters = [asyncio.create_task(poster(worker)) for worker in range(3)]
    try:
        await eventually(lambda: listed_at_least(5), what="jobs flowing to the feed")
        await asyncio.to_thread(nats_server.stop)
        at_stop = len(posted)
        await eventually(lambda: ready_with(False), what="NATS reported down, every service still ready")

        async def kept_in_outbox() -> bool:
            return len(posted) >= at_stop + 10 and await unsent_events(platform) >= 1

        await eventually(kept_in_outbox, what="posts during the outage kept in the outbox")
        await asyncio.sleep(NATS_OUTAGE_SECONDS)  # longer outages on request; the posters keep posting
        assert await ready_with(False), "a service left rotation while NATS was down"
        await asyncio.to_thread(nats_server.start)
        await eventually(lambda: ready_with(True), timeout=30, what="NATS reported back")
        at_restart = len(posted)

        async def posted_after_restart() -> bool:
            return len(posted) >= at_restart + 10

        await eventually(posted_after_restart, what="posts after the restart")
    finally:
        done.set()
        await asyncio.gather(*posters)
    total = len(posted)
    assert len(set(posted)) == total
    # thousands after a long outage: bounded by progress, not by the clock
    await reaches(lambda: _listed(platform), total, what="jobs in the feed")

    async def all_relayed() -> bool:
        return await unsent_events(platform) == 0

    await eventually(all_relayed, what="the outbox emptied")
    assert await feed_counts(platform) == (total, total, total)


async def _listed(platform: Platform) -> int:
    return (await feed_counts(platform))[0]


# --- SIGTERM on a real process -----------------------------------------------------------------------------


class ProcessLog:
    """The JSON log lines of a subprocess, as they come."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))

    def find(self, event: str) -> dict[str, Any] | None:
        return next((line for line in self.lines if line.get("event") == event), None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, timeout=5)


@contextlib.asynccontextmanager
async def serve_process(
    service: str, database_url: str, nats_url: str, tmp_path: Path, *options: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, ProcessLog, int]]:
    """`eastwest serve SERVICE` as a container runs it: its own process, configured by the environment."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("EW_")}
    env.update(
        EW_ENVIRONMENT="test",
        EW_DATABASE_URL=database_url,
        EW_NATS_URL=nats_url,
        EW_JWT_SECRET=SECRET,
        EW_DATA_DIR=str(tmp_path),
        EW_LOG_LEVEL="INFO",
        EW_LOG_JSON="true",
        EW_RELAY_IDLE_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    command = [str(Path(sys.executable).parent / "eastwest"), "serve", service, "--host", "127.0.0.1"]
    stderr = await asyncio.to_thread((tmp_path / f"{service}.stderr").open, "wb")
    try:
        process = await asyncio.create_subprocess_exec(
            *command, "--port", str(port), *options, stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env
        )
        assert process.stdout is not None
        log = ProcessLog(process.stdout)
        try:
            yield process, log, port
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await log.close()
    finally:
        stderr.close()


async def get_status(port: int, path: str) -> tuple[int, dict[str, Any]] | None:
    """One request on a fresh connection; None when nothing listens any more."""
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            response = await client.get(path)
    except httpx.ConnectError:
        return None
    return response.status_code, response.json()


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


@pytest.mark.postgres
async def test_sigterm_finishes_the_request_and_the_handler_in_hand_then_exits_0(
    postgres: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    """`eastwest serve supply --shutdown-delay 3` in its own process. Before SIGTERM it has in hand:

    - an event handler: a placement for a job whose row the test holds locked (`SELECT ... FOR UPDATE`), so
      the handler waits inside its transaction (JetStream shows the message delivered and not acknowledged,
      PostgreSQL a session blocked by the test's lock);
    - a request: `POST /v1/jobs` with `Expect: 100-continue`; the `100 Continue` answer shows the app is
      reading the body, which the test sends only after SIGTERM.

    Then: /readyz answers 503 (`serving: false`) while the listener stays open for the delay; the listener
    closes; the request, given its body, completes with 201; the service's shutdown starts with the handler
    still in hand (its `service.draining` log line); the test releases the row; the handler commits and acks;
    the outbox is flushed (the job.updated event the handler wrote reaches the stream); the process exits 0.
    Afterwards JetStream has nothing pending, unacknowledged or redelivered, and the inbox holds the event.
    PostgreSQL: a row lock holds one handler while other writes go on (SQLite has one lock per file)."""
    database_url = await postgres.create("supply")
    await migrations.upgrade("supply", database_url)
    libpq_url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await nats.connect(private_nats.url)
    js = connection.jetstream()
    lock = await asyncpg.connect(libpq_url)
    try:
        async with serve_process(
            "supply", database_url, private_nats.url, tmp_path, "--shutdown-delay", "3"
        ) as (process, log, port):

            async def ready() -> bool:
                answer = await get_status(port, "/readyz")
                if answer is None or answer[0] != 200:
                    return False
                with contextlib.suppress(Exception):
                    await js.consumer_info("EW", "supply-placements")
                    return True
                return False

            await eventually(ready, what="the service ready, its consumer subscribed")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                employer = await client.post("/v1/employers", json=employer_body(), headers=ADMIN)
                assert employer.status_code == 201, employer.text
                employer_id = employer.json()["id"]
                job = await client.post("/v1/jobs", json=job_body(employer_id, headcount=5), headers=ADMIN)
                assert job.status_code == 201, job.text
                job_id = str(job.json()["id"])

            # 1. An event handler in hand, waiting for the row the test holds.
            transaction = lock.transaction()
            await transaction.start()
            await lock.execute("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", job_id)
            placement = PlacementConfirmed(
                placement_id="pl-1", person_id="p-1", job_id=job_id, start_date=beijing_date()
            )
            event = new_event("matching", PLACEMENT_CONFIRMED, job_id, placement.model_dump(mode="json"))
            envelope = event.model_dump(mode="json")
            await js.publish(
                PLACEMENT_CONFIRMED, json.dumps(envelope).encode(), headers=nats_headers(envelope)
            )

            async def handler_waiting() -> bool:
                info = await js.consumer_info("EW", "supply-placements")
                # pg_locks, not pg_stat_activity: the latter may still show a fresh backend as 'starting'.
                waiting = await lock.fetchval(
                    "SELECT count(DISTINCT pid) FROM pg_locks"
                    " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                )
                return bool(info.num_ack_pending == 1 and waiting == 1)

            await eventually(handler_waiting, what="the handler waiting for the locked row")

            # 2. A request in hand: the app is reading its body.
            body = json.dumps(job_body(employer_id, title="仓库管理员")).encode()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                (
                    "POST /v1/jobs HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {token('admin', sub='admin-1')}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    "Expect: 100-continue\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            assert interim.startswith(b"HTTP/1.1 100"), interim

            # 3. SIGTERM: readiness 503 while still listening, then the listener closes.
            process.send_signal(signal.SIGTERM)

            async def not_ready() -> bool:
                answer = await get_status(port, "/readyz")
                return answer is not None and answer[0] == 503 and answer[1]["checks"]["serving"] is False

            await eventually(not_ready, what="readiness 503 during the shutdown delay")
            await eventually(lambda: refused(port), what="the listener closed after the delay")
            assert process.returncode is None

            # 4. The request in hand completes.
            writer.write(body)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), timeout=10)
            writer.close()
            status_line, _, rest = response.partition(b"\r\n")
            assert status_line.startswith(b"HTTP/1.1 201"), response
            created_id = json.loads(rest.partition(b"\r\n\r\n")[2])["id"]

            # 5. The service drains with the handler still in hand; released, it finishes.
            async def draining() -> bool:
                return log.find("service.draining") is not None

            await eventually(draining, what="the service's shutdown started")
            assert (log.find("service.draining") or {}).get("handling") == ["supply-placements"]
            await transaction.rollback()
            returncode = await asyncio.wait_for(process.wait(), timeout=30)
            assert returncode == 0, (tmp_path / "supply.stderr").read_text()[-2000:]

        assert log.find("service.stopped") is not None
        assert log.find("service.drain_timeout") is None
        flushed = log.find("service.outbox_flushed")
        assert flushed is not None and flushed["events"] >= 1

        # The handler's work committed once, its message acknowledged (not redelivered), its event relayed.
        assert await lock.fetchval("SELECT filled FROM jobs WHERE id = $1", job_id) == 1
        assert await lock.fetchval("SELECT count(*) FROM jobs WHERE id = $1", created_id) == 1
        assert (
            await lock.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = 'supply-placements' AND event_id = $1", event.id
            )
            == 1
        )
        assert await lock.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        info = await js.consumer_info("EW", "supply-placements")
        assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
        updated = await js.stream_info("EW", subjects_filter="ew.supply.job.updated")
        assert (updated.state.subjects or {}).get("ew.supply.job.updated") == 1
    finally:
        await lock.close()
        await connection.close()
