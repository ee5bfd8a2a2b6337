"""Feed's event handlers: thin, idempotent (the inbox de-duplicates, versions order)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.app import ServiceRuntime
from libs.events.consumer import EventConsumer
from libs.events.contracts import JOB_EVENTS, JobPayload
from libs.events.envelope import CloudEvent
from services.feed.models import platform
from services.feed.service import ChangeSignal, apply_job_event


async def on_job_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_job_event(session, event.type, JobPayload.model_validate(event.data))


def feed_consumers(runtime: ServiceRuntime, signal: ChangeSignal) -> list[EventConsumer]:
    return [
        EventConsumer(
            name="feed-jobs",
            subjects=[JOB_EVENTS],
            handler=on_job_event,
            sessions=runtime.sessions,
            inbox=platform.inbox,
            bus=runtime.bus,
            max_deliver=runtime.settings.consumer_max_deliver,
            after_commit=lambda _event: signal.notify(),
        )
    ]
