"""What a running service holds: its database, its NATS link, the outbox relay, the consumers and background
tasks, readiness and liveness; started and stopped by the app factory's lifespan (libs/api/app.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar

from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs import migrations
from libs.aio import Pulse
from libs.api.readiness import DatabaseProbe, LoopLag, Readiness, readiness
from libs.db import PoolSize, create_engine
from libs.events.bus import Bus
from libs.events.consumer import AfterCommit, EventConsumer, Handler
from libs.events.envelope import CloudEvent
from libs.events.gauges import watch_event_gauges
from libs.events.outbox import wake_info
from libs.events.relay import OutboxRelay
from libs.events.tables import PlatformTables
from libs.housekeeping import run_forever as run_housekeeping
from libs.observability import get_logger
from libs.settings import Settings

log = get_logger("ew.app")

# Tasks that stop by themselves when asked (finishing the work in hand); every other task is cancelled.
RELAY_TASK_PREFIX = "relay-"
CONSUMER_TASK_PREFIX = "consumer-"


class MetricsPort:
    """Prometheus's /metrics on its own port, one listener per process (the registry is per process): every
    service of the process holds it while running, the last one to stop closes it. prometheus_client's
    server answers in its own thread, never on the event loop."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _open: ClassVar[dict[int, tuple[Any, threading.Thread, int]]] = {}

    @classmethod
    def acquire(cls, port: int) -> None:
        with cls._lock:
            if port in cls._open:
                server, thread, holders = cls._open[port]
                cls._open[port] = (server, thread, holders + 1)
                return
            server, thread = start_http_server(port, addr="0.0.0.0")
            cls._open[port] = (server, thread, 1)
            log.info("metrics.listening", port=port)

    @classmethod
    def release(cls, port: int) -> None:
        with cls._lock:
            if port not in cls._open:
                return
            server, thread, holders = cls._open[port]
            if holders > 1:
                cls._open[port] = (server, thread, holders - 1)
                return
            del cls._open[port]
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def check_metrics_exposure(settings: Settings) -> None:
    """Production never serves /metrics on the public port: it needs EW_METRICS_PORT."""
    if settings.environment == "prod" and settings.metrics_port is None:
        raise RuntimeError(
            "production serves /metrics only on its own port: set EW_METRICS_PORT (k8s/base sets 9100)"
        )


