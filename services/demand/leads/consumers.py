"""The leads' event handlers: a lead that registers (demand's own person events), the jobs a sign-up may name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    JOB_CLOSED,
    JOB_EVENTS,
    PERSON_EVENTS,
    PERSON_REGISTERED,
    PERSON_UPDATED,
    JobPayload,
)
from libs.events.envelope import CloudEvent
from libs.events.projection import Projection
from libs.pii import PiiVault
from libs.runtime import ServiceRuntime
from services.demand.leads.service import convert_leads
from services.demand.models import LiveJob

# Which jobs a live-stream sign-up can still apply to.
LIVE_JOBS = Projection[JobPayload, LiveJob](
    LiveJob,
    lambda job: {
        "open": job.status == "published",
        "headcount_left": job.headcount_left,
        "title": job.title[:100],
        "employer_name": job.employer_name[:200],
        "city_code": job.city_code,
    },
)


async def apply_job(session: AsyncSession, event_type: str, job: JobPayload) -> None:
    await LIVE_JOBS.apply(
        session, job.model_copy(update={"status": "closed"}) if event_type == JOB_CLOSED else job
    )


def _person_handler(vault: PiiVault) -> Handler:
    async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
        if event.type in (PERSON_REGISTERED, PERSON_UPDATED) and event.subject:
            await convert_leads(session, vault, event.subject)

    return on_person_event


async def _on_job_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_job(session, event.type, JobPayload.model_validate(event.data))


def live_consumers(runtime: ServiceRuntime, vault: PiiVault) -> list[EventConsumer]:
    """Demand's own person events (a lead registering) and supply's job events (which jobs are open)."""
    handlers: dict[str, tuple[str, Handler]] = {
        "demand-live-persons": (PERSON_EVENTS, _person_handler(vault)),
        "demand-live-jobs": (JOB_EVENTS, _on_job_event),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
