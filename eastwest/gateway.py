"""All services in one process on one port, routed by their own routes (the embedded mode)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from libs.api.app import metrics_response
from libs.api.middleware import SecurityHeadersMiddleware
from libs.api.openapi import merge_documents
from libs.api.problems import install_problem_handlers
from libs.api.readiness import liveness
from libs.runtime import ServiceRuntime

MERGED_OPENAPI_URL = "/openapi.json"


def merged_openapi(services: Mapping[str, FastAPI]) -> dict[str, Any]:
    """The whole platform's OpenAPI document (what clients are generated from), from each service's own."""
    return merge_documents({name: app.openapi() for name, app in services.items()})


def create_gateway(services: Mapping[str, FastAPI]) -> Gateway:
    """The root app answers /healthz, /readyz, /metrics (unless EW_METRICS_PORT gives it its own port), /docs
    and the merged /openapi.json; every other path goes to the service whose routes match it, so the public
    URLs are the same as behind the production gateway."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    root = FastAPI(title="eastwest", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install_problem_handlers(root)
    root.add_middleware(SecurityHeadersMiddleware)
    runtimes: list[ServiceRuntime] = [app.state.runtime for app in services.values()]
    public_metrics = all(runtime.settings.metrics_port is None for runtime in runtimes)

    @root.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        # one event loop for every service here: each runtime measures it; the worst one answers
        return liveness(max(runtimes, key=lambda runtime: runtime.loop_lag.worst()).loop_lag)

    @root.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(runtime.readiness() for runtime in runtimes))
        checks = {runtime.name: result.checks for runtime, result in zip(runtimes, results, strict=True)}
        ready = all(result.ready for result in results)
        return JSONResponse({"ready": ready, "services": checks}, status_code=200 if ready else 503)

    if public_metrics:

        @root.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return metrics_response()

    merged: list[dict[str, Any]] = []

    @root.get(MERGED_OPENAPI_URL, include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not merged:
            merged.append(await asyncio.to_thread(merged_openapi, services))
        return JSONResponse(merged[0])

    @root.get("/", include_in_schema=False)
    @root.get("/docs", include_in_schema=False)
    async def docs_index(request: Request) -> HTMLResponse:
        links = "".join(
            f'<li><a href="/docs/{name}">{app.title}</a> · <a href="/openapi/{name}.json">OpenAPI</a></li>'
            for name, app in services.items()
        )
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>eastwest 东西部劳务协作</title>"
            f"<h1>eastwest · 东西部劳务协作平台</h1><ul>{links}</ul>"
            f'<p>全部接口合并为一份：<a href="{MERGED_OPENAPI_URL}">OpenAPI</a></p>'
        )

    return Gateway(root, services)


class Gateway:
    """ASGI: the root's own routes first, then the first service with a full route match; 405/404 from the
    service whose path matched partly, or from the root."""

    def __init__(self, root: FastAPI, services: Mapping[str, FastAPI]) -> None:
        self.root = root
        self.services = services
        self.state = root.state

    def _target(self, scope: Scope) -> FastAPI:
        partial: FastAPI | None = None
        for app in (self.root, *self.services.values()):
            for route in app.router.routes:
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return app
                if match is Match.PARTIAL and partial is None:
                    partial = app
        return partial or self.root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.root(scope, receive, send)
            return
        await self._target(scope)(scope, receive, send)
