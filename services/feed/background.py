"""The feed's background loops, transaction boundaries like the relay and the consumers (they commit):
the snapshot schedule and the webhook delivery worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling, wait_event
from libs.db import utcnow
from libs.observability import get_logger, traced_transport, tracer
from services.feed import repository, service, snapshots, webhooks
from services.feed.models import Snapshot
from services.feed.settings import FeedSettings

log = get_logger("ew.feed")
PUBLISH_TRIES = 3


async def publish_now(
    sessions: async_sessionmaker[AsyncSession], *, trigger: str, slot: str | None = None, keep: int = 0
) -> Snapshot | None:
    """One snapshot in its own transaction, retried when a concurrent publisher took the same number."""
    for attempt in range(1, PUBLISH_TRIES + 1):
        try:
            async with sessions.begin() as session:
                await repository.consistent_reads(session)
                snapshot = await snapshots.publish_snapshot(
                    session, now=utcnow(), trigger=trigger, slot=slot, keep=keep
                )
                return snapshot
        except (IntegrityError, DBAPIError) as error:
            if attempt == PUBLISH_TRIES or not _is_conflict(error):
                raise
            log.info("snapshot.retry", attempt=attempt, error=type(error).__name__)
    return None


def _is_conflict(error: DBAPIError) -> bool:
    """A unique violation (same number or slot) or a serialization failure: try again."""
    if isinstance(error, IntegrityError):
        return True
    return "could not serialize" in str(error.orig).lower() or "serializ" in type(error.orig).__name__.lower()


async def run_schedule(sessions: async_sessionmaker[AsyncSession], settings: FeedSettings) -> None:
    """Sleep to the next slot, publish (skipped when nothing changed or another replica did), repeat."""
    while True:
        now = utcnow()
        slot = snapshots.next_slot(now, settings)
        if slot is None:
            return
        await asyncio.sleep(max(0.0, (slot - now).total_seconds()))
        try:
            snapshot = await publish_now(
                sessions,
                trigger=snapshots.SCHEDULED,
                slot=snapshots.slot_key(slot),
                keep=settings.snapshot_keep,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the schedule must outlive one failed snapshot
            raise_if_cancelling(error)
            log.error("snapshot.failed", error=f"{type(error).__name__}: {error}")
            continue
        if snapshot is not None:
            log.info("snapshot.published", version=snapshot.version, jobs=snapshot.jobs)


EXPIRY_BATCH = 500


async def run_expiry(
    sessions: async_sessionmaker[AsyncSession], settings: FeedSettings, changed: Callable[[], None]
) -> None:
    """Every `expiry_check_seconds`, take the jobs past their last day out of the feed (in batches), with
    their webhook deliveries; `changed` wakes the streams and the delivery worker."""
    while True:
        try:
            while True:
                async with sessions.begin() as session:
                    expired = await service.expire_jobs(session, now=utcnow(), limit=EXPIRY_BATCH)
                    for change in expired:
                        await webhooks.enqueue_deliveries(session, change)
                if expired:
                    log.info("feed.jobs_expired", jobs=len(expired))
                    changed()
                if len(expired) < EXPIRY_BATCH:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database away for a moment: try again at the next check
            raise_if_cancelling(error)
            log.warning("feed.expiry_failed", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(settings.expiry_check_seconds)


class DeliveryWorker:
    """Takes due deliveries from the database (so a restart loses nothing), sends them a few at a time,
    records each attempt. Woken when a change commits; otherwise it sleeps until the next retry is due."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: FeedSettings,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self._client_factory = client_factory or self._client
        self._wake = asyncio.Event()

    def _client(self) -> httpx.AsyncClient:
        timeout = self.settings.webhook_timeout_seconds
        limits = httpx.Limits(max_connections=self.settings.webhook_concurrency)
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment between the check and the receiver
            transport=traced_transport(httpx.AsyncHTTPTransport(limits=limits, trust_env=False), "feed"),
        )

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        async with self._client_factory() as client:
            backoff = 0.2
            while True:
                try:
                    sent = await self.deliver_due(client)
                    backoff = 0.2
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    raise_if_cancelling(error)
                    log.warning("webhooks.failed", error=f"{type(error).__name__}: {error}")
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if sent < self.settings.webhook_concurrency:
                    await self._idle()

    async def _idle(self) -> None:
        seconds = self.settings.webhook_poll_seconds
        async with self.sessions() as session:
            due = await repository.next_due_at(session)
        if due is not None:
            seconds = min(seconds, max(0.0, (due - utcnow()).total_seconds()))
        await wait_event(self._wake, seconds)
        self._wake.clear()

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        async with self.sessions.begin() as session:
            rows = await repository.claim_due_deliveries(
                session, now=now, lease_until=lease, limit=self.settings.webhook_concurrency
            )
        if not rows:
            return 0
        results = await asyncio.gather(*(self._send(client, row) for row in rows))
        async with self.sessions.begin() as session:
            finished = utcnow()
            for row, result in zip(rows, results, strict=True):
                await webhooks.record_attempt(session, row.id, result, self.settings, finished)
        return len(rows)

    async def _send(self, client: httpx.AsyncClient, row: Any) -> webhooks.Outcome:
        """One attempt in a span of its own (a delivery is a unit of work; its request a client span in it)."""
        with tracer("feed").start_as_current_span(
            "deliver webhook",
            attributes={"ew.service": "feed", "ew.delivery_id": row.id, "ew.event": row.event},
        ) as span:
            outcome = await webhooks.send(
                client,
                delivery_id=row.id,
                event=row.event,
                body=row.body,
                url=row.url,
                secret=row.secret,
                allow_private=row.allow_private,
            )
            if outcome.status_code is not None:
                span.set_attribute("http.response.status_code", outcome.status_code)
            return outcome
