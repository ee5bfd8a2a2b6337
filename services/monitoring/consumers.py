"""Monitoring's event handlers: validate each payload into its contract and keep the fact (services/monitoring/facts.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    APPLICATION_EVENTS,
    BOOKING_EVENTS,
    FOLLOW_UP_RECORDED,
    JOB_EVENTS,
    PERSON_ERASED,
    PERSON_EVENTS,
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    STATION_EVENTS,
    TRAINING_COMPLETED,
    TRAINING_ENROLLED,
    TRIP_CANCELLED,
    TRIP_SCHEDULED,
    WARNING_EVENTS,
    WARNING_RAISED,
    WARNING_RESOLVED,
    ApplicationPayload,
    BookingPayload,
    FollowUpRecorded,
    JobPayload,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
    TrainingCompleted,
    TrainingEnrolled,
    TripPayload,
    WarningPayload,
    WarningResolved,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.monitoring import facts

Apply = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def by_type(handlers: dict[str, Apply]) -> Handler:
    """One consumer's handler: the event types it keeps facts of; the others on its subjects are not ours."""

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        apply = handlers.get(event.type)
        if apply is not None:
            await apply(session, event)

    return handle


def placement_handler(visit_months: Sequence[int]) -> Handler:
    async def confirmed(session: AsyncSession, event: CloudEvent) -> None:
        await facts.confirm_placement(session, PlacementConfirmed.model_validate(event.data), visit_months)

    async def ended(session: AsyncSession, event: CloudEvent) -> None:
        await facts.end_placement(session, PlacementEnded.model_validate(event.data))

    return by_type({PLACEMENT_CONFIRMED: confirmed, PLACEMENT_ENDED: ended})


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == PERSON_ERASED:
        await facts.erase_person(session, PersonErased.model_validate(event.data))
    else:
        await facts.apply_person(session, PersonPayload.model_validate(event.data))


async def on_station_event(session: AsyncSession, event: CloudEvent) -> None:
    await facts.apply_station(session, StationPayload.model_validate(event.data))


async def on_job_event(session: AsyncSession, event: CloudEvent) -> None:
    await facts.apply_job(session, JobPayload.model_validate(event.data))


async def on_application_event(session: AsyncSession, event: CloudEvent) -> None:
    await facts.apply_application(session, ApplicationPayload.model_validate(event.data))


async def on_booking_event(session: AsyncSession, event: CloudEvent) -> None:
    await facts.apply_booking(session, BookingPayload.model_validate(event.data))


async def _raised(session: AsyncSession, event: CloudEvent) -> None:
    await facts.raise_warning(session, WarningPayload.model_validate(event.data))


async def _resolved(session: AsyncSession, event: CloudEvent) -> None:
    await facts.resolve_warning(session, WarningResolved.model_validate(event.data))


async def _visited(session: AsyncSession, event: CloudEvent) -> None:
    await facts.record_follow_up(session, FollowUpRecorded.model_validate(event.data))


async def _enrolled(session: AsyncSession, event: CloudEvent) -> None:
    await facts.enrol(session, TrainingEnrolled.model_validate(event.data))


async def _completed(session: AsyncSession, event: CloudEvent) -> None:
    await facts.complete_training(session, TrainingCompleted.model_validate(event.data))


async def _trip(session: AsyncSession, event: CloudEvent) -> None:
    await facts.apply_trip(session, TripPayload.model_validate(event.data))


def monitoring_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "monitoring-stations": (STATION_EVENTS, on_station_event),
        "monitoring-persons": (PERSON_EVENTS, on_person_event),
        "monitoring-jobs": (JOB_EVENTS, on_job_event),
        "monitoring-placements": (PLACEMENT_EVENTS, placement_handler(runtime.settings.follow_up_months)),
        "monitoring-applications": (APPLICATION_EVENTS, on_application_event),
        "monitoring-warnings": (
            WARNING_EVENTS,
            by_type({WARNING_RAISED: _raised, WARNING_RESOLVED: _resolved}),
        ),
        "monitoring-follow-ups": (FOLLOW_UP_RECORDED, _visited),
        "monitoring-training": (
            "ew.training.enrolment.>",
            by_type({TRAINING_ENROLLED: _enrolled, TRAINING_COMPLETED: _completed}),
        ),
        "monitoring-trips": ("ew.bus.trip.>", by_type({TRIP_SCHEDULED: _trip, TRIP_CANCELLED: _trip})),
        "monitoring-bookings": (BOOKING_EVENTS, on_booking_event),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
