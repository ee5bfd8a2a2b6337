"""What queues a text message: an eligibility a worker should claim (policy), an offer (matching), a bus seat
(bus). Each handler only queues; the sender decides when it goes (services/demand/notices/service.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import BEIJING
from libs.events.consumer import EventConsumer, by_type, keep
from libs.events.contracts import (
    APPLICATION_OFFERED,
    BOOKING_CONFIRMED,
    ELIGIBILITY_CHANGED,
    ApplicationPayload,
    BookingPayload,
    EligibilityChanged,
)
from libs.runtime import ServiceRuntime
from services.demand.models import Station
from services.demand.notices.service import enqueue


async def on_eligibility(session: AsyncSession, claim: EligibilityChanged) -> None:
    """A worker's own claim, the first time it is found (or found again): tell them to ask for it."""
    if claim.beneficiary != "worker" or claim.status != "eligible" or claim.person_id is None:
        return
    await enqueue(
        session,
        person_id=claim.person_id,
        kind="eligibility",
        values={"policy": claim.policy_name},
        dedup_key=f"eligibility:{claim.id}",
    )


async def on_offer(session: AsyncSession, application: ApplicationPayload) -> None:
    await enqueue(
        session,
        person_id=application.person_id,
        kind="offer",
        values={"employer": application.employer_name or "用人单位", "job": application.job_title or "岗位"},
        dedup_key=f"offer:{application.id}",
    )


async def on_seat(session: AsyncSession, booking: BookingPayload) -> None:
    """A confirmed seat, and again if its trip or departure changes (a new key each time)."""
    if booking.departs_at is None or booking.trip_id is None:
        return
    departs = booking.departs_at.astimezone(BEIJING)
    station = await session.get(Station, booking.origin_station_id)
    place = booking.pickup_point or (station.name if station else "联络站")
    await enqueue(
        session,
        person_id=booking.person_id,
        kind="bus_seat",
        values={"time": f"{departs.month}月{departs.day}日{departs:%H:%M}", "place": place},
        dedup_key=f"bus:{booking.id}:{booking.trip_id}:{booking.departs_at.isoformat()}",
    )


def notice_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    """Each on the one subject it needs: demand's database is not written for the events it ignores."""
    return [
        runtime.consumer(
            "demand-notices-eligibilities",
            ELIGIBILITY_CHANGED,
            by_type({ELIGIBILITY_CHANGED: keep(EligibilityChanged, on_eligibility)}),
        ),
        runtime.consumer(
            "demand-notices-offers",
            APPLICATION_OFFERED,
            by_type({APPLICATION_OFFERED: keep(ApplicationPayload, on_offer)}),
        ),
        runtime.consumer(
            "demand-notices-seats",
            BOOKING_CONFIRMED,
            by_type({BOOKING_CONFIRMED: keep(BookingPayload, on_seat)}),
        ),
    ]
