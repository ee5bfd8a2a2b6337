"""The platform as the tests drive it: real HTTP on a free port, real NATS, a database per service."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from pydantic import SecretStr

from eastwest.embedded import free_port
from eastwest.gateway import Gateway, create_gateway
from eastwest.running import gateway_server
from eastwest.services import FACTORIES
from libs import migrations
from libs.auth import Role, issue_token
from libs.db import beijing_date
from libs.runtime import ServiceRuntime
from libs.settings import Settings


class DatabaseFactory:
    """Fresh, empty databases for one test: one per service, as in production."""

    def __init__(self, backend: str, tmp_path: Path, admin_url: str | None) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.admin_url = admin_url

    async def create(self, service: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp_path / f'{service}-{uuid.uuid4().hex[:6]}.db'}"
        assert self.admin_url is not None
        name = f"ew_{service}_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return _with_database(self.admin_url, name).replace("postgresql://", "postgresql+asyncpg://", 1)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


SECRET = "test-secret-" + "x" * 32
PII_KEY = "11" * 32
PII_HASH_KEY = "22" * 32
INTERNAL_SECRET = "internal-test-secret-" + "y" * 32


def token(role: Role | str, **claims: Any) -> str:
    return issue_token(SECRET, role=Role(role), **claims)


def auth(role: Role | str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **claims)}"}


ADMIN = auth(Role.admin, sub="admin-1")
PUBLIC = auth(Role.public, sub="public-1")


@dataclass
class Platform:
    settings: Settings
    gateway: Gateway
    base_url: str
    client: httpx.AsyncClient

    def runtime(self, service: str) -> ServiceRuntime:
        runtime: ServiceRuntime = self.gateway.services[service].state.runtime
        return runtime

    def task(self, name: str) -> asyncio.Task[None]:
        for runtime in (self.runtime(service) for service in self.gateway.services):
            for task in runtime.tasks:
                if task.get_name() == name:
                    return task
        raise KeyError(name)

    async def stop_task(self, name: str) -> None:
        task = self.task(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for runtime in (self.runtime(service) for service in self.gateway.services):
            if task in runtime.tasks:
                runtime.tasks.remove(task)

    def start_task(self, service: str, name: str, coroutine: Awaitable[None]) -> None:
        self.runtime(service).tasks.append(asyncio.create_task(coroutine, name=name))  # type: ignore[arg-type]


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition"
) -> None:
    """Poll until `check` holds; a bound, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")


async def settled(platform: Platform, services: Iterable[str]) -> bool:
    """Every event the services wrote has been published and handled by every consumer, and policy's sweep
    (when policy runs) has no occasion waiting."""
    from sqlalchemy import func, select

    from services.policy.eligibility.repository import due_count

    for name in services:
        runtime = platform.runtime(name)
        outbox = runtime.tables.outbox
        async with runtime.sessions() as session:
            unsent = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )
            if unsent or (name == "policy" and await due_count(session, beijing_date())):
                return False
        for consumer in runtime.consumers:
            if await consumer.backlog():
                return False
    return True


async def known_to(platform: Platform, service: str, model: type[Any], key: str, what: str) -> None:
    """Until the service's own table has the row an event carried to it (its consumer has handled it)."""

    async def found() -> bool:
        async with platform.runtime(service).sessions() as session:
            return await session.get(model, key) is not None

    await eventually(found, what=what)


RETRIES = 8
# The longest a client waits between two tries, whatever Retry-After says.
_MAX_RETRY_WAIT = 30.0


async def retrying(
    send: Callable[[], Awaitable[httpx.Response]], *, retries: int = RETRIES
) -> httpx.Response:
    """What a well-behaved client does with `503` + `Retry-After` (the platform's answer when its database is
    too busy to take a request, nothing done): wait as told, plus up to as long again at random so the ones
    turned away together do not all come back together, and send again; at most `retries` times. Any other
    answer, or a 503 without Retry-After, is returned as it is."""
    for _ in range(retries):
        response = await send()
        wait = response.headers.get("retry-after", "")
        if response.status_code != 503 or not wait.isdigit():
            return response
        await asyncio.sleep(min(_MAX_RETRY_WAIT, int(wait) * (1 + random.random())))
    return await send()


T = TypeVar("T")


async def gather_with_progress(awaitables: Iterable[Awaitable[T]], *, stall: float = 120.0) -> list[T]:
    """All results in order, however long they take together on a busy machine, as long as one of them
    finishes at least every `stall` seconds: a bound on no progress, not on the total time."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    pending: set[asyncio.Future[T]] = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, timeout=stall, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise AssertionError(f"no progress for {stall:g}s: {len(pending)} of {len(tasks)} unanswered")
    finally:
        for task in pending:
            task.cancel()
    return [task.result() for task in tasks]


async def reaches(
    count: Callable[[], Awaitable[int]], target: int, *, stall: float = 60.0, what: str = "count"
) -> None:
    """Wait until `count()` reaches `target`, however long that takes on a busy machine, as long as it keeps
    growing: fails only after `stall` seconds without progress."""
    last, since = -1, time.monotonic()
    while True:
        current = await count()
        if current >= target:
            return
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since > stall:
            raise AssertionError(f"{what}: stuck at {current} of {target} for {stall:g}s")
        await asyncio.sleep(0.2)


async def make_settings(
    databases: DatabaseFactory,
    nats_url: str,
    tmp_path: Path,
    services: Sequence[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings with a fresh, migrated database for each of `services` (default: all of them)."""
    urls = {}
    for name in services or FACTORIES:
        urls[name] = await databases.create(name)
        await migrations.upgrade(name, urls[name])
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path,
        "database_urls": urls,
        "nats_url": nats_url,
        "jwt_secret": SecretStr(SECRET),
        "pii_keys": {"k1": SecretStr(PII_KEY)},
        "pii_hash_key": SecretStr(PII_HASH_KEY),
        "internal_secret": SecretStr(INTERNAL_SECRET),
        "relay_idle_seconds": 0.2,
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_platform(
    settings: Settings, services: Sequence[str] | None = None
) -> AsyncIterator[Platform]:
    from eastwest.services import create_apps

    gateway = create_gateway(create_apps(settings, list(services) if services else None))
    port = free_port()
    server = gateway_server(gateway, port, graceful_seconds=30)
    server_task = asyncio.create_task(server.serve())
    while not server.started:
        if server_task.done():
            server_task.result()
        await asyncio.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            platform = Platform(settings, gateway, base_url, client)
            for name in gateway.services:
                await asyncio.wait_for(platform.runtime(name).bus.wait_ready(), timeout=20)
            yield platform
    finally:
        server.should_exit = True
        await server_task
