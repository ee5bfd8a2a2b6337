"""Durable pull consumer with an inbox table: each event handled once, poison events dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import cancel_and_wait, raise_if_cancelling, wait_event
from libs.db import unavailable, utcnow
from libs.events.bus import Bus, Stopped, unless_stopped
from libs.events.envelope import CloudEvent
from libs.observability import (
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    consuming,
    get_logger,
    mark_failed,
)

log = get_logger("ew.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


Payload = TypeVar("Payload", bound=BaseModel)


def keep(contract: type[Payload], fact: Callable[[AsyncSession, Payload], Awaitable[None]]) -> Handler:
    """A handler that validates the event into its contract and hands the payload to `fact`."""

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await fact(session, contract.model_validate(event.data))

    return apply


def by_type(handlers: dict[str, Handler]) -> Handler:
    """One consumer's handler: the event types it keeps; the others on its subjects are not its concern."""

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        apply = handlers.get(event.type)
        if apply is not None:
            await apply(session, event)

    return handle


AfterCommit = Callable[[CloudEvent], None]


OUTCOMES = ("processed", "duplicate", "error", "database_unavailable")
# While the database is away, the event in hand is tried again after these pauses (doubling).
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 10.0


def dead_letter_subject(consumer: str) -> str:
    """In the dead-letter stream (`<stream>_DLQ`, outside `ew.>`): kept longer than the events, apart from them."""
    return f"dlq.ew.{consumer}"


