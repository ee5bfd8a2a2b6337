"""Monitoring's facts rebuilt from the source services' own databases (`eastwest monitoring rebuild`).

The events that built the facts are kept on the stream for two weeks only, but what they said is in the
sources: demand's status changes, warnings and visits, matching's applications and placements, training's
enrolments, bus's trips and bookings, policy's claims, the stations and the jobs. This reads them, says each again as the event
it was (the same contract payload, at the instant it happened), and applies them in order through the same
handlers as the consumers (services/monitoring/facts.py), in one transaction: a failed rebuild changes nothing.

It lives in the composition root because it is the one place allowed to know every service's tables. Run it with
monitoring's consumers stopped (scale monitoring to zero), so nothing is applied twice meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import BEIJING, create_engine, session_factory
from libs.events.contracts import (
    Employment,
    Intention,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    TrainingCompleted,
    TrainingEnrolled,
    WarningPayload,
    WarningResolved,
)
from libs.settings import Settings
from services.bus import models as bus
from services.bus.seats import booking_payload
from services.bus.service import trip_payload
from services.demand import models as demand
from services.demand.follow_ups.service import recorded
from services.matching import models as matching
from services.matching.service import application_payload, recommended_payload
from services.monitoring import facts
from services.monitoring import models as monitoring
from services.policy import models as policy
from services.policy.eligibility import models as policy_lists
from services.policy.eligibility.assessing import claim_payload
from services.stations import models as stations
from services.stations.service import station_payload
from services.supply import models as supply
from services.supply.service import job_payload
from services.training import models as training

FIRST = datetime.min.replace(tzinfo=UTC)
FACTS: Sequence[type[monitoring.Base]] = (
    monitoring.Recommendation,
    monitoring.Spell,
    monitoring.Placement,
    monitoring.Application,
    monitoring.Warning,
    monitoring.FollowUp,
    monitoring.Training,
    monitoring.Booking,
    monitoring.PolicyClaim,
    monitoring.Trip,
    monitoring.Worker,
    monitoring.Job,
    monitoring.Station,
)

Apply = Callable[[AsyncSession], Awaitable[None]]
P = TypeVar("P")


@dataclass(order=True)
class Said:
    """One event said again: when it happened, and its handler call."""

    at: datetime
    order: int
    apply: Apply = field(compare=False)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, BEIJING).astimezone(UTC)


class History:
    """The events, collected from each source in turn, then ordered by when they happened."""

    def __init__(self) -> None:
        self.said: list[Said] = []

    def add(self, at: datetime, handler: Callable[[AsyncSession, P], Awaitable[None]], payload: P) -> None:
        async def apply(session: AsyncSession) -> None:
            await handler(session, payload)

        self.said.append(Said(at, len(self.said), apply))


async def _stations(session: AsyncSession, history: History) -> None:
    for station in (await session.scalars(select(stations.Station))).all():
        payload = station_payload(station)
        history.add(FIRST, facts.apply_station, payload)


async def _jobs(session: AsyncSession, history: History) -> None:
    for job in (await session.scalars(select(supply.Job))).all():
        payload = job_payload(job)
        history.add(FIRST, facts.apply_job, payload)


async def _persons(session: AsyncSession, history: History) -> None:
    """Each worker's versions as their status changes said them, in the order they were recorded."""
    changes: dict[str, list[demand.StatusChange]] = {}
    for change in (
        await session.scalars(select(demand.StatusChange).order_by(demand.StatusChange.recorded_at))
    ).all():
        changes.setdefault(change.person_id, []).append(change)
    for person in (await session.scalars(select(demand.Person))).all():
        for version, change in enumerate(changes.get(person.id, []), start=1):
            employment = change.employment if change.status == "employed" else None
            payload = PersonPayload(
                id=person.id,
                version=version,
                station_id=person.station_id,
                province_code=person.province_code,
                gender=person.gender,
                age=0,
                education=person.education,
                categories=list(person.categories),
                key_region=person.key_region,
                skills=[],
                certificates=[],
                intention=Intention(),
                status=change.status,
                status_since=change.since,
                employment=employment
                or (Employment(how="self_found") if change.status == "employed" else None),
                updated_at=change.recorded_at,
            )
            history.add(change.recorded_at, facts.apply_person, payload)
        if person.erased_at is not None:
            erased = PersonErased(id=person.id, station_id=person.station_id, erased_at=person.erased_at)
            history.add(person.erased_at, facts.erase_person, erased)


async def _warnings_and_visits(session: AsyncSession, history: History) -> None:
    for warning in (await session.scalars(select(demand.EarlyWarning))).all():
        raised = WarningPayload(
            id=warning.id,
            person_id=warning.person_id,
            station_id=warning.station_id,
            kind=warning.kind,
            raised_at=warning.raised_at,
        )
        history.add(warning.raised_at, facts.raise_warning, raised)
        if warning.resolved_at is not None:
            resolved = WarningResolved(
                id=warning.id,
                person_id=warning.person_id,
                station_id=warning.station_id,
                resolved_at=warning.resolved_at,
            )
            history.add(warning.resolved_at, facts.resolve_warning, resolved)
    done = select(demand.FollowUp).where(demand.FollowUp.status == "done")
    for visit in (await session.scalars(done)).all():
        assert visit.recorded_at is not None
        history.add(visit.recorded_at, facts.record_follow_up, recorded(visit))


