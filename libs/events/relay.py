"""Outbox relay: publishes unsent rows to JetStream and marks them sent only after the publish ack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.db import utcnow
from libs.events.bus import Bus
from libs.events.envelope import nats_headers
from libs.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG, PUBLISH_ERRORS, get_logger

log = get_logger("ew.relay")


class OutboxRelay:
    """Several publishes in flight per batch; `Nats-Msg-Id` lets JetStream drop a re-publish after a crash."""

    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        bus: Bus,
        batch_size: int = 256,
        idle_seconds: float = 0.5,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self.bus.wait_ready()
        backoff = 0.2
        while True:
            try:
                sent = await self.relay_once()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("relay.failed", service=self.service, error=str(error))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self.batch_size:
                await self._idle()

    async def _idle(self) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
        except TimeoutError:
            await self._update_backlog()
        self._wake.clear()

    async def relay_once(self) -> int:
        """One batch in one transaction; rows claimed with SKIP LOCKED so replicas share the work."""
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(self.outbox.c.seq, self.outbox.c.subject, self.outbox.c.envelope)
                    .where(self.outbox.c.sent_at.is_(None))
                    .order_by(self.outbox.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
            acked = [row.seq for row, result in zip(rows, results, strict=True) if result is None]
            failed = [
                (row.seq, result) for row, result in zip(rows, results, strict=True) if result is not None
            ]
            if acked:
                await self._mark_sent(session, acked)
            for seq, error in failed:
                await session.execute(
                    update(self.outbox)
                    .where(self.outbox.c.seq == seq)
                    .values(attempts=self.outbox.c.attempts + 1, last_error=str(error)[:500])
                )
        EVENTS_PUBLISHED.labels(self.service).inc(len(acked))
        if failed:
            PUBLISH_ERRORS.labels(self.service).inc(len(failed))
            raise RuntimeError(f"{len(failed)} publishes failed, first: {failed[0][1]!r}")
        return len(acked)

    async def _publish(self, row: Row[Any]) -> None:
        envelope: dict[str, Any] = row.envelope
        payload = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        await self.bus.js.publish(
            row.subject, payload, headers=nats_headers(envelope), stream=self.bus.stream
        )

    async def _mark_sent(self, session: AsyncSession, seqs: Sequence[int]) -> None:
        await session.execute(update(self.outbox).where(self.outbox.c.seq.in_(seqs)).values(sent_at=utcnow()))

    async def backlog(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.sent_at.is_(None))
            )
        return int(count or 0)

    async def _update_backlog(self) -> None:
        try:
            OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())
        except Exception as error:  # a metric must never stop the relay
            log.warning("relay.backlog_failed", service=self.service, error=str(error))
