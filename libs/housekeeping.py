"""Trims the bookkeeping tables that grow with traffic: sent outbox rows, old inbox ids, old idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling
from libs.db import utcnow
from libs.events.tables import PlatformTables
from libs.observability import get_logger

log = get_logger("ew.housekeeping")


async def prune(
    sessions: async_sessionmaker[AsyncSession],
    tables: PlatformTables,
    *,
    outbox_days: float,
    inbox_days: float,
    idempotency_days: float,
) -> dict[str, int]:
    """Inbox ids must outlive any redelivery (the stream keeps messages `stream_max_age_days`)."""
    now = utcnow()
    statements = {
        "outbox": delete(tables.outbox).where(tables.outbox.c.sent_at < now - timedelta(days=outbox_days)),
        "inbox": delete(tables.inbox).where(tables.inbox.c.processed_at < now - timedelta(days=inbox_days)),
        "idempotency": delete(tables.idempotency).where(
            tables.idempotency.c.created_at < now - timedelta(days=idempotency_days)
        ),
    }
    removed: dict[str, int] = {}
    async with sessions() as session, session.begin():
        for name, statement in statements.items():
            result = await session.execute(statement)
            removed[name] = int(getattr(result, "rowcount", 0) or 0)
    return removed


async def run_forever(
    sessions: async_sessionmaker[AsyncSession],
    tables: PlatformTables,
    *,
    service: str,
    every_seconds: float,
    outbox_days: float,
    inbox_days: float,
    idempotency_days: float,
) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            removed = await prune(
                sessions,
                tables,
                outbox_days=outbox_days,
                inbox_days=inbox_days,
                idempotency_days=idempotency_days,
            )
            if any(removed.values()):
                log.info("housekeeping.pruned", service=service, **removed)
        except Exception as error:  # try again next round
            raise_if_cancelling(error)
            log.warning("housekeeping.failed", service=service, error=str(error))