class EventConsumer:
    """The handler and the inbox row share one transaction; the ack follows the commit.

    Several instances (replicas) share the durable consumer: JetStream hands each message to one of them.
    `processed` and `duplicates` count what this instance handled, and what its inbox showed as handled
    before. `stop()` ends the loop gracefully: no new fetch, the message in hand finished and acked, the rest
    of the fetched batch given back (nak) for another replica at once."""

    def __init__(
        self,
        *,
        name: str,
        subjects: list[str],
        handler: Handler,
        sessions: async_sessionmaker[AsyncSession],
        inbox: Table,
        bus: Bus,
        max_deliver: int = 5,
        batch_size: int = 64,
        after_commit: AfterCommit | None = None,
        stall_check_seconds: float = 3.0,
        ack_wait: float = 10.0,
    ) -> None:
        self.name = name
        self.subjects = subjects
        self.handler = handler
        self.sessions = sessions
        self.inbox = inbox
        self.bus = bus
        self.max_deliver = max_deliver
        self.batch_size = batch_size
        self.after_commit = after_commit
        self.stall_check_seconds = stall_check_seconds
        self.ack_wait = ack_wait
        self.processed = 0
        self.duplicates = 0
        self.handling = False
        self._stopping = asyncio.Event()
        DEAD_LETTERS.labels(name)  # at 0 from the start: increase() sees the first one
        for outcome in OUTCOMES:
            EVENTS_CONSUMED.labels(name, outcome)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Subscribe and consume until stopped; any failure (a NATS restart included) leads to a fresh
        subscription."""
        try:
            await unless_stopped(self.bus.wait_ready(), self._stopping)
            backoff = 0.2
            while not self._stopping.is_set():
                try:
                    await self._consume()
                except Stopped:
                    raise
                except Exception as error:
                    raise_if_cancelling(error)
                    log.warning(
                        "consumer.resubscribe", consumer=self.name, error=f"{type(error).__name__}: {error}"
                    )
                    await wait_event(self._stopping, backoff)
                    backoff = min(backoff * 2, 5.0)
        except Stopped:
            pass
        log.info("consumer.stopped", consumer=self.name)

    def _config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=1000,
            filter_subjects=self.subjects if len(self.subjects) > 1 else None,
        )

    async def _consume(self) -> None:
        js = self.bus.js
        subscription = await unless_stopped(
            js.pull_subscribe(
                self.subjects[0], durable=self.name, stream=self.bus.stream, config=self._config()
            ),
            self._stopping,
        )
        log.info("consumer.subscribed", consumer=self.name)
        try:
            await self._pull(subscription)
        finally:
            # Withdraw interest so the server stops handing messages to a fetch nobody will finish.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _pull(self, subscription: JetStreamContext.PullSubscription) -> None:
        last_progress = time.monotonic()
        while not self._stopping.is_set():
            try:
                messages = await unless_stopped(
                    subscription.fetch(self.batch_size, timeout=1.0), self._stopping
                )
            except (NatsTimeoutError, TimeoutError):
                messages = []
            if messages:
                await self._handle_batch(messages)
                if self._stopping.is_set():
                    return
                last_progress = time.monotonic()
                continue
            if time.monotonic() - last_progress > self.stall_check_seconds:
                # nats.py pull subscriptions may silently stop after a server restart (#504): if the server
                # holds undelivered messages for us and we got none, start over with a new subscription.
                pending = await unless_stopped(self.pending(), self._stopping)
                if pending > 0:
                    raise RuntimeError("consumer stalled with messages pending")
                last_progress = time.monotonic()

    async def pending(self) -> int:
        """Messages in the stream this durable consumer has not yet been given: its lag."""
        info = await self.bus.js.consumer_info(self.bus.stream, self.name)
        return info.num_pending or 0

    async def backlog(self) -> int:
        """Messages not yet handled: not yet given to any replica, or given and not yet acknowledged."""
        info = await self.bus.js.consumer_info(self.bus.stream, self.name)
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    async def _handle_batch(self, messages: list[Msg]) -> None:
        """All of a fetched batch in one transaction when it goes through; else (an unreadable envelope, a
        handler's error, the database away) one message at a time, each with its own retries and dead letter.
        Those not finished yet are told "in progress" every third of `ack_wait`, so JetStream hands none of them
        to another replica while this one is still busy with the batch (a slow handler, a pause for the
        database)."""
        waiting = list(messages)
        keeper = asyncio.create_task(self._keep_in_progress(waiting), name=f"in-progress-{self.name}")
        try:
            if len(waiting) > 1 and not self._stopping.is_set():
                self.handling = True
                try:
                    if await self._handle_together(waiting):
                        waiting.clear()
                finally:
                    self.handling = False
            while waiting:
                if self._stopping.is_set():
                    await self._give_back(waiting)
                    return
                self.handling = True
                try:
                    await self._handle(waiting[0])
                finally:
                    self.handling = False
                waiting.pop(0)
        except Stopped:  # stopped while paused for the database: the message in hand goes back too
            await self._give_back(waiting)
        finally:
            await cancel_and_wait(keeper)

    def _span(self, event: CloudEvent) -> contextlib.AbstractContextManager[Any]:
        """The handler's span continues the trace the event was created in (its `traceparent`)."""
        return consuming(
            self.bus.name,
            self.name,
            event_type=event.type,
            event_id=event.id,
            traceparent=event.traceparent,
            tracestate=event.tracestate,
        )

    async def _handle_together(self, messages: list[Msg]) -> bool:
        """The batch's events, handled in order in one transaction with their inbox rows, then acked: a
        transaction and an inbox lookup for the batch instead of one for each event. False, with nothing kept
        and nothing acked, if anything in it fails."""
        try:
            events = [CloudEvent.model_validate_json(message.data) for message in messages]
        except (ValidationError, json.JSONDecodeError):
            return False
        fresh: list[CloudEvent] = []
        try:
            async with self.sessions() as session, session.begin():
                seen = set(await session.scalars(self._handled(*(event.id for event in events))))
                for event in events:
                    if event.id in seen:
                        continue
                    seen.add(event.id)  # the same event twice in one batch: a redelivery, handled once
                    with self._span(event):
                        await self.handler(session, event)
                    fresh.append(event)
                if fresh:
                    now = utcnow()
                    await session.execute(insert(self.inbox), [self._inbox_row(e, now) for e in fresh])
        except Stopped:
            raise
        except Exception as error:
            raise_if_cancelling(error)
            log.info(
                "consumer.batch_one_by_one",
                consumer=self.name,
                messages=len(messages),
                error=str(error)[:300],
            )
            return False
        for message in messages:
            with contextlib.suppress(Exception):  # unacked, it comes again and the inbox knows it
                await message.ack()
        self.processed += len(fresh)
        self.duplicates += len(messages) - len(fresh)
        EVENTS_CONSUMED.labels(self.name, "processed").inc(len(fresh))
        if len(messages) > len(fresh):
            EVENTS_CONSUMED.labels(self.name, "duplicate").inc(len(messages) - len(fresh))
        if self.after_commit is not None:
            for event in fresh:
                self.after_commit(event)
        return True

    async def _keep_in_progress(self, waiting: list[Msg]) -> None:
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for message in list(waiting):
                with contextlib.suppress(Exception):
                    await message.in_progress()

    async def _give_back(self, messages: list[Msg]) -> None:
        """Fetched but not started when the stop came: redelivered at once, to another replica if any."""
        for message in messages:
            with contextlib.suppress(Exception):
                await message.nak()
        log.info("consumer.gave_back", consumer=self.name, messages=len(messages))

    async def _handle(self, message: Msg) -> None:
        try:
            cloud_event = CloudEvent.model_validate_json(message.data)
        except (ValidationError, json.JSONDecodeError) as error:
            await self._dead_letter(message, f"unreadable envelope: {error}")
            return
        with self._span(cloud_event) as span:
            try:
                processed = await self._process_when_the_database_answers(cloud_event)
            except Stopped:
                raise
            except Exception as error:
                raise_if_cancelling(error)
                mark_failed(span, error)
                delivered = message.metadata.num_delivered if message.metadata else 1
                EVENTS_CONSUMED.labels(self.name, "error").inc()
                log.warning(
                    "consumer.handler_failed",
                    consumer=self.name,
                    event_id=cloud_event.id,
                    event_type=cloud_event.type,
                    delivered=delivered,
                    error=f"{type(error).__name__}: {error}",
                )
                if delivered >= self.max_deliver:
                    await self._dead_letter(message, f"{type(error).__name__}: {error}")
                else:
                    await message.nak(delay=min(0.5 * 2**delivered, 30))
                return
            await message.ack()
            span.set_attribute("ew.duplicate", not processed)
            if processed:
                self.processed += 1
            else:
                self.duplicates += 1
            EVENTS_CONSUMED.labels(self.name, "processed" if processed else "duplicate").inc()
            if processed and self.after_commit is not None:
                self.after_commit(cloud_event)

    async def _process_when_the_database_answers(self, cloud_event: CloudEvent) -> bool:
        """`_process`, paused and tried again for as long as the database is away (a failover, a restart, no
        connection slot): that is no fault of the event, so it never counts towards dead-lettering, and the
        event stays with this replica (in progress) instead of going round the others."""
        pause = FIRST_PAUSE_SECONDS
        while True:
            try:
                processed = await self._process(cloud_event)
            except Exception as error:
                raise_if_cancelling(error)
                if not unavailable(error):
                    raise
                EVENTS_CONSUMED.labels(self.name, "database_unavailable").inc()
                log.warning(
                    "consumer.paused_database_unavailable",
                    consumer=self.name,
                    event_id=cloud_event.id,
                    retry_in_seconds=pause,
                    error=f"{type(error).__name__}: {error}"[:300],
                )
                if await wait_event(self._stopping, pause):
                    raise Stopped from error
                pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
                continue
            if pause > FIRST_PAUSE_SECONDS:
                log.info("consumer.resumed", consumer=self.name, event_id=cloud_event.id)
            return processed

    def _handled(self, *event_ids: str) -> Select[tuple[str]]:
        """Which of these events the inbox shows this consumer handled."""
        return select(self.inbox.c.event_id).where(
            self.inbox.c.consumer == self.name, self.inbox.c.event_id.in_(event_ids)
        )

    def _inbox_row(self, event: CloudEvent, at: datetime) -> dict[str, Any]:
        return {"consumer": self.name, "event_id": event.id, "event_type": event.type, "processed_at": at}

    async def _process(self, cloud_event: CloudEvent) -> bool:
        """True when handled now, False when the inbox shows it was handled before."""
        try:
            async with self.sessions() as session, session.begin():
                seen = await session.scalar(self._handled(cloud_event.id))
                if seen is not None:
                    return False
                await self.handler(session, cloud_event)
                await session.execute(insert(self.inbox).values(self._inbox_row(cloud_event, utcnow())))
        except IntegrityError:
            # Another replica may have committed the same event first; any other conflict is a real failure.
            async with self.sessions() as session:
                seen = await session.scalar(self._handled(cloud_event.id))
            if seen is None:
                raise
            return False
        return True

    async def _dead_letter(self, message: Msg, reason: str) -> None:
        DEAD_LETTERS.labels(self.name).inc()
        log.error("consumer.dead_lettered", consumer=self.name, subject=message.subject, reason=reason[:300])
        headers = dict(message.headers or {})
        headers.pop("Nats-Msg-Id", None)
        headers["ew-dead-letter-reason"] = reason[:500]
        headers["ew-original-subject"] = message.subject
        await self.bus.js.publish(dead_letter_subject(self.name), message.data, headers=headers)
        await message.term()
