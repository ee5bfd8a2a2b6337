"""All services in one process on one port, routed by their own routes (the embedded mode)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from libs.api.app import ServiceRuntime
from libs.api.problems import install_problem_handlers


def create_gateway(services: Mapping[str, FastAPI]) -> Gateway:
    """The root app answers /healthz, /readyz, /metrics and /docs; every other path goes to the service
    whose routes match it, so the public URLs are the same as behind the production gateway."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    root = FastAPI(title="eastwest", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install_problem_handlers(root)

    @root.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @root.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        runtimes: list[ServiceRuntime] = [app.state.runtime for app in services.values()]
        results = await asyncio.gather(*(runtime.readiness() for runtime in runtimes))
        checks = {runtime.name: result for runtime, result in zip(runtimes, results, strict=True)}
        ready = all(all(result.values()) for result in results)
        return JSONResponse({"ready": ready, "services": checks}, status_code=200 if ready else 503)

    @root.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

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
