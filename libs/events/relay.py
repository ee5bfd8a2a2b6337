"""Outbox relay: publishes unsent rows to JetStream and marks them sent only after the publish ack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nats.js.api import PubAck
from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling, wait_event
from libs.db import utcnow
from libs.events.bus import Bus, Stopped, unless_stopped
from libs.events.envelope import nats_headers
from libs.observability import EVENTS_PUBLISHED, PUBLISH_ERRORS, get_logger

log = get_logger("ew.relay")


class OutboxRelay:
    """Several publishes in flight per batch; `Nats-Msg-Id` lets JetStream drop a re-publish after a crash.

    `published` counts this instance's publishes that JetStream acknowledged (the rows it marked sent),
    `duplicates` those among them that JetStream reported as already stored: a row published twice, by a
    restarted relay or by two replicas, shows up there even though the stream keeps one copy."""

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
        self.published = 0
        self.duplicates = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        for counter in (
            EVENTS_PUBLISHED,
            PUBLISH_ERRORS,
        ):  # at 0 from the start: increase() sees the first one
            counter.labels(service)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand, then leave `run` (the owner flushes once more after its consumers)."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        try:
            await unless_stopped(self.bus.wait_ready(), self._stopping)
        except Stopped:
            return
        backoff = 0.2
        while not self._stopping.is_set():
            if not self.bus.connected:
                # NATS is away: publishing would only time out while holding the rows (and, on SQLite, the
                # database's write lock); the outbox keeps the events until the connection is back.
                await self._pause(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            try:
                sent = await self.relay_once()
                backoff = 0.2
            except Exception as error:
                raise_if_cancelling(error)
                log.warning("relay.failed", service=self.service, error=str(error))
                await self._pause(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self.batch_size:
                await self._idle()

    async def flush(self) -> int:
        """Publish everything unsent now, batch after batch (used once more on shutdown)."""
        total = 0
        while True:
            sent = await self.relay_once()
            total += sent
            if sent < self.batch_size:
                return total

    async def _pause(self, seconds: float) -> None:
        await wait_event(self._stopping, seconds)

    async def _idle(self) -> None:
        await wait_event(self._wake, self.idle_seconds)
        self._wake.clear()

    async def relay_once(self) -> int:
        """One batch. PostgreSQL: one transaction, rows claimed with SKIP LOCKED so replicas share the work.
        SQLite: every transaction takes the database's one write lock (BEGIN IMMEDIATE), so no transaction
        stays open across the publishes: the rows are read in one, published, and marked in another (a crash in
        between publishes them again; JetStream drops the copy by its Nats-Msg-Id)."""
        async with self.sessions() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            async with session.begin():
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
                if not sqlite:
                    acks, acked, failed = await self._publish_batch(rows)
                    await self._record(session, acked, failed)
            if sqlite:
                acks, acked, failed = await self._publish_batch(rows)
                async with session.begin():
                    await self._record(session, acked, failed)
        duplicates = sum(1 for ack in acks if ack.duplicate)
        self.published += len(acked)
        self.duplicates += duplicates
        EVENTS_PUBLISHED.labels(self.service).inc(len(acked))
        if duplicates:
            log.info("relay.duplicates_dropped_by_jetstream", service=self.service, count=duplicates)
        if failed:
            PUBLISH_ERRORS.labels(self.service).inc(len(failed))
            raise RuntimeError(f"{len(failed)} publishes failed, first: {failed[0][1]!r}")
        return len(acked)

    async def _publish_batch(
        self, rows: Sequence[Row[Any]]
    ) -> tuple[list[PubAck], list[int], list[tuple[int, BaseException]]]:
        results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
        acks = [result for result in results if isinstance(result, PubAck)]
        acked = [row.seq for row, result in zip(rows, results, strict=True) if isinstance(result, PubAck)]
        failed = [
            (row.seq, result)
            for row, result in zip(rows, results, strict=True)
            if isinstance(result, BaseException)
        ]
        return acks, acked, failed

    async def _record(
        self, session: AsyncSession, acked: Sequence[int], failed: Sequence[tuple[int, BaseException]]
    ) -> None:
        if acked:
            await self._mark_sent(session, acked)
        for seq, error in failed:
            await session.execute(
                update(self.outbox)
                .where(self.outbox.c.seq == seq)
                .values(attempts=self.outbox.c.attempts + 1, last_error=str(error)[:500])
            )

    async def _publish(self, row: Row[Any]) -> PubAck:
        envelope: dict[str, Any] = row.envelope
        payload = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        ack: PubAck = await self.bus.js.publish(
            row.subject, payload, headers=nats_headers(envelope), stream=self.bus.stream
        )
        return ack

    async def _mark_sent(self, session: AsyncSession, seqs: Sequence[int]) -> None:
        await session.execute(update(self.outbox).where(self.outbox.c.seq.in_(seqs)).values(sent_at=utcnow()))

    async def backlog(self) -> int:
        return (await self.waiting())[0]

    async def waiting(self) -> tuple[int, datetime | None]:
        """Rows not yet acknowledged by JetStream, and when the oldest of them was committed."""
        async with self.sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(self.outbox.c.created_at)).where(
                        self.outbox.c.sent_at.is_(None)
                    )
                )
            ).one()
        return int(count or 0), oldest
