"""The API's hot paths against a bare FastAPI app doing the same reads and writes on the same database.

- `GET /v1/feed?limit=50` on the platform, against a bare `GET /feed?limit=50` reading the 50 newest listed rows
  of the feed's own SQLite file (the same table, the same index) and answering their payloads.
- `POST /v1/jobs` on the platform (validation, compliance check, the row, its event in the outbox, the answer,
  then the relay's publish), against a bare
  `POST /jobs` that validates the same body with a pydantic model and, in one transaction, reads the employer,
  inserts the job and its event row, then answers the job.

The platform runs as deployed (`--topology pods`, the default): supply and feed each in a process of its own, so
a POST's row is supply's process (the request, its outbox row and the relay's publish) and the feed's consumer
works in feed's; `--topology embedded` puts both in one process, as `make run` does. The bare app runs in a child
process of its own too (uvicorn, one event loop each), with its SQLite set up the way the platform's is (WAL, up
to 30 s of waiting for the write lock, SQLAlchemy's async engine on aiosqlite). The load is a closed loop (`--clients` keep-alive connections, `--requests` in all) driven from this process on asyncio
streams (bench/runner.py `closed_loop`). Rounds are interleaved (platform feed, bare feed, platform post, bare
post, then again) so a busy spell of the machine hits every row alike; the table gives each row's best and
median throughput over the rounds and the server process's CPU milliseconds per request. No assertions.

    .venv/bin/python -m bench.api_paths                                  # 3 rounds of 2,000 requests, 20 clients
    .venv/bin/python -m bench.api_paths --rounds 5 --json /tmp/api_paths.json
    .venv/bin/python -m bench.api_paths --topology embedded              # supply and feed in one process
    .venv/bin/python -m bench.api_paths --profile /tmp/post_jobs.prof    # cProfile of POST /v1/jobs in-process
    .venv/bin/python -m bench.api_paths --profile /tmp/post_jobs.prof --services supply   # supply alone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/api_paths.py`
    sys.path.insert(0, str(ROOT))

from bench.runner import (  # noqa: E402
    OWN_PROCESS_ROOTS,
    Request,
    announce_and_wait,
    child_platform,
    closed_loop,
    cpu_snapshot,
    drop_databases,
    machine_info,
    percentile,
    platform_settings,
)
from eastwest.embedded import NatsServer, free_port  # noqa: E402
from libs.observability import configure_logging  # noqa: E402
from tests.factories import employer_body, job_body  # noqa: E402
from tests.harness import ADMIN, auth, running_platform  # noqa: E402

console = Console()
if not console.is_terminal:
    console.width = 200
err = Console(stderr=True)

SEED_JOBS = 200


@dataclass
class Row:
    path: str
    server: str
    rounds: list[float]  # requests per second, one per round
    cpu_ms_per_request: list[float]
    p50_ms: float | None
    p99_ms: float | None
    errors: int


# ----------------------------------------------------------------------------------------- the platform


async def serve_platform(args: argparse.Namespace) -> None:
    """Child side: the services named (one port), and where supply is among them an employer and SEED_JOBS
    jobs; then the plan."""
    workdir = Path(args.workdir)
    services = tuple(args.services.split(","))
    settings = await platform_settings("sqlite", args.nats_url, workdir, None)
    try:
        async with running_platform(settings, services) as running:
            plan: dict[str, Any] = {
                "base_url": running.base_url,
                "pid": os.getpid(),
                "feed_db": settings.database_urls["feed"],
            }
            if "supply" in services:
                employer = await running.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
                employer_id = employer.json()["id"]
                recruiter = auth("recruiter", employer_id=employer_id)
                for i in range(SEED_JOBS):
                    body = job_body(employer_id, title=f"电子产品装配工 {i}")
                    answer = await running.client.post("/v1/jobs", json=body, headers=recruiter)
                    answer.raise_for_status()
                plan |= {"employer_id": employer_id, "token": recruiter["Authorization"]}
            await announce_and_wait(workdir, plan)
    finally:
        await drop_databases(settings, None)


async def _feed_filled(base_url: str, token: str, limit_seconds: float = 120.0) -> None:
    """Until the feed lists 50 of the seeded jobs (its consumer may run in another process)."""
    deadline = time.monotonic() + limit_seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while time.monotonic() < deadline:
            feed = await client.get("/v1/feed", params={"limit": 50}, headers={"Authorization": token})
            if feed.status_code == 200 and len(feed.json()["items"]) == 50:
                return
            await asyncio.sleep(0.1)
    raise TimeoutError("the feed did not list the seeded jobs")


# ------------------------------------------------------------------------------------------ the bare app


class Benefits(BaseModel):
    """The bare app's body: the job fields the bench posts, checked the plain pydantic way."""

    dormitory: bool = False
    meals: bool = False
    social_insurance: bool = False


