"""The app factory every service uses: the same middleware, errors, health, metrics, lifespan and runtime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.api.middleware import add_middleware
from libs.api.problems import install_problem_handlers
from libs.auth import verifier_from_settings
from libs.db import create_engine
from libs.events.bus import Bus
from libs.events.consumer import AfterCommit, EventConsumer, Handler
from libs.events.outbox import wake_info
from libs.events.relay import OutboxRelay
from libs.events.tables import PlatformTables
from libs.housekeeping import run_forever as run_housekeeping
from libs.observability import get_logger
from libs.settings import Settings

log = get_logger("ew.app")


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
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    run_relay: bool = True
    background: Callable[[], dict[str, Coroutine[Any, Any, None]]] | None = None

    def consumer(
        self, name: str, subject: str, handler: Handler, after_commit: AfterCommit | None = None
    ) -> EventConsumer:
        """A durable consumer of this service: its sessions, its inbox, its NATS link, the configured retries."""
        return EventConsumer(
            name=name,
            subjects=[subject],
            handler=handler,
            sessions=self.sessions,
            inbox=self.tables.inbox,
            bus=self.bus,
            max_deliver=self.settings.consumer_max_deliver,
            after_commit=after_commit,
        )

    async def readiness(self) -> dict[str, bool]:
        database = True
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=2)
        except Exception:
            database = False
        return {"database": database, "nats": self.bus.connected}

    def start(self) -> None:
        self.bus.start()
        if self.run_relay:
            self.tasks.append(asyncio.create_task(self.relay.run(), name=f"relay-{self.name}"))
        for consumer in self.consumers:
            self.tasks.append(asyncio.create_task(consumer.run(), name=f"consumer-{consumer.name}"))
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
        for name, coroutine in (self.background() if self.background else {}).items():
            self.tasks.append(asyncio.create_task(coroutine, name=f"{name}-{self.name}"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.bus.close(), timeout=3)
        await self.engine.dispose()


def build_runtime(name: str, settings: Settings, tables: PlatformTables) -> ServiceRuntime:
    engine = create_engine(settings.database_url_for(name))
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
    return ServiceRuntime(
        name=name, settings=settings, engine=engine, sessions=sessions, bus=bus, relay=relay, tables=tables
    )


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: Settings,
    tables: PlatformTables,
    routers: Sequence[APIRouter],
    consumers: Callable[[ServiceRuntime], list[EventConsumer]] | None = None,
    background: Callable[[ServiceRuntime], dict[str, Coroutine[Any, Any, None]]] | None = None,
) -> FastAPI:
    """One service as an ASGI app; `app.state.runtime` is its runtime (tests reach the database through it)."""
    runtime = build_runtime(name, settings, tables)
    if consumers is not None:
        runtime.consumers = consumers(runtime)
    if background is not None:
        runtime.background = lambda: background(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        log.info("service.started", service=name)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped", service=name)

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        docs_url=f"/docs/{name}",
        openapi_url=f"/openapi/{name}.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.token_verifier = verifier_from_settings(settings)
    install_problem_handlers(app)
    add_middleware(app, name, settings.max_body_bytes, settings.max_upload_bytes)
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    return app


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def session_dependency(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work; routes commit explicitly, anything uncommitted is rolled back."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessions() as session:
        yield session


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime
