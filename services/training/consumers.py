"""Training's event handlers: thin, idempotent (the inbox de-duplicates, versions and ids order)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    PERSON_ERASED,
    PERSON_EVENTS,
    PERSON_REGISTERED,
    PERSON_STATUS_CHANGED,
    PERSON_UPDATED,
    PLACEMENT_CONFIRMED,
    PLACEMENT_EVENTS,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.training import service

PERSON_STATE = {PERSON_REGISTERED, PERSON_UPDATED, PERSON_STATUS_CHANGED}


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    """Persons: existence and scope (station, province) for enrolments. Other person events are not ours."""
    if event.type in PERSON_STATE:
        await service.apply_person(session, PersonPayload.model_validate(event.data))
    elif event.type == PERSON_ERASED:
        await service.erase_person(session, PersonErased.model_validate(event.data))


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    """Placements: who started work when, for the post-training employment rate."""
    if event.type == PLACEMENT_CONFIRMED:
        await service.record_placement(session, PlacementConfirmed.model_validate(event.data))


def training_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    def consumer(name: str, subject: str, handler: Handler) -> EventConsumer:
        return runtime.consumer(name, subject, handler)

    return [
        consumer("training-persons", PERSON_EVENTS, on_person_event),
        consumer("training-placements", PLACEMENT_EVENTS, on_placement_event),
    ]