class JobIn(BaseModel):
    employer_id: str = Field(max_length=36)
    title: str = Field(min_length=1, max_length=60)
    description: str | None = Field(default=None, max_length=5000)
    industry: str | None = Field(default=None, max_length=40)
    city_code: str = Field(pattern=r"^32\d{2}$")
    headcount: int = Field(ge=1, le=100000)
    salary_min: int = Field(ge=0)
    salary_max: int = Field(ge=0)
    age_min: int | None = None
    age_max: int | None = None
    skills: list[str] = []
    benefits: Benefits = Benefits()
    shift: str | None = None
    contract_months: int | None = None


def bare_app(feed_db: str, write_db: str, employer_id: str) -> Any:
    """FastAPI at its plainest on the same stack: one engine per database, WAL and a busy timeout as the
    platform sets them, a pydantic model for the body, one query or one insert per request."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response
    from sqlalchemy import event, text
    from sqlalchemy.ext.asyncio import create_async_engine

    def engine(url: str) -> Any:
        created = create_async_engine(url)

        @event.listens_for(created.sync_engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return created

    reads, writes = engine(feed_db), engine(write_db)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with writes.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS employers (id TEXT PRIMARY KEY)"))
            await connection.execute(
                text("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, payload TEXT, created_at TEXT)")
            )
            await connection.execute(
                text("CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, subject TEXT, data TEXT)")
            )
            await connection.execute(
                text("INSERT OR IGNORE INTO employers VALUES (:id)"), {"id": employer_id}
            )
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/feed")
    async def feed(limit: int = 50) -> Response:
        async with reads.connect() as connection:
            rows = await connection.execute(
                text("SELECT payload FROM feed_jobs WHERE listed ORDER BY listed_seq DESC LIMIT :limit"),
                {"limit": limit},
            )
            items = [json.loads(payload) for (payload,) in rows]
        return JSONResponse({"items": items, "next_cursor": None})

    @app.post("/jobs", status_code=201)
    async def post_job(job: JobIn) -> Response:
        row = {"id": str(uuid.uuid4()), **job.model_dump(mode="json")}
        async with writes.begin() as connection:  # the employer, the job and its event in one transaction
            known = await connection.scalar(
                text("SELECT id FROM employers WHERE id = :id"), {"id": job.employer_id}
            )
            if known is None:
                return JSONResponse({"detail": "unknown employer"}, status_code=404)
            payload = json.dumps(row)
            await connection.execute(
                text("INSERT INTO jobs (id, payload, created_at) VALUES (:id, :payload, :at)"),
                {"id": row["id"], "payload": payload, "at": datetime.now(UTC).isoformat()},
            )
            await connection.execute(
                text("INSERT INTO outbox (id, subject, data) VALUES (:id, 'ew.supply.job.published', :data)"),
                {"id": str(uuid.uuid4()), "data": payload},
            )
        return JSONResponse(row, status_code=201)

    return app


async def serve_bare(args: argparse.Namespace) -> None:
    import uvicorn

    workdir = Path(args.workdir)
    port = free_port()
    write_db = f"sqlite+aiosqlite:///{workdir / 'bare-writes.db'}"
    server = uvicorn.Server(
        uvicorn.Config(
            bare_app(args.feed_db, write_db, args.employer_id),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event for it)
        await asyncio.sleep(0.02)
    await announce_and_wait(workdir, {"base_url": f"http://127.0.0.1:{port}", "pid": os.getpid()})
    server.should_exit = True
    await task


# ----------------------------------------------------------------------------------------- measurement


def _process_cpu(pid: int) -> float:
    return cpu_snapshot().processes.get(pid, 0.0)


async def _quiet(pid: int, idle_share: float = 0.03, limit_seconds: float = 300.0) -> None:
    """Until the process uses under `idle_share` of a core for half a second (its background work is done)."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        before = _process_cpu(pid)
        await asyncio.sleep(0.5)
        if _process_cpu(pid) - before < idle_share * 0.5:
            return


