"""Idempotency-Key store: the same key and body replay the stored answer; another body is refused."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, validation_problem
from libs.db import utcnow

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

Outcome = tuple[int, dict[str, Any]]


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x1f")
    return digest.hexdigest()


def check_key(key: str | None, *, required: bool = False) -> str | None:
    if key is None:
        if required:
            raise validation_problem("header.Idempotency-Key", "missing", "此请求需要 Idempotency-Key 请求头")
        return None
    if not _KEY.match(key):
        raise validation_problem(
            "header.Idempotency-Key", "invalid", "Idempotency-Key 须为 1 到 200 个可见 ASCII 字符"
        )
    return key


async def run_once(
    session: AsyncSession,
    table: Table,
    *,
    scope: str,
    key: str | None,
    request_hash: str,
    create: Callable[[], Awaitable[Outcome]],
) -> tuple[Outcome, bool]:
    """Run `create` once per (scope, key) in the caller's transaction; returns the outcome and `replayed`.

    The key row is written in the same transaction as the effect, so a crash stores neither; a failed
    request stores nothing and may be retried with the same key.
    """
    if key is None:
        return await create(), False
    where = (table.c.scope == scope) & (table.c.key == key)
    replay = await _stored(session, table, where, request_hash)
    if replay is not None:
        return replay, True
    try:
        async with session.begin_nested():
            await session.execute(
                insert(table).values(
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    status_code=0,
                    response={},
                    created_at=utcnow(),
                )
            )
    except IntegrityError as error:
        # PostgreSQL: the insert waited for a concurrent request with this key and failed when it committed;
        # its answer is there now (read committed), so replay it like any later retry.
        replay = await _stored(session, table, where, request_hash)
        if replay is not None:
            return replay, True
        raise Problem(
            409, "同一 Idempotency-Key 的请求正在处理，请稍后重试", slug="idempotency-in-progress"
        ) from error
    outcome = await create()
    await session.execute(update(table).where(where).values(status_code=outcome[0], response=outcome[1]))
    return outcome, False


async def _stored(session: AsyncSession, table: Table, where: Any, request_hash: str) -> Outcome | None:
    """The answer stored for this key, once its request has committed; 422 if it was for another body."""
    stored = (await session.execute(select(table).where(where))).first()
    if stored is None or stored.status_code == 0:
        return None
    if stored.request_hash != request_hash:
        raise Problem(
            422,
            "此 Idempotency-Key 已用于另一个请求体；新的请求请使用新的键",
            slug="idempotency-key-reused",
            title="幂等键已被使用",
            errors=[FieldError("header.Idempotency-Key", "reused", "此键已用于另一个请求体")],
        )
    return stored.status_code, stored.response
