"""Matching's event handlers: job, worker and training events into the read models; the index follows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    JOB_CLOSED,
    JOB_EVENTS,
    LIVESIGNUP_MATCHED,
    PERSON_ERASED,
    PERSON_EVENTS,
    TRAINING_COMPLETED,
    JobPayload,
    LiveSignupMatched,
    PersonErased,
    PersonPayload,
    TrainingCompleted,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.matching import service
from services.matching.index import IndexHolder


async def on_job_event(session: AsyncSession, event: CloudEvent) -> None:
    await service.apply_job(session, JobPayload.model_validate(event.data), closed=event.type == JOB_CLOSED)


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == PERSON_ERASED:
        await service.erase_worker(session, PersonErased.model_validate(event.data).id)
    else:
        await service.apply_worker(session, PersonPayload.model_validate(event.data))


async def on_training_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == TRAINING_COMPLETED:
        completed = TrainingCompleted.model_validate(event.data)
        await service.add_training(session, completed)


async def on_livesignup_matched(session: AsyncSession, event: CloudEvent) -> None:
    """A registered worker signed up on a live-stream board: apply for them (retried until both are known)."""
    signup = LiveSignupMatched.model_validate(event.data)
    await service.apply_from_livestream(session, signup.person_id, signup.job_id, signup.stream_id)


def matching_consumers(runtime: ServiceRuntime, holder: IndexHolder) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "matching-jobs": (JOB_EVENTS, on_job_event),
        "matching-persons": (PERSON_EVENTS, on_person_event),
        "matching-training": ("ew.training.enrolment.>", on_training_event),
        "matching-livesignups": (LIVESIGNUP_MATCHED, on_livesignup_matched),
    }
    return [
        runtime.consumer(name, subject, handler, lambda _event: holder.wake())
        for name, (subject, handler) in handlers.items()
    ]