@dataclass
class ServiceRuntime:
    """What a running service holds: its database, its NATS link, its relay and consumers."""

    name: str
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: Bus
    relay: OutboxRelay
    tables: PlatformTables
    probe: DatabaseProbe
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    run_relay: bool = True
    background: Callable[[], dict[str, Coroutine[Any, Any, None]]] | None = None
    # Shutdown: how long in-flight consumer handlers (and the relay's batch in hand) may take to finish, and
    # how long the last flush of the outbox may take.
    drain_seconds: float = 10.0
    flush_seconds: float = 5.0
    draining: bool = False
    schema_ready: bool = False
    loop_lag: LoopLag = field(default_factory=LoopLag)
    # What a service must have loaded before it is ready, by name (matching: "index").
    warm_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    # Beats after every event this replica's consumers commit: requests waiting to read their own writes wake.
    handled: Pulse = field(default_factory=Pulse)

    def consumer(
        self, name: str, subject: str, handler: Handler, after_commit: AfterCommit | None = None
    ) -> EventConsumer:
        """A durable consumer of this service: its sessions, its inbox, its NATS link, the configured retries."""

        def committed(event: CloudEvent) -> None:
            if after_commit is not None:
                after_commit(event)
            self.handled.beat()

        return EventConsumer(
            name=name,
            subjects=[subject],
            handler=handler,
            sessions=self.sessions,
            inbox=self.tables.inbox,
            bus=self.bus,
            max_deliver=self.settings.consumer_max_deliver,
            after_commit=committed,
        )

    def begin_drain(self) -> None:
        """From now on readiness answers 503 (safe to call from a signal handler: it only sets a flag)."""
        self.draining = True

    async def readiness(self) -> Readiness:
        """Ready while it can serve (libs/api/readiness.py); the checks say what answers right now."""
        return await readiness(
            self.name,
            self.probe,
            nats_up=self.bus.ready,
            draining=self.draining,
            schema_ready=await self._schema_ready(),
            warm={name: check() for name, check in self.warm_checks.items()},
        )

    async def _schema_ready(self) -> bool:
        """False only while the database is known to be behind this code's head; at the head or past it (a
        newer release's schema after a rollback) it is true, and stays so: a schema does not go back while a
        pod runs. A database that cannot be asked is the database check's business (and its grace)."""
        if not self.schema_ready:
            try:
                state = await migrations.schema_state(self.name, self.probe.engine)
            except Exception:
                return True
            self.schema_ready = state is not migrations.SchemaState.BEHIND
        return self.schema_ready

    def start(self) -> None:
        if self.settings.metrics_port is not None:
            MetricsPort.acquire(self.settings.metrics_port)
        self.bus.start()
        if self.run_relay:
            self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{RELAY_TASK_PREFIX}{self.name}"))
        for consumer in self.consumers:
            self.tasks.append(
                asyncio.create_task(consumer.run(), name=f"{CONSUMER_TASK_PREFIX}{consumer.name}")
            )
        settings = self.settings
        housekeeping = run_housekeeping(
            self.sessions,
            self.tables,
            service=self.name,
            every_seconds=settings.housekeeping_every_seconds,
            outbox_days=settings.outbox_retention_days,
            inbox_days=settings.inbox_retention_days,
            idempotency_days=settings.idempotency_retention_days,
        )
        self.tasks.append(asyncio.create_task(housekeeping, name=f"housekeeping-{self.name}"))
        self.tasks.append(asyncio.create_task(self.loop_lag.run(), name=f"loop-lag-{self.name}"))
        gauges = watch_event_gauges(self.relay, self.consumers, settings.event_gauges_every_seconds)
        self.tasks.append(asyncio.create_task(gauges, name=f"event-gauges-{self.name}"))
        for name, coroutine in (self.background() if self.background else {}).items():
            self.tasks.append(asyncio.create_task(coroutine, name=f"{name}-{self.name}"))

    async def stop(self) -> None:
        """Graceful: readiness 503, no new messages pulled, the handlers in hand finished and acked (within
        `drain_seconds`), the outbox flushed once more if NATS is reachable, then the connections closed.
        (The HTTP server has already finished its in-flight requests when the lifespan ends.)"""
        self.begin_drain()
        for consumer in self.consumers:
            consumer.stop()
        self.relay.stop()
        draining = [
            task
            for task in self.tasks
            if task.get_name().startswith((RELAY_TASK_PREFIX, CONSUMER_TASK_PREFIX))
        ]
        log.info(
            "service.draining",
            service=self.name,
            handling=[consumer.name for consumer in self.consumers if consumer.handling],
        )
        for task in self.tasks:
            if task not in draining:
                task.cancel()
        if draining:
            _, late = await asyncio.wait(draining, timeout=self.drain_seconds)
            if late:
                log.warning(
                    "service.drain_timeout",
                    service=self.name,
                    seconds=self.drain_seconds,
                    cancelled=sorted(task.get_name() for task in late),
                )
                for task in late:
                    task.cancel()
        if self.tasks:
            # Each task has been cancelled or has stopped; one that still runs ignores its cancellation (a bug),
            # and must not hold the exit: name it and go on.
            ended, stuck = await asyncio.wait(self.tasks, timeout=self.drain_seconds)
            for task in ended:  # retrieved, so a task that failed earlier is not reported again at exit
                if not task.cancelled():
                    task.exception()
            if stuck:
                log.error(
                    "service.tasks_ignored_cancel",
                    service=self.name,
                    tasks=sorted(t.get_name() for t in stuck),
                )
        self.tasks.clear()
        if self.run_relay and self.bus.ready:
            try:
                async with asyncio.timeout(self.flush_seconds):
                    flushed = await self.relay.flush()
                if flushed:
                    log.info("service.outbox_flushed", service=self.name, events=flushed)
            except Exception as error:  # the outbox keeps them; the next instance publishes them
                log.warning(
                    "service.outbox_flush_failed", service=self.name, error=f"{type(error).__name__}: {error}"
                )
        with contextlib.suppress(Exception):
            async with asyncio.timeout(3):
                await self.bus.close()
        with contextlib.suppress(Exception):  # a connection stuck in a dead server must not hold the exit
            async with asyncio.timeout(10):
                await self.engine.dispose()
                await self.probe.close()
        if self.settings.metrics_port is not None:
            await asyncio.to_thread(MetricsPort.release, self.settings.metrics_port)


def build_runtime(name: str, settings: Settings, tables: PlatformTables) -> ServiceRuntime:
    url = settings.database_url_for(name)
    pool = PoolSize(settings.database_pool_size, settings.database_max_overflow)
    engine = create_engine(url, pool=pool, pgbouncer=settings.database_pgbouncer)
    bus = Bus(
        settings.nats_url,
        name=name,
        stream=settings.stream_name,
        replicas=settings.stream_replicas,
        max_age_days=settings.stream_max_age_days,
    )
    relay_holder: list[OutboxRelay] = []
    sessions = async_sessionmaker(
        engine, expire_on_commit=False, info=wake_info(lambda: relay_holder[0].wake())
    )
    relay = OutboxRelay(
        service=name,
        sessions=sessions,
        outbox=tables.outbox,
        bus=bus,
        batch_size=settings.relay_batch_size,
        idle_seconds=settings.relay_idle_seconds,
    )
    relay_holder.append(relay)
    probe = DatabaseProbe(url, grace_seconds=settings.readiness_grace_seconds)
    return ServiceRuntime(
        name=name,
        settings=settings,
        engine=engine,
        sessions=sessions,
        bus=bus,
        relay=relay,
        tables=tables,
        probe=probe,
    )
