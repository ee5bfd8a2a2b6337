"""Readiness means "can serve requests", and nothing more.

NATS is not needed to serve: writes go to the outbox and reads to the database, so a broker blip is reported
(the `nats` check, `ew_dependency_up`) but never takes a pod out of its Service. When readiness required it,
ten seconds of NATS trouble emptied all seven Services at once.

The database is needed, but a pod leaves rotation only once it has been unreachable for `grace_seconds` in a
row: a slow ping during a burst, or the seconds of a failover, would otherwise take pods out one after another
while their siblings took the load and failed in turn. The ping has a connection of its own, never one from
the request pool that a burst may have used up, and on SQLite it takes no write lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from libs.db import is_sqlite
from libs.observability import DEPENDENCY_UP, EVENT_LOOP_LAG

PING_SECONDS = 2.0


@dataclass
class SustainedOutage:
    """Whether a dependency still counts as available: it is up, or has been down for less than the grace.
    Before its first success it does not (a pod whose database was never reachable is not ready)."""

    grace_seconds: float
    down_since: float | None = None
    ever_up: bool = False

    def observe(self, up: bool, now: float) -> bool:
        if up:
            self.down_since, self.ever_up = None, True
            return True
        if self.down_since is None:
            self.down_since = now
        return self.ever_up and now - self.down_since < self.grace_seconds


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, bool]  # what answers right now: database, nats, serving


@dataclass
class DatabaseProbe:
    """Pings the service's database on one connection of its own, with a time limit."""

    url: str
    grace_seconds: float
    clock: Callable[[], float] = time.monotonic
    outage: SustainedOutage = field(init=False)
    engine: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.outage = SustainedOutage(self.grace_seconds)
        # Not libs.db.create_engine: no BEGIN IMMEDIATE on SQLite, so a write burst cannot make the ping wait.
        # SQLite opens its file for each ping; PostgreSQL keeps one connection, no overflow (a probe that
        # finds it busy waits at most the ping's own limit), replaced when a cut or a failover broke it.
        pool: dict[str, Any] = (
            {"poolclass": NullPool}
            if is_sqlite(self.url)
            else {"pool_size": 1, "max_overflow": 0, "pool_timeout": PING_SECONDS, "pool_pre_ping": True}
        )
        self.engine = create_async_engine(self.url, connect_args={"timeout": PING_SECONDS}, **pool)

    async def reachable(self) -> bool:
        try:
            async with asyncio.timeout(PING_SECONDS), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def check(self) -> tuple[bool, bool]:
        """(reachable now, still counts as available)."""
        up = await self.reachable()
        return up, self.outage.observe(up, self.clock())

    async def close(self) -> None:
        await self.engine.dispose()


async def readiness(
    service: str,
    probe: DatabaseProbe,
    *,
    nats_up: bool,
    draining: bool,
    schema_ready: bool,
    warm: dict[str, bool] | None = None,
) -> Readiness:
    """`schema`: the database is migrated to this code's head or past it; a pod of a new release whose
    migration has not run is not ready (its queries would fail), while one of a rolled-back release is.
    `warm`: what the service must have loaded before it answers well (matching: its index)."""
    warm = warm or {}
    database_up, database_available = await probe.check()
    DEPENDENCY_UP.labels(service, "database").set(int(database_up))
    DEPENDENCY_UP.labels(service, "nats").set(int(nats_up))
    checks = {
        "database": database_up,
        "nats": nats_up,
        "schema": schema_ready,
        "serving": not draining,
        **warm,
    }
    ready = database_available and schema_ready and not draining and all(warm.values())
    return Readiness(ready=ready, checks=checks)


@dataclass
class LoopLag:
    """How late the event loop runs a timer: the measure of a loop that CPU work or a blocking call holds.

    Liveness asks this rather than only whether the process answers: a loop held for a minute answers the
    probe in between and would pass a plain ping, while a loop that is merely busy serving stays well under the
    limit. `/healthz` answers 503 once the worst lag of the last minute passes `limit_seconds`."""

    limit_seconds: float = 30.0
    tick_seconds: float = 1.0
    window: list[tuple[float, float]] = field(default_factory=list)  # (when, lag)

    def worst(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.window = [(when, lag) for when, lag in self.window if now - when <= 60]
        return max((lag for _, lag in self.window), default=0.0)

    def healthy(self) -> bool:
        return self.worst() <= self.limit_seconds

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.tick_seconds)
            lag = max(0.0, time.monotonic() - started - self.tick_seconds)
            self.window.append((time.monotonic(), lag))
            EVENT_LOOP_LAG.set(self.worst())


def liveness(lag: LoopLag) -> JSONResponse:
    """/healthz: 200 while the loop keeps its timers within the limit, with the worst lag of the last minute."""
    worst = round(lag.worst(), 3)
    if lag.healthy():
        return JSONResponse({"status": "ok", "loop_lag_seconds": worst})
    return JSONResponse({"status": "event loop held", "loop_lag_seconds": worst}, status_code=503)
