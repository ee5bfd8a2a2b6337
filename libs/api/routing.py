"""Small helpers routes share: list parameters, the created response, Idempotency-Key handling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security, params
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from libs.api.app import commit_request, session_dependency
from libs.api.consistency import consistency_token
from libs.api.idempotency import Outcome, check_key, fingerprint, run_once
from libs.api.openapi import BEARER
from libs.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from libs.api.problems import Problem, validation_problem
from libs.auth import Principal, Role, principal, require_role

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
Cursor = Annotated[str | None, Query(max_length=500, description="上一页返回的 next_cursor")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

__all__ = ["DEFAULT_LIMIT", "Cursor", "IdempotencyKey", "Limit"]


class ServiceRoute(APIRoute):
    """The request boundary of every service route.

    - 415 unless the body is what the route reads: JSON for a model, multipart/form-data for an upload.
    - The unit of work: the request's `Session` commits here, once, when the route has answered below 400 and
      before the answer leaves; routes and the service layer never commit. A raised error, or an answer of
      400 and above, leaves the session to roll back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        wants_form = self.body_field is not None and isinstance(self.body_field.field_info, params.Form)

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if wants_form:
                acceptable = content_type == "multipart/form-data"
            else:
                has_body = (
                    request.headers.get("content-length", "0") != "0"
                    or "transfer-encoding" in request.headers
                )
                acceptable = (
                    not has_body or content_type == "application/json" or content_type.endswith("+json")
                )
            if not acceptable:
                expected = "multipart/form-data" if wants_form else "application/json"
                raise Problem(415, f"此接口的请求体必须是 {expected}", expected=expected)
            response = await handler(request)
            if response.status_code < 400:
                await commit_request(request)
            return response

        return checked


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": "RFC 9457 problem details", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 415, 422)
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_content(*media_types: str) -> dict[str, dict[str, Any]]:
    """OpenAPI content for answers that are files, not JSON: text as a string, anything else as bytes."""
    return {
        media: {
            "schema": {"type": "string"}
            if media.startswith("text/")
            else {"type": "string", "format": "binary"}
        }
        for media in media_types
    }


# Server-Sent Events routes (with `response_class=EventSourceResponse`): documented as the stream they are.
SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def upload_example(**fields: str) -> dict[str, Any]:
    """`openapi_extra` for an upload route: the example of its multipart form (a file field shows the name
    of a file to pick)."""
    return {"requestBody": {"content": {"multipart/form-data": {"example": fields}}}}


def file_responses(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a route that answers only a file (use with `response_class=Response`)."""
    return {200: {"description": description, "content": file_content(*media_types)}}


Session = Annotated[AsyncSession, Depends(session_dependency)]


async def bearer_caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> Principal:
    """The verified caller; the `Security` parameter is what declares Bearer auth on the route's operation.
    Checking a signature is a few microseconds of CPU, done on the loop; only a verifier that may fetch a JWKS
    over the network works in a thread (a sync dependency would cost every request a thread hand-off)."""
    if request.app.state.token_verifier.jwks_client is not None:
        return await run_in_threadpool(principal, request)
    return principal(request)


Caller = Annotated[Principal, Depends(bearer_caller)]


def caller_with_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that refuses other roles with 403 before the body is validated, so that a 422 tells a
    caller who may not write here nothing about the body."""

    async def check(caller: Caller) -> Principal:
        require_role(caller, *roles)
        return caller

    return check


def service_router(tag: str) -> APIRouter:
    """Every service's public routes: under /v1, content types checked, problem responses documented, and a
    consistency token honoured (libs/api/consistency.py)."""
    return APIRouter(
        prefix="/v1",
        tags=[tag],
        route_class=ServiceRoute,
        responses=PROBLEM_RESPONSES,
        dependencies=[Depends(consistency_token)],
    )


def time_id_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """Decode a (created_at, id) cursor."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        moment = datetime.fromisoformat(str(key[0]))
    except ValueError as error:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效") from error
    if moment.tzinfo is None:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效")
    return moment, str(key[1])


def next_time_id_cursor(rows: list[Any], limit: int, time_attribute: str = "created_at") -> str | None:
    """The cursor after a full page (a shorter page is the last one)."""
    if len(rows) < limit:
        return None
    last = rows[-1]
    return encode_cursor(getattr(last, time_attribute).isoformat(), last.id)


async def idempotent_create(
    request: Request,
    session: AsyncSession,
    table: Table,
    caller: Principal,
    key: str | None,
    create: Callable[[], Awaitable[Outcome]],
    body: bytes | None = None,
) -> JSONResponse:
    """Run a create once per Idempotency-Key and answer; a replay carries `Idempotent-Replayed`."""
    key = check_key(key)
    raw = body if body is not None else await request.body()
    scope = f"{caller.sub}:{request.method}:{request.url.path}"
    (status, payload), replayed = await run_once(
        session, table, scope=scope, key=key, request_hash=fingerprint(raw), create=create
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(payload, status_code=status, headers=headers)
