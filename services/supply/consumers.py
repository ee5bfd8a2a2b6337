"""Supply's event handlers: placements fill a job's headcount."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer
from libs.events.contracts import PLACEMENT_CONFIRMED, PLACEMENT_ENDED, PLACEMENT_EVENTS
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.supply.service import record_placement


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    delta = {PLACEMENT_CONFIRMED: 1, PLACEMENT_ENDED: -1}.get(event.type)
    if delta is not None:
        await record_placement(session, str(event.data["job_id"]), delta)


def supply_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [runtime.consumer("supply-placements", PLACEMENT_EVENTS, on_placement_event)]
