"""Feed's event handlers: thin, idempotent (the inbox de-duplicates, versions order)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    JOB_EVENTS,
    PERSON_ERASED,
    PERSON_EVENTS,
    JobPayload,
    PersonErased,
    PersonPayload,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.feed import editions, webhooks
from services.feed.service import ChangeSignal, apply_job_event
from services.feed.settings import FeedSettings


def job_handler(lifetime_days: int) -> Handler:
    async def on_job_event(session: AsyncSession, event: CloudEvent) -> None:
        """The change and its webhook deliveries commit together."""
        job = JobPayload.model_validate(event.data)
        change = await apply_job_event(session, event.type, job, lifetime_days=lifetime_days)
        if change is not None:
            await webhooks.enqueue_deliveries(session, change)

    return on_job_event


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == PERSON_ERASED:
        await editions.erase_person(session, PersonErased.model_validate(event.data).id)
    else:
        await editions.apply_person(session, PersonPayload.model_validate(event.data))


def feed_consumers(
    runtime: ServiceRuntime,
    signal: ChangeSignal,
    wake_deliveries: Callable[[], None],
    lifetime_days: int = FeedSettings.posting_lifetime_days,
) -> list[EventConsumer]:
    def after_job(_event: CloudEvent) -> None:
        signal.notify()
        wake_deliveries()

    def consumer(
        name: str, subject: str, handler: Handler, after_commit: Callable[[CloudEvent], None] | None
    ) -> EventConsumer:
        return runtime.consumer(name, subject, handler, after_commit)

    return [
        consumer("feed-jobs", JOB_EVENTS, job_handler(lifetime_days), after_job),
        consumer("feed-persons", PERSON_EVENTS, on_person_event, None),
    ]
