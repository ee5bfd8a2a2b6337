"""Small helpers routes share: list parameters, the created response, Idempotency-Key handling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.idempotency import Outcome, check_key, fingerprint, run_once
from libs.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from libs.api.problems import validation_problem
from libs.auth import Principal

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
Cursor = Annotated[str | None, Query(max_length=500, description="上一页返回的 next_cursor")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

__all__ = ["DEFAULT_LIMIT", "Cursor", "IdempotencyKey", "Limit"]


def time_id_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """Decode a (created_at, id) cursor."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        return datetime.fromisoformat(str(key[0])), str(key[1])
    except ValueError as error:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效") from error


def next_time_id_cursor(rows: list[Any], limit: int) -> str | None:
    if len(rows) < limit:
        return None
    last = rows[-1]
    return encode_cursor(last.created_at.isoformat(), last.id)


async def idempotent_create(
    request: Request,
    session: AsyncSession,
    table: Table,
    caller: Principal,
    key: str | None,
    create: Callable[[], Awaitable[Outcome]],
    body: bytes | None = None,
) -> JSONResponse:
    """Run a create once per Idempotency-Key, commit, and answer; a replay carries `Idempotent-Replayed`."""
    key = check_key(key)
    raw = body if body is not None else await request.body()
    scope = f"{caller.sub}:{request.method}:{request.url.path}"
    (status, payload), replayed = await run_once(
        session, table, scope=scope, key=key, request_hash=fingerprint(raw), create=create
    )
    await session.commit()
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(payload, status_code=status, headers=headers)