async def _round(
    base_url: str, pid: int, requests: Sequence[Request], clients: int, headers: dict[str, str]
) -> tuple[float, float, list[float], int]:
    before = _process_cpu(pid)
    started = time.perf_counter()
    shots = await closed_loop(base_url, clients, requests, headers)
    seconds = time.perf_counter() - started
    cpu = _process_cpu(pid) - before
    errors = sum(1 for shot in shots if shot.status is None or shot.status >= 300)
    latencies = [1000 * (shot.answered - shot.sent) for shot in shots]
    return len(shots) / seconds, 1000 * cpu / max(1, len(shots)), latencies, errors


async def measure(
    args: argparse.Namespace, feed: dict[str, Any], supply: dict[str, Any], bare: dict[str, Any]
) -> list[Row]:
    """`feed` and `supply`: the platform process serving each path (one process for both when embedded)."""
    headers = {"Authorization": supply["token"]}
    body = job_body(supply["employer_id"])
    plans: list[tuple[str, str, dict[str, Any], list[Request]]] = [
        ("GET feed, 50 rows", "platform", feed, [("GET", "/v1/feed?limit=50", None)] * args.requests),
        ("GET feed, 50 rows", "bare FastAPI", bare, [("GET", "/feed?limit=50", None)] * args.requests),
        ("POST job", "platform", supply, [("POST", "/v1/jobs", body)] * args.requests),
        ("POST job", "bare FastAPI", bare, [("POST", "/jobs", body)] * args.requests),
    ]
    rows = {(path, server): Row(path, server, [], [], None, None, 0) for path, server, _, _ in plans}
    latencies: dict[tuple[str, str], list[float]] = {key: [] for key in rows}
    for _path, _server, target, requests in plans:  # warm-up: connections, caches, the JIT-less first calls
        await closed_loop(target["base_url"], args.clients, requests[: args.clients * 5], headers)
    for round_number in range(args.rounds):
        for path, server, target, requests in plans:
            rps, cpu_ms, shot_ms, errors = await _round(
                target["base_url"], int(target["pid"]), requests, args.clients, headers
            )
            row = rows[(path, server)]
            row.rounds.append(rps)
            row.cpu_ms_per_request.append(cpu_ms)
            row.errors += errors
            latencies[(path, server)] += shot_ms
            err.print(
                f"[dim]round {round_number + 1}: {path} on {server}: {rps:,.0f}/s, {cpu_ms:.2f} ms CPU[/]"
            )
            await asyncio.sleep(
                1.0
            )  # the platform's relay and consumers finish the writes before the next row
    for key, row in rows.items():
        row.p50_ms = percentile(latencies[key], 50)
        row.p99_ms = percentile(latencies[key], 99)
    return list(rows.values())


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title=f"API hot paths ({args.topology}): {args.rounds} interleaved rounds of {args.requests:,} "
        f"requests, {args.clients} clients",
        title_justify="left",
    )
    columns = ("path", "server", "best req/s", "median req/s", "CPU ms/req", "p50 ms", "p99 ms", "errors")
    for name in columns:
        table.add_column(name, justify="left" if name in ("path", "server") else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.path,
            row.server,
            f"{max(row.rounds):,.0f}",
            f"{statistics.median(row.rounds):,.0f}",
            f"{statistics.median(row.cpu_ms_per_request):.2f}",
            "-" if row.p50_ms is None else f"{row.p50_ms:.1f}",
            "-" if row.p99_ms is None else f"{row.p99_ms:.1f}",
            str(row.errors),
        )
    console.print(table)
    for path in dict.fromkeys(row.path for row in rows):
        ours = next(row for row in rows if row.path == path and row.server == "platform")
        bare = next(row for row in rows if row.path == path and row.server != "platform")
        share = statistics.median(ours.rounds) / statistics.median(bare.rounds)
        console.print(f"{path}: the platform serves {share:.0%} of the bare app's requests per second")


