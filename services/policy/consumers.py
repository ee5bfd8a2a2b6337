"""Policy's event handlers: validate each payload into its contract and keep the fact, which assesses the
occasions it changes (services/policy/eligibility/facts.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler, by_type, keep
from libs.events.contracts import (
    JOB_EVENTS,
    PERSON_ERASED,
    PERSON_EVENTS,
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    PLACEMENT_EVENTS,
    STATION_EVENTS,
    TRAINING_COMPLETED,
    TRAINING_ENROLLED,
    JobPayload,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
    TrainingCompleted,
    TrainingEnrolled,
)
from libs.events.envelope import CloudEvent
from libs.runtime import ServiceRuntime
from services.policy.eligibility import facts


async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type == PERSON_ERASED:
        await facts.erase_person(session, PersonErased.model_validate(event.data))
    else:
        await facts.apply_person(session, PersonPayload.model_validate(event.data))


def policy_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "policy-stations": (STATION_EVENTS, keep(StationPayload, facts.apply_station)),
        "policy-persons": (PERSON_EVENTS, on_person_event),
        "policy-jobs": (JOB_EVENTS, keep(JobPayload, facts.apply_job)),
        "policy-placements": (
            PLACEMENT_EVENTS,
            by_type(
                {
                    PLACEMENT_CONFIRMED: keep(PlacementConfirmed, facts.confirm_placement),
                    PLACEMENT_ENDED: keep(PlacementEnded, facts.end_placement),
                }
            ),
        ),
        "policy-training": (
            "ew.training.enrolment.>",
            by_type(
                {
                    TRAINING_ENROLLED: keep(TrainingEnrolled, facts.enrol),
                    TRAINING_COMPLETED: keep(TrainingCompleted, facts.complete_training),
                }
            ),
        ),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
