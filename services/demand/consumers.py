"""Demand's event handlers: the station read model (scope and province of each worker) and placements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import beijing_date
from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    STATION_EVENTS,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
)
from libs.events.envelope import CloudEvent
from libs.pii import PiiVault
from libs.runtime import ServiceRuntime
from services.demand import repository
from services.demand.follow_ups import service as follow_ups
from services.demand.leads.consumers import live_consumers
from services.demand.schemas import EmploymentIn, StatusChangeIn
from services.demand.service import apply_station, change_status


async def on_station_event(session: AsyncSession, event: CloudEvent) -> None:
    station = StationPayload.model_validate(event.data)
    await apply_station(session, station)


def placement_handler(vault: PiiVault, follow_up_months: Sequence[int]) -> Handler:
    """A placement makes the worker employed and schedules its follow-up visits; its end makes them unemployed,
    cancels the visits still due and warns their station."""

    async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == PLACEMENT_CONFIRMED:
            confirmed = PlacementConfirmed.model_validate(event.data)
            person = await repository.get_person(session, confirmed.person_id, for_update=True)
            if person is not None:
                where = (
                    {"where": "jiangsu", "region_code": confirmed.city_code} if confirmed.city_code else {}
                )
                change = StatusChangeIn(
                    status="employed",
                    since=min(confirmed.start_date, beijing_date()),
                    employment=EmploymentIn.model_validate({"how": "placed", **where}),
                )
                await change_status(
                    session,
                    vault,
                    person,
                    change,
                    source="placement",
                    employer_credit_code=confirmed.employer_credit_code,
                )
                await follow_ups.schedule(session, confirmed, follow_up_months)
        elif event.type == PLACEMENT_ENDED:
            ended = PlacementEnded.model_validate(event.data)
            await follow_ups.cancel(session, ended.placement_id)
            person = await repository.get_person(session, ended.person_id, for_update=True)
            if person is not None:
                change = StatusChangeIn(status="unemployed", since=min(ended.ended_on, beijing_date()))
                await change_status(
                    session, vault, person, change, source="placement", warning_kind="placement_ended"
                )

    return on_placement_event


def demand_consumers(runtime: ServiceRuntime, vault: PiiVault) -> list[EventConsumer]:
    return [
        runtime.consumer(
            "demand-placements", PLACEMENT_EVENTS, placement_handler(vault, runtime.settings.follow_up_months)
        ),
        runtime.consumer("demand-stations", STATION_EVENTS, on_station_event),
        *live_consumers(runtime, vault),
    ]
