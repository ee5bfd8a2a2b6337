"""Monitoring's event handlers: validate each payload into its contract and keep the fact (services/monitoring/facts.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler, by_type, keep
from libs.events.contracts import (
    APPLICATION_EVENTS,
    BOOKING_EVENTS,
    ELIGIBILITY_CHANGED,
    ELIGIBILITY_EVENTS,
    FOLLOW_UP_RECORDED,
    JOB_EVENTS,
    PERSON_ERASED,
    PERSON_EVENTS,
    PERSON_RECOMMENDED,
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    RECOMMENDATION_EVENTS,
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
    EligibilityChanged,
    FollowUpRecorded,
    JobPayload,
    PersonErased,
    PersonPayload,
    PersonRecommended,
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


def placement_handler(visit_months: Sequence[int]) -> Handler:
    async def confirmed(session: AsyncSession, placement: PlacementConfirmed) -> None:
        await facts.confirm_placement(session, placement, visit_months)

    return by_type(
        {
            PLACEMENT_CONFIRMED: keep(PlacementConfirmed, confirmed),
            PLACEMENT_ENDED: keep(PlacementEnded, facts.end_placement),
        }
    )


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == PERSON_ERASED:
        await facts.erase_person(session, PersonErased.model_validate(event.data))
    else:
        await facts.apply_person(session, PersonPayload.model_validate(event.data))


def monitoring_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "monitoring-stations": (STATION_EVENTS, keep(StationPayload, facts.apply_station)),
        "monitoring-persons": (PERSON_EVENTS, on_person_event),
        "monitoring-jobs": (JOB_EVENTS, keep(JobPayload, facts.apply_job)),
        "monitoring-placements": (PLACEMENT_EVENTS, placement_handler(runtime.settings.follow_up_months)),
        "monitoring-applications": (APPLICATION_EVENTS, keep(ApplicationPayload, facts.apply_application)),
        "monitoring-recommendations": (
            RECOMMENDATION_EVENTS,
            by_type({PERSON_RECOMMENDED: keep(PersonRecommended, facts.recommend)}),
        ),
        "monitoring-warnings": (
            WARNING_EVENTS,
            by_type(
                {
                    WARNING_RAISED: keep(WarningPayload, facts.raise_warning),
                    WARNING_RESOLVED: keep(WarningResolved, facts.resolve_warning),
                }
            ),
        ),
        "monitoring-follow-ups": (FOLLOW_UP_RECORDED, keep(FollowUpRecorded, facts.record_follow_up)),
        "monitoring-training": (
            "ew.training.enrolment.>",
            by_type(
                {
                    TRAINING_ENROLLED: keep(TrainingEnrolled, facts.enrol),
                    TRAINING_COMPLETED: keep(TrainingCompleted, facts.complete_training),
                }
            ),
        ),
        "monitoring-trips": (
            "ew.bus.trip.>",
            by_type(
                {
                    TRIP_SCHEDULED: keep(TripPayload, facts.apply_trip),
                    TRIP_CANCELLED: keep(TripPayload, facts.apply_trip),
                }
            ),
        ),
        "monitoring-bookings": (BOOKING_EVENTS, keep(BookingPayload, facts.apply_booking)),
        "monitoring-eligibilities": (
            ELIGIBILITY_EVENTS,
            by_type({ELIGIBILITY_CHANGED: keep(EligibilityChanged, facts.apply_claim)}),
        ),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
