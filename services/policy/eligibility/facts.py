"""The facts policy keeps from the other services' events, and the occasions each change sends to be assessed.

Events about one worker may arrive in any order across streams: a placement before the worker's registration,
a completion before the enrolment. Whatever is missing is waited for: an occasion whose worker is not known yet
is assessed when the worker's event arrives. Each handler runs in the consumer's transaction."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import beijing_date
from libs.events.contracts import (
    JobPayload,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
    TrainingCompleted,
    TrainingEnrolled,
)
from libs.events.projection import Projection
from services.policy.eligibility import assessing, repository
from services.policy.eligibility.assessing import OPEN, SYSTEM, change, lock_worker
from services.policy.eligibility.models import (
    Employer,
    EmployerYear,
    Job,
    Placement,
    Station,
    Training,
    Worker,
)

STATIONS: Projection[StationPayload, Station] = Projection(
    Station,
    lambda payload: {
        "province_code": payload.province_code,
        "city_code": payload.city_code,
        "county_code": payload.county_code,
    },
)
WORKERS: Projection[PersonPayload, Worker] = Projection(
    Worker,
    lambda payload: {
        "station_id": payload.station_id,
        "province_code": payload.province_code,
        "categories": sorted(payload.categories),
        "key_region": payload.key_region,
        "age": payload.age,
    },
    erasable=True,
)
JOBS: Projection[JobPayload, Job] = Projection(
    Job, lambda payload: {"employer_id": payload.employer_id, "city_code": payload.city_code}
)


async def apply_station(session: AsyncSession, payload: StationPayload) -> None:
    await STATIONS.apply(session, payload)


async def apply_person(session: AsyncSession, payload: PersonPayload) -> None:
    """A worker's new version: what their categories or origin decide may have changed."""
    await lock_worker(session, payload.id)
    worker = await session.get(Worker, payload.id)
    before = (
        (worker.categories, worker.key_region, worker.province_code, worker.station_id) if worker else None
    )
    row = await WORKERS.apply(session, payload)
    if row is None:
        return
    if before != (row.categories, row.key_region, row.province_code, row.station_id):
        await assessing.assess_person(session, payload.id, beijing_date())


async def erase_person(session: AsyncSession, erased: PersonErased) -> None:
    """Claims not yet taken up are withdrawn (there is nobody left to tell); the rest stay as the record of
    what was decided and paid, under a person id that leads nowhere."""
    await WORKERS.erase(
        session,
        erased.id,
        unseen={"station_id": erased.station_id, "province_code": "", "categories": [], "age": 0},
    )
    for claim in await repository.claims_of_person(session, erased.id):
        if claim.status in OPEN:
            await change(session, claim, "withdrawn", "withdrawn", SYSTEM, note="本人信息已删除")


async def apply_job(session: AsyncSession, payload: JobPayload) -> None:
    """A job's event carries its employer's flags; when they change, the employer's occasions are due."""
    await JOBS.apply(session, payload)
    employer = await session.get(Employer, payload.employer_id)
    flags = (payload.employer_assistance_base, payload.employer_caring)
    if employer is not None and (employer.assistance_base, employer.caring) == flags:
        return
    if employer is None:
        employer = Employer(id=payload.employer_id, city_code=payload.city_code)
        session.add(employer)
    employer.assistance_base, employer.caring = flags
    await session.flush()
    today = beijing_date()
    await session.execute(
        update(Placement).where(Placement.employer_id == payload.employer_id).values(recheck_on=today)
    )
    await session.execute(
        update(EmployerYear).where(EmployerYear.employer_id == payload.employer_id).values(recheck_on=today)
    )


async def confirm_placement(session: AsyncSession, confirmed: PlacementConfirmed) -> None:
    if await session.get(Placement, confirmed.placement_id) is not None:
        return
    await lock_worker(session, confirmed.person_id)
    job = await session.get(Job, confirmed.job_id)
    employer_id = confirmed.employer_id or (job.employer_id if job else None)
    placement = Placement(
        id=confirmed.placement_id,
        person_id=confirmed.person_id,
        job_id=confirmed.job_id,
        employer_id=employer_id,
        city_code=confirmed.city_code or (job.city_code if job else None),
        agency_id=None,  # who brought a placement about is recorded with agencies (issue 17)
        started_on=confirmed.start_date,
    )
    session.add(placement)
    await session.flush()
    await _placement_changed(session, placement)


async def end_placement(session: AsyncSession, ended: PlacementEnded) -> None:
    await lock_worker(session, ended.person_id)
    placement = await session.get(Placement, ended.placement_id)
    if placement is None or placement.ended_on == ended.ended_on:
        return
    placement.ended_on = ended.ended_on
    await _placement_changed(session, placement)


async def _placement_changed(session: AsyncSession, placement: Placement) -> None:
    """The placement itself, the worker's trainings (a job after a training) and the employer's year."""
    today = beijing_date()
    await assessing.assess_placement(session, placement, today)
    for training in await repository.trainings_of(session, placement.person_id):
        await assessing.assess_training(session, training, today)
    if placement.employer_id:
        await assessing.year_due(session, placement.employer_id, placement.started_on.year, today)


async def enrol(session: AsyncSession, enrolled: TrainingEnrolled) -> None:
    training = await session.get(Training, enrolled.enrolment_id)
    if training is not None:
        return
    await lock_worker(session, enrolled.person_id)
    training = Training(
        id=enrolled.enrolment_id,
        person_id=enrolled.person_id,
        base_id=enrolled.base_id,
        programme_id=enrolled.programme_id,
        order_employer_id=enrolled.order_employer_id,
        enrolled_on=enrolled.enrolled_on,
    )
    session.add(training)
    await session.flush()
    await assessing.assess_training(session, training, beijing_date())


async def complete_training(session: AsyncSession, completed: TrainingCompleted) -> None:
    """Completion may arrive before the enrolment: it brings what the enrolment would have."""
    await lock_worker(session, completed.person_id)
    training = await session.get(Training, completed.enrolment_id)
    started = min(completed.enrolled_on or completed.completed_on, completed.completed_on)
    if training is None:
        training = Training(
            id=completed.enrolment_id,
            person_id=completed.person_id,
            base_id=completed.base_id,
            programme_id=completed.programme_id,
            order_employer_id=completed.order_employer_id,
            enrolled_on=started,
        )
        session.add(training)
    elif training.completed_on == completed.completed_on:
        return
    training.completed_on = completed.completed_on
    training.enrolled_on = min(training.enrolled_on, started)
    await session.flush()
    today = beijing_date()
    await assessing.assess_training(session, training, today)
    for placement in await repository.placements_of(session, completed.person_id):
        await assessing.assess_placement(session, placement, today)
