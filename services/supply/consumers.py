"""Supply's event handlers: placements fill a job's headcount; follow-up visits report on employers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer
from libs.events.contracts import (
    FOLLOW_UP_RECORDED,
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    FollowUpRecorded,
    PlacementConfirmed,
    PlacementEnded,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.supply import risk
from services.supply.service import record_placement


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    """A placement fills one seat of its job, an ended one frees it."""
    if event.type == PLACEMENT_CONFIRMED:
        await record_placement(session, PlacementConfirmed.model_validate(event.data).job_id, 1)
    elif event.type == PLACEMENT_ENDED:
        await record_placement(session, PlacementEnded.model_validate(event.data).job_id, -1)


async def on_follow_up(session: AsyncSession, event: CloudEvent) -> None:
    """A visit that found wage arrears, no contract or unpaid insurance counts against the employer."""
    await risk.record_visit(session, FollowUpRecorded.model_validate(event.data))


def supply_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [
        runtime.consumer("supply-placements", PLACEMENT_EVENTS, on_placement_event),
        runtime.consumer("supply-follow-ups", FOLLOW_UP_RECORDED, on_follow_up),
    ]