async def _matching(session: AsyncSession, history: History, visit_months: Sequence[int]) -> None:
    for application in (await session.scalars(select(matching.Application))).all():
        steps = [("applied", application.created_at)] + [
            (status, at)
            for status, at in (
                ("offered", application.offered_at),
                ("accepted", application.accepted_at),
                ("declined", application.declined_at),
            )
            if at is not None
        ]
        for status, at in steps:
            history.add(at, facts.apply_application, application_payload(application, status, at))

    async def confirm(session: AsyncSession, confirmed: PlacementConfirmed) -> None:
        await facts.confirm_placement(session, confirmed, visit_months)

    workers = {worker.id: worker for worker in (await session.scalars(select(matching.WorkerView))).all()}
    for day in (await session.scalars(select(matching.Recommendation))).all():
        worker = workers.get(day.person_id)
        if worker is not None:
            told = recommended_payload(day, worker)
            history.add(_day_start(day.recommended_on), facts.recommend, told)
    jobs = {job.id: job for job in (await session.scalars(select(matching.JobView))).all()}
    for placement in (await session.scalars(select(matching.Placement))).all():
        job = jobs.get(placement.job_id)
        confirmed = PlacementConfirmed(
            placement_id=placement.id,
            person_id=placement.person_id,
            job_id=placement.job_id,
            start_date=placement.start_date,
            application_id=placement.application_id,
            employer_id=placement.employer_id,
            station_id=placement.station_id,
            province_code=placement.province_code,
            city_code=job.job().city_code if job is not None else None,
        )
        history.add(placement.created_at, confirm, confirmed)
        if placement.ended_on is not None:
            ended = PlacementEnded(
                placement_id=placement.id,
                person_id=placement.person_id,
                job_id=placement.job_id,
                ended_on=placement.ended_on,
                reason=placement.end_reason or "",
            )
            at = max(_day_start(placement.ended_on), placement.created_at)
            history.add(at, facts.end_placement, ended)


async def _training(session: AsyncSession, history: History) -> None:
    """Enrolments of workers since erased have lost their worker (training forgets them): not said again."""
    query = select(training.Enrolment).where(training.Enrolment.person_id.is_not(None))
    for enrolment in (await session.scalars(query)).all():
        assert enrolment.person_id is not None
        enrolled = TrainingEnrolled(
            enrolment_id=enrolment.id,
            programme_id=enrolment.programme_id,
            base_id=enrolment.base_id,
            person_id=enrolment.person_id,
            enrolled_on=enrolment.created_at.astimezone(BEIJING).date(),
        )
        history.add(enrolment.created_at, facts.enrol, enrolled)
        if enrolment.completed_on is not None:
            completed = TrainingCompleted(
                enrolment_id=enrolment.id,
                programme_id=enrolment.programme_id,
                base_id=enrolment.base_id,
                person_id=enrolment.person_id,
                occupation_code="",
                skills=[],
                certificate=enrolment.certificate,
                completed_on=enrolment.completed_on,
            )
            at = enrolment.completed_at or _day_start(enrolment.completed_on)
            history.add(at, facts.complete_training, completed)


async def _bus(session: AsyncSession, history: History) -> None:
    trips = {trip.id: trip for trip in (await session.scalars(select(bus.Trip))).all()}
    for trip in trips.values():
        history.add(trip.created_at, facts.apply_trip, trip_payload(trip))
    for booking in (await session.scalars(select(bus.Booking))).all():
        on_trip = trips.get(booking.trip_id) if booking.trip_id else None
        said = booking_payload(booking, on_trip, None, booking.created_at)
        history.add(booking.created_at, facts.apply_booking, said)


async def _policy(session: AsyncSession, history: History) -> None:
    """Each claim as it stands now (its last event said it so)."""
    names = {
        row.code: str(row.item["name"]) for row in (await session.scalars(select(policy.PolicyRow))).all()
    }
    for claim in (await session.scalars(select(policy_lists.Eligibility))).all():
        payload = claim_payload(claim, names.get(claim.policy_code, claim.policy_code))
        history.add(claim.updated_at, facts.apply_claim, payload)


async def rebuild(settings: Settings) -> int:
    """Every fact from the sources; the number of events said again."""
    history = History()
    readers: list[tuple[str, Callable[[AsyncSession, History], Awaitable[None]]]] = [
        ("stations", _stations),
        ("supply", _jobs),
        ("demand", _persons),
        ("demand", _warnings_and_visits),
        ("matching", lambda s, h: _matching(s, h, settings.follow_up_months)),
        ("training", _training),
        ("bus", _bus),
        ("policy", _policy),
    ]
    for service, read in readers:
        engine = create_engine(settings.database_url_for(service))
        try:
            async with session_factory(engine)() as session:
                await read(session, history)
        finally:
            await engine.dispose()
    history.said.sort()
    engine = create_engine(settings.database_url_for("monitoring"))
    try:
        async with session_factory(engine).begin() as session:
            for model in FACTS:
                await session.execute(delete(model))
            for said in history.said:
                await said.apply(session)
    finally:
        await engine.dispose()
    return len(history.said)
