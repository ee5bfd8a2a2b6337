"""The platform through PgBouncer in transaction mode, as on Kubernetes (the CloudNativePG Pooler; production
operations, item 3): Debian's pgbouncer runs in front of the test suite's PostgreSQL, where consecutive
transactions of one client may run on different server connections. asyncpg's prepared-statement caches break
there (`EW_DATABASE_PGBOUNCER` turns them off); with it, a burst of writes and reads goes through untouched."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from eastwest.embedded import NatsServer, free_port
from libs.db import create_engine
from tests.harness import (
    ADMIN,
    DatabaseFactory,
    eventually,
    gather_with_progress,
    make_settings,
    running_platform,
)
from tests.integration.test_event_backbone import feed_counts, new_employer, post_job
from tests.integration.test_replicas import postgres

__all__ = ["postgres"]  # fixture

PGBOUNCER = Path("/usr/sbin/pgbouncer")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PGBOUNCER.exists(), reason="pgbouncer is not installed (apt-get install -y pgbouncer)"
    ),
]


@pytest.fixture(scope="module")
def pgbouncer(postgres_admin_url: str) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the suite's PostgreSQL; yields its host:port. A small
    server pool, so that one client's transactions really do move between server connections."""
    server = urlsplit(postgres_admin_url)
    socket_dir = parse_qs(server.query).get("host", [None])[0]
    if socket_dir:  # the embedded server listens on a unix socket, as the user it runs as
        host, port = socket_dir, next(Path(socket_dir).glob(".s.PGSQL.*")).suffix.lstrip(".")
        user = pwd.getpwuid(os.stat(socket_dir).st_uid).pw_name
    else:
        host, port, user = server.hostname or "127.0.0.1", str(server.port or 5432), "nobody"
    folder = Path(tempfile.mkdtemp(prefix="ew-test-pgbouncer-"))
    folder.chmod(0o755)
    listen = free_port()
    (folder / "users.txt").write_text(f'"{server.username}" "{server.password or ""}"\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 3\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    process = subprocess.Popen(
        [str(PGBOUNCER), "-u", user, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not _listening(listen):
        assert process.poll() is None and time.monotonic() < deadline, "pgbouncer did not start"
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{listen}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def through(url: str, bouncer: str) -> str:
    """The same database and user, reached through PgBouncer."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{user}@{bouncer}", parts.path, "", ""))


async def statement_failures(url: str, *, pgbouncer: bool) -> int:
    """Failed statements among many small parametrised queries on six connections at once."""
    engine = create_engine(url, pgbouncer=pgbouncer)
    failures = 0

    async def client(worker: int) -> None:
        nonlocal failures
        for turn in range(15):
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT CAST(:n AS integer) + 1"), {"n": worker + turn})
            except Exception:
                failures += 1

    try:
        await asyncio.gather(*(client(worker) for worker in range(6)))
    finally:
        await engine.dispose()
    return failures


async def test_asyncpg_needs_the_pgbouncer_setting_in_transaction_mode(
    postgres: DatabaseFactory, pgbouncer: str
) -> None:
    url = through(await postgres.create("supply"), pgbouncer)
    assert await statement_failures(url, pgbouncer=False) > 0  # what a default engine meets
    assert await statement_failures(url, pgbouncer=True) == 0


async def test_the_platform_works_through_pgbouncer(
    postgres: DatabaseFactory, pgbouncer: str, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> None:
    """Every service on PgBouncer: forty jobs posted twenty at a time reach the feed through the outbox, the
    relay and the consumers, each once, with every answer a 201."""
    settings = await make_settings(postgres, nats_server.url, tmp_path)  # migrated directly, as the Jobs are
    pooled = {name: through(url, pgbouncer) for name, url in settings.database_urls.items()}
    settings = settings.model_copy(update={"database_urls": pooled, "database_pgbouncer": True})
    async with running_platform(settings) as platform:
        employer_id = await new_employer(platform)
        turns = asyncio.Semaphore(20)

        async def post(index: int) -> str:
            async with turns:
                return await post_job(platform, employer_id, title=f"仓管员{index}")

        jobs = await gather_with_progress(post(index) for index in range(40))
        assert len(set(jobs)) == 40

        async def all_listed() -> bool:
            return (await feed_counts(platform))[0] == 40

        await eventually(all_listed, timeout=60, what="every job in the feed")
        assert (await platform.client.get("/readyz")).status_code == 200
        page = await platform.client.get("/v1/jobs", params={"limit": 100}, headers=ADMIN)
        assert page.status_code == 200 and len(page.json()["items"]) == 40
