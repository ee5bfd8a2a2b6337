"""Pure ASGI middleware (streaming-safe, SSE included): request ids, metrics, body limits, security headers."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.api.consistency import ConsistencyTokenMiddleware
from libs.api.problems import PROBLEM_JSON, Problem
from libs.observability import HTTP_LATENCY, HTTP_REQUESTS, get_logger, request_id_var

log = get_logger("ew.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def send_problem(send: Send, problem: Problem, path: str) -> None:
    body = json.dumps(problem.body(path), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Request id in and out (`X-Request-ID`), one access log line and the HTTP metrics per request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], template).observe(elapsed)
            # The path template, never the raw path or query: no identifiers or personal data in logs.
            log.info(
                "http.request",
                method=scope["method"],
                route=template,
                status=status,
                ms=round(elapsed * 1000, 1),
            )
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """413 for bodies over the limit, declared or streamed; uploads get a larger limit than JSON."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        length_header = _header(scope, b"content-length")
        is_upload = content_type == "multipart/form-data"
        limit = self.max_upload_bytes if is_upload else self.max_body_bytes
        path = scope.get("path", "")
        if length_header is not None and length_header.isdigit() and int(length_header) > limit:
            await send_problem(send, _too_large(limit), path)
            return

        received = 0
        started_response = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started_response:
                await send_problem(send, _too_large(limit), path)


class _BodyTooLarge(StarletteHTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it as is (it turns other errors into a 400)."""

    def __init__(self) -> None:
        super().__init__(413, "请求体过大")


def _too_large(limit: int) -> Problem:
    return Problem(413, f"请求体超过上限 {limit} 字节", max_bytes=limit)


# What an answer without its own policy may do: nothing (JSON, files and problems load and frame nothing).
DEFAULT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
REFERRER_POLICY = "no-referrer"


def _frame_ancestors(policy: str) -> str | None:
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return value.strip()
    return None


class SecurityHeadersMiddleware:
    """On every answer: `X-Content-Type-Options: nosniff` and a Referrer-Policy; a page sets its own
    Content-Security-Policy (the docs, /live), everything else gets one that allows nothing. `X-Frame-Options:
    DENY` too, unless the answer's own policy names who may frame it (`frame-ancestors` other than 'none')."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                policy = next(
                    (
                        value.decode("latin-1")
                        for key, value in headers
                        if key.lower() == b"content-security-policy"
                    ),
                    None,
                )
                if b"x-content-type-options" not in present:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"referrer-policy" not in present:
                    headers.append((b"referrer-policy", REFERRER_POLICY.encode()))
                if policy is None:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                    policy = DEFAULT_CSP
                ancestors = _frame_ancestors(policy)
                if b"x-frame-options" not in present and ancestors in (None, "'none'"):
                    headers.append((b"x-frame-options", b"DENY"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_middleware(app: Any, service: str, max_body_bytes: int, max_upload_bytes: int) -> None:
    app.add_middleware(ConsistencyTokenMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.add_middleware(SecurityHeadersMiddleware)
