"""Supply's event handlers: placements fill a job's headcount."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer
from libs.events.contracts import (
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    PlacementConfirmed,
    PlacementEnded,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.supply.service import record_placement


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    """A placement fills one seat of its job, an ended one frees it."""
    if event.type == PLACEMENT_CONFIRMED:
        await record_placement(session, PlacementConfirmed.model_validate(event.data).job_id, 1)
    elif event.type == PLACEMENT_ENDED:
        await record_placement(session, PlacementEnded.model_validate(event.data).job_id, -1)


def supply_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [runtime.consumer("supply-placements", PLACEMENT_EVENTS, on_placement_event)]
