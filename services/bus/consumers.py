"""Bus's event handlers: thin, idempotent (the inbox de-duplicates, versions and placement ids order)."""

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
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    STATION_EVENTS,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.bus import service

PERSON_STATE = {PERSON_REGISTERED, PERSON_UPDATED, PERSON_STATUS_CHANGED}


async def on_station_event(session: AsyncSession, event: CloudEvent) -> None:
    await service.apply_station(session, StationPayload.model_validate(event.data))


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    """Workers: their station and province (scope). Erasure cancels their bookings."""
    if event.type in PERSON_STATE:
        await service.apply_person(session, PersonPayload.model_validate(event.data))
    elif event.type == PERSON_ERASED:
        await service.erase_person(session, PersonErased.model_validate(event.data))


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    """A placement that needs transport books a seat; one that ends before departure gives it back."""
    if event.type == PLACEMENT_CONFIRMED:
        await service.record_placement(session, PlacementConfirmed.model_validate(event.data))
    elif event.type == PLACEMENT_ENDED:
        await service.end_placement(session, PlacementEnded.model_validate(event.data))


def bus_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    def consumer(name: str, subject: str, handler: Handler) -> EventConsumer:
        return runtime.consumer(name, subject, handler)

    return [
        consumer("bus-stations", STATION_EVENTS, on_station_event),
        consumer("bus-persons", PERSON_EVENTS, on_person_event),
        consumer("bus-placements", PLACEMENT_EVENTS, on_placement_event),
    ]