async def run(args: argparse.Namespace, workdir: Path) -> None:
    nats_server = NatsServer(workdir / "nats", port=free_port(), log_file=workdir / "nats.log")
    machine = await asyncio.to_thread(machine_info)
    try:
        await asyncio.to_thread(nats_server.start)
        platform_dir, bare_dir = workdir / "platform", workdir / "bare"
        platform_dir.mkdir()
        bare_dir.mkdir()
        me = [sys.executable, "-m", "bench.api_paths"]
        env = dict(os.environ)

        def serve(services: str, where: Path) -> list[str]:
            where.mkdir(exist_ok=True)
            return [
                *me,
                "--serve-platform",
                "--services",
                services,
                "--nats-url",
                nats_server.url,
                "--workdir",
                str(where),
            ]

        async with contextlib.AsyncExitStack() as stack:
            if args.topology == "embedded":
                process, supply = await stack.enter_async_context(
                    child_platform(serve("supply,feed", platform_dir), env, platform_dir, 300, 60)
                )
                OWN_PROCESS_ROOTS.add(process.pid)
                feed = supply
            else:  # as deployed: each service in a process of its own
                feed_dir, supply_dir = platform_dir / "feed", platform_dir / "supply"
                process, feed = await stack.enter_async_context(
                    child_platform(serve("feed", feed_dir), env, feed_dir, 300, 60)
                )
                OWN_PROCESS_ROOTS.add(process.pid)
                process, supply = await stack.enter_async_context(
                    child_platform(serve("supply", supply_dir), env, supply_dir, 300, 60)
                )
                OWN_PROCESS_ROOTS.add(process.pid)
            await _feed_filled(feed["base_url"], supply["token"])
            bare_command = [*me, "--serve-bare", "--feed-db", feed["feed_db"], "--workdir", str(bare_dir)]
            bare_command += ["--employer-id", supply["employer_id"]]
            _, bare = await stack.enter_async_context(child_platform(bare_command, env, bare_dir, 60, 30))
            rows = await measure(args, feed, supply, bare)
    finally:
        await asyncio.to_thread(nats_server.stop)
        OWN_PROCESS_ROOTS.clear()
    print_table(rows, args)
    if args.json:
        report = {
            "benchmark": "api_paths",
            "at": datetime.now(UTC).isoformat(),
            "machine": machine,
            "settings": {
                "requests": args.requests,
                "clients": args.clients,
                "rounds": args.rounds,
                "topology": args.topology,
            },
            "rows": [asdict(row) for row in rows],
        }
        text = json.dumps(report, ensure_ascii=False, indent=2)
        await asyncio.to_thread(Path(args.json).write_text, text)
        console.print(f"results: {args.json}")


async def profile_post_jobs(args: argparse.Namespace, workdir: Path) -> None:
    """POST /v1/jobs in this process under cProfile, with the services `--services` names (supply and feed by
    default: their relay and consumers share the loop)."""
    nats_server = NatsServer(workdir / "nats", port=free_port(), log_file=workdir / "nats.log")
    await asyncio.to_thread(nats_server.start)
    settings = await platform_settings("sqlite", nats_server.url, workdir, None)
    try:
        async with running_platform(settings, tuple(args.services.split(","))) as running:
            employer = await running.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
            recruiter = auth("recruiter", employer_id=employer.json()["id"])
            body = job_body(employer.json()["id"])
            for _ in range(50):
                await running.client.post("/v1/jobs", json=body, headers=recruiter)
            profiler = cProfile.Profile()
            profiler.enable()
            requests: list[Request] = [("POST", "/v1/jobs", body)] * args.requests
            await closed_loop(running.base_url, args.clients, requests, recruiter)
            profiler.disable()
            profiler.dump_stats(args.profile)
            console.print(f"profile: {args.profile} (python -m pstats {args.profile}, then sort cumtime)")
    finally:
        await drop_databases(settings, None)
        await asyncio.to_thread(nats_server.stop)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--topology",
        choices=("pods", "embedded"),
        default="pods",
        help="pods: supply and feed each in a process of their own, as deployed; embedded: both in one",
    )
    parser.add_argument("--profile", default=None, help="write a cProfile of POST /v1/jobs here instead")
    parser.add_argument(
        "--services", default="supply,feed", help="with --profile: the services in the process"
    )
    parser.add_argument("--serve-platform", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--feed-db", help=argparse.SUPPRESS)
    parser.add_argument("--employer-id", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@contextlib.asynccontextmanager
async def _workdir() -> AsyncIterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ew-api-paths-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING")
    if args.serve_platform:
        asyncio.run(serve_platform(args))
        return
    if args.serve_bare:
        asyncio.run(serve_bare(args))
        return

    async def go() -> None:
        async with _workdir() as workdir:
            await (profile_post_jobs(args, workdir) if args.profile else run(args, workdir))

    asyncio.run(go())


if __name__ == "__main__":
    main()
