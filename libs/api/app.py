"""The app factory every service uses: the same middleware, errors, health, metrics and lifespan around the
service's runtime (libs/runtime.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.docs import docs_router
from libs.api.middleware import add_middleware
from libs.api.openapi import describe_problems, operation_id
from libs.api.problems import install_problem_handlers
from libs.api.readiness import liveness
from libs.auth import verifier_from_settings
from libs.events.consumer import EventConsumer
from libs.observability import get_logger, instrument_service
from libs.runtime import ServiceRuntime, check_metrics_exposure

log = get_logger("ew.app")


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: Sequence[EventConsumer] = (),
    background: Callable[[], dict[str, Coroutine[Any, Any, None]]] | None = None,
) -> FastAPI:
    """One service as an ASGI app around its runtime (`build_runtime`, made first so that what the service
    builds on it, an index or a delivery worker, exists before the app); `app.state.runtime` is that runtime.

    Its docs page is `/docs/<name>` (assets served from an installed package), its OpenAPI document
    `/openapi/<name>.json` with camelCase operationIds from the route functions' names."""
    name, settings = runtime.name, runtime.settings
    check_metrics_exposure(settings)
    runtime.consumers = list(consumers)
    runtime.background = background

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        log.info("service.started", service=name)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped", service=name)

    openapi_url = f"/openapi/{name}.json"
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        docs_url=None,
        openapi_url=openapi_url,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)
        if "Problem" not in document.get("components", {}).get("schemas", {}):
            describe_problems(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.runtime = runtime
    app.state.token_verifier = verifier_from_settings(settings)
    install_problem_handlers(app)
    add_middleware(app, name, settings.max_body_bytes, settings.max_upload_bytes)
    for router in routers:
        app.include_router(router)
    app.include_router(docs_router(name, title, openapi_url))
    app.include_router(health_router(public_metrics=settings.metrics_port is None))
    instrument_service(app, name, runtime.engine, settings)  # traces: requests and database statements
    return app


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def health_router(*, public_metrics: bool = True) -> APIRouter:
    """/healthz, /readyz, and /metrics unless it has its own port (EW_METRICS_PORT)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        return liveness(runtime.loop_lag)

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        result = await runtime.readiness()
        return JSONResponse(
            {"ready": result.ready, "checks": result.checks}, status_code=200 if result.ready else 503
        )

    if public_metrics:

        @router.get("/metrics")
        async def metrics() -> Response:
            return metrics_response()

    return router


async def session_dependency(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed once by the route boundary (`commit_request`, called by
    `libs.api.routing.ServiceRoute`), anything uncommitted rolled back when the request ends."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessions() as session:
        request.state.unit_of_work = session
        yield session


async def commit_request(request: Request) -> None:
    """Commit the request's session, if it opened one."""
    session: AsyncSession | None = getattr(request.state, "unit_of_work", None)
    if session is not None and session.in_transaction():
        await session.commit()


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime
