"""The live board's event handlers: stations for the form, counts for attribution."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    APPLICATION_SUBMITTED,
    LIVESIGNUP_EVENTS,
    LIVESIGNUP_LEAD,
    LIVESIGNUP_MATCHED,
    PLACEMENT_CONFIRMED,
    STATION_EVENTS,
    ApplicationPayload,
    LiveSignupLead,
    LiveSignupMatched,
    PlacementConfirmed,
    StationPayload,
)
from libs.events.envelope import CloudEvent
from libs.events.projection import Projection
from libs.runtime import ServiceRuntime
from services.feed.live.models import LiveStation
from services.feed.live.service import bump

STATIONS = Projection[StationPayload, LiveStation](
    LiveStation,
    lambda station: {"name": station.name, "province_code": station.province_code, "active": station.active},
)


async def on_station_event(session: AsyncSession, event: CloudEvent) -> None:
    await STATIONS.apply(session, StationPayload.model_validate(event.data))


async def on_signup_event(session: AsyncSession, event: CloudEvent) -> None:
    """Every sign-up counts once: a lead when it is recorded, a registered worker when matched directly (a lead
    that registers later comes back as `matched` with its `lead_id`, and is not counted again)."""
    if event.type == LIVESIGNUP_LEAD:
        lead = LiveSignupLead.model_validate(event.data)
        await bump(session, lead.stream_id, signups=1, leads=1)
    elif event.type == LIVESIGNUP_MATCHED:
        matched = LiveSignupMatched.model_validate(event.data)
        if matched.lead_id is None:
            await bump(session, matched.stream_id, signups=1)


async def on_application_event(session: AsyncSession, event: CloudEvent) -> None:
    application = ApplicationPayload.model_validate(event.data)
    if application.stream_id:
        await bump(session, application.stream_id, applications=1)


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    placement = PlacementConfirmed.model_validate(event.data)
    if placement.stream_id:
        await bump(session, placement.stream_id, placements=1)


def live_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "feed-live-stations": (STATION_EVENTS, on_station_event),
        "feed-live-signups": (LIVESIGNUP_EVENTS, on_signup_event),
        "feed-live-applications": (APPLICATION_SUBMITTED, on_application_event),
        "feed-live-placements": (PLACEMENT_CONFIRMED, on_placement_event),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
