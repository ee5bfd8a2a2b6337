"""Matching's domain: read models from events, and the hiring pipeline with its state machine.

Who may do what: a station acts for its own workers, a partner for its provinces' workers, a recruiter for its
employer's jobs, an admin for all. The worker's side (apply, accept, decline) belongs to stations, partners and
admins; the employer's side (offer, place) to recruiters and admins; ending a placement to either side.
Anything out of scope answers 404.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found, validation_problem
from libs.auth import Principal, Role
from libs.db import beijing_date, utcnow
from libs.events.contracts import (
    APPLICATION_ACCEPTED,
    APPLICATION_DECLINED,
    APPLICATION_OFFERED,
    APPLICATION_SUBMITTED,
    PERSON_RECOMMENDED,
    PLACEMENT_CONFIRMED,
    PLACEMENT_ENDED,
    ApplicationPayload,
    JobPayload,
    PersonPayload,
    PersonRecommended,
    PlacementConfirmed,
    PlacementEnded,
    TrainingCompleted,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.events.projection import Projection
from services.matching import repository
from services.matching.allocation import allocate
from services.matching.features import SEEKING_STATUSES, Match
from services.matching.index import IndexHolder
from services.matching.models import Application, JobView, Placement, Recommendation, WorkerView, platform
from services.matching.schemas import (
    AllocationOut,
    AllocationRequest,
    AllocationStats,
    ApplicationIn,
    ApplicationOut,
    Assignment,
    EndIn,
    PlaceIn,
)

SERVICE = "matching"
TRANSITIONS = {  # action: (from statuses, to status, side)
    "offer": ({"applied"}, "offered", "employer"),
    "accept": ({"offered"}, "accepted", "worker"),
    "decline": ({"applied", "offered"}, "declined", "worker"),
    "place": ({"accepted"}, "placed", "employer"),
}
ACTION_EVENTS = {
    "offer": APPLICATION_OFFERED,
    "accept": APPLICATION_ACCEPTED,
    "decline": APPLICATION_DECLINED,
}


# --- scope --------------------------------------------------------------------------------------------------


def acts_for_worker(caller: Principal, station_id: str, province_code: str) -> bool:
    if caller.is_admin:
        return True
    if caller.role is Role.partner:
        return province_code in caller.provinces
    return caller.role is Role.station and caller.station_id == station_id


def acts_for_employer(caller: Principal, employer_id: str) -> bool:
    return caller.is_admin or (caller.role is Role.recruiter and caller.employer_id == employer_id)


async def worker_in_scope(
    session: AsyncSession, caller: Principal, person_id: str, field: str | None = None
) -> WorkerView:
    worker = await repository.get_worker(session, person_id)
    if (
        worker is None
        or worker.erased
        or not acts_for_worker(caller, worker.station_id, worker.province_code)
    ):
        problem = not_found("务工人员")
        if field:
            problem.errors = [FieldError(field, "not_found", "务工人员不存在或不在您的权限范围内")]
        raise problem
    return worker


async def job_in_scope(session: AsyncSession, caller: Principal, job_id: str) -> JobView:
    """Recruiters see their own jobs; the worker's side sees published ones."""
    job = await repository.get_job(session, job_id)
    visible = job is not None and (
        acts_for_employer(caller, job.employer_id)
        or (caller.role in (Role.partner, Role.station) and job.status == "published")
    )
    if job is None or not visible:
        raise not_found("岗位")
    return job


# --- read models --------------------------------------------------------------------------------------------


JOBS = Projection[JobPayload, JobView](
    JobView,
    lambda job: {
        "employer_id": job.employer_id,
        "status": job.status,
        "headcount": job.headcount,
        "payload": job.model_dump(mode="json"),
        "synced_at": utcnow(),
    },
)
# What the ranker needs of a worker: no name, ID number or phone (PersonPayload carries none).
WORKERS = Projection[PersonPayload, WorkerView](
    WorkerView,
    lambda person: {
        "station_id": person.station_id,
        "province_code": person.province_code,
        "payload": person.model_dump(mode="json"),
        "synced_at": utcnow(),
    },
    erasable=True,
    new={"trained_occupations": [], "trained_skills": [], "trained_certificates": [], "trainings": 0},
)


async def apply_job(session: AsyncSession, job: JobPayload, closed: bool) -> None:
    await JOBS.apply(session, job.model_copy(update={"status": "closed"}) if closed else job)


async def apply_worker(session: AsyncSession, person: PersonPayload) -> None:
    await WORKERS.apply(session, person)


async def erase_worker(session: AsyncSession, person_id: str) -> None:
    """Keep a tombstone (so a late event cannot bring the worker back) and nothing else."""
    await WORKERS.erase(
        session,
        person_id,
        unseen={"station_id": "", "province_code": ""},
        cleared={
            "payload": {},
            "trained_occupations": [],
            "trained_skills": [],
            "trained_certificates": [],
            "synced_at": utcnow(),
        },
    )


async def add_training(session: AsyncSession, completed: TrainingCompleted) -> None:
    """What a completed training gave the worker: its occupation, skills and certificate."""
    row = await repository.get_worker(session, completed.person_id)
    if row is None or row.erased:
        return
    row.trained_occupations = sorted({*row.trained_occupations, completed.occupation_code})
    row.trained_skills = sorted({*row.trained_skills, *completed.skills})
    if completed.certificate:
        row.trained_certificates = sorted({*row.trained_certificates, completed.certificate})
    row.trainings += 1
    row.synced_at = utcnow()
    await session.flush()


# --- ranking ------------------------------------------------------------------------------------------------


async def recommended(session: AsyncSession, worker: WorkerView, jobs: int) -> None:
    """The first recommendation of the day to a worker is kept and told (a second request that day, or one
    racing this one, changes nothing)."""
    day = Recommendation(person_id=worker.id, recommended_on=beijing_date(), jobs=jobs)
    if not await repository.add_recommendation(session, day):
        return
    told = recommended_payload(day, worker)
    await _emit(session, PERSON_RECOMMENDED, worker.id, told.model_dump(mode="json"))


def recommended_payload(day: Recommendation, worker: WorkerView) -> PersonRecommended:
    """The event of a recommendation day (said again by monitoring's rebuild from the kept row)."""
    return PersonRecommended(
        person_id=worker.id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        on=day.recommended_on,
        jobs=day.jobs,
    )


async def workers_to_allocate(
    session: AsyncSession, caller: Principal, data: AllocationRequest
) -> list[WorkerView]:
    """The available workers of the station or province asked for, within the caller's scope (404 outside)."""
    if data.province_code is not None and not (
        caller.is_admin or (caller.role is Role.partner and data.province_code in caller.provinces)
    ):
        raise Problem(
            404,
            "省份不在您的权限范围内",
            errors=[FieldError("body.province_code", "not_found", "省份不在您的权限范围内")],
        )
    workers = [
        w
        for w in await repository.workers_of(
            session, station_id=data.station_id, province_code=data.province_code
        )
        if acts_for_worker(caller, w.station_id, w.province_code) and w.person().status in SEEKING_STATUSES
    ]
    if (
        data.station_id is not None
        and not workers
        and not caller.is_admin
        and not (caller.role is Role.station and caller.station_id == data.station_id)
    ):
        raise Problem(404, "联络站不存在或不在您的权限范围内")
    return workers


async def allocate_workers(
    session: AsyncSession, holder: IndexHolder, caller: Principal, data: AllocationRequest
) -> AllocationOut:
    """Assign a station's or a province's available workers within every job's remaining headcount."""
    workers = await workers_to_allocate(session, caller, data)
    index = holder.index
    top = index.top_k([w.id for w in workers if index.has_worker(w.id)], data.top_k, beijing_date())
    wanted = data.job_filter
    jobs = {
        job_id: row.job()
        for job_id, row in (
            await repository.jobs_by_id(session, {m.job_id for ms in top.values() for m in ms})
        ).items()
    }

    def keep(match: Match) -> bool:
        job = jobs.get(match.job_id)
        return job is not None and all(
            (
                wanted.city_code is None or job.city_code == wanted.city_code,
                wanted.occupation_code is None or job.occupation_code == wanted.occupation_code,
                wanted.employer_id is None or job.employer_id == wanted.employer_id,
            )
        )

    filtered = {person: [m for m in matches if keep(m)] for person, matches in top.items()}
    capacity = {job_id: job.headcount_left for job_id, job in jobs.items()}
    result = await asyncio.to_thread(allocate, filtered, capacity)  # CPU-bound: the loop keeps serving
    return AllocationOut(
        assignments=[
            Assignment(person_id=m.person_id, job_id=m.job_id, score=round(m.score, 4))
            for m in result.assignments
        ],
        unassigned=sorted({w.id for w in workers} - {m.person_id for m in result.assignments}),
        stats=AllocationStats(
            workers=len(workers),
            jobs=len({m.job_id for ms in filtered.values() for m in ms}),
            total_score=round(result.total_score, 4),
            naive_total_score=round(result.naive_total_score, 4),
            fit_given_up=round(result.fit_given_up, 4),
            oversubscribed_jobs_naive=result.oversubscribed_jobs_naive,
            oversubscribed_jobs=result.oversubscribed_jobs,
        ),
    )


# --- pipeline -----------------------------------------------------------------------------------------------


def application_payload(
    application: Application, status: str | None = None, at: datetime | None = None
) -> ApplicationPayload:
    """The application as its event says it: as it is now, or as it was at one of its steps (`status`, `at`)."""
    return ApplicationPayload(
        id=application.id,
        person_id=application.person_id,
        job_id=application.job_id,
        employer_id=application.employer_id,
        station_id=application.station_id,
        channel=application.channel,
        stream_id=application.stream_id,
        status=status or application.status,
        at=at or application.updated_at,
    )


async def _emit(session: AsyncSession, event_type: str, subject: str, data: dict[str, Any]) -> None:
    await add_event(session, platform.outbox, new_event(SERVICE, event_type, subject, data))


async def submit_application(session: AsyncSession, caller: Principal, data: ApplicationIn) -> Application:
    if not (caller.is_admin or caller.role in (Role.partner, Role.station)):
        raise Problem(403, "只有联络站、合作省份或管理员可以代务工人员报名")
    worker = await worker_in_scope(session, caller, data.person_id, "body.person_id")
    job = await repository.get_job(session, data.job_id)
    if job is None or job.status != "published":
        raise Problem(
            404, "岗位不存在或已关闭", errors=[FieldError("body.job_id", "not_found", "岗位不存在或已关闭")]
        )
    if job.job().headcount_left <= 0:
        raise Problem(409, "岗位已招满", errors=[FieldError("body.job_id", "filled", "岗位已招满")])
    existing = await repository.application_for(session, worker.id, job.id)
    if existing is not None:
        raise Problem(
            409,
            "该务工人员已报名此岗位",
            existing_id=existing.id,
            errors=[FieldError("body.job_id", "duplicate", "已报名")],
        )
    now = utcnow()
    application = Application(
        id=str(uuid.uuid4()),
        person_id=worker.id,
        job_id=job.id,
        employer_id=job.employer_id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        channel=data.channel,
        stream_id=data.stream_id,
        status="applied",
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise Problem(409, "该务工人员已报名此岗位") from error
    await _emit(
        session,
        APPLICATION_SUBMITTED,
        application.id,
        application_payload(application).model_dump(mode="json"),
    )
    return application


class NotYetKnown(Exception):
    """The worker or the job has not reached matching's read models yet: the consumer retries later."""


async def apply_from_livestream(
    session: AsyncSession, person_id: str, job_id: str, stream_id: str
) -> Application | None:
    """A sign-up on a live-stream board by a registered worker (demand found them by keyed phone hash and
    name): an application with channel `livestream`, attributed to the stream. Idempotent: a worker who
    already applied for the job keeps that application. A closed or filled job, or an erased worker, gets
    none (the board only offers open jobs, so that is a race lost, not an error worth retrying)."""
    worker = await repository.get_worker(session, person_id)
    job = await repository.get_job(session, job_id)
    if worker is None or job is None:
        raise NotYetKnown(f"worker known: {worker is not None}, job known: {job is not None}")
    if worker.erased or job.status != "published" or job.job().headcount_left <= 0:
        return None
    existing = await repository.application_for(session, worker.id, job.id)
    if existing is not None:
        return existing
    now = utcnow()
    application = Application(
        id=str(uuid.uuid4()),
        person_id=worker.id,
        job_id=job.id,
        employer_id=job.employer_id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        channel="livestream",
        stream_id=stream_id,
        status="applied",
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    await session.flush()
    await _emit(
        session,
        APPLICATION_SUBMITTED,
        application.id,
        application_payload(application).model_dump(mode="json"),
    )
    return application


async def application_in_scope(
    session: AsyncSession, caller: Principal, application_id: str, *, for_update: bool = False
) -> Application:
    application = await repository.get_application(session, application_id, for_update=for_update)
    if application is None or not (
        acts_for_employer(caller, application.employer_id)
        or acts_for_worker(caller, application.station_id, application.province_code)
    ):
        raise not_found("报名")
    return application


async def transition(
    session: AsyncSession, caller: Principal, application_id: str, action: str, place: PlaceIn | None = None
) -> tuple[Application, Placement | None]:
    """One step of the pipeline: the caller must act for the right side, the application be in a state the
    step starts from; a placement checks the job's headcount and announces itself."""
    application = await application_in_scope(session, caller, application_id, for_update=True)
    sources, target, side = TRANSITIONS[action]
    allowed = (
        acts_for_employer(caller, application.employer_id)
        if side == "employer"
        else acts_for_worker(caller, application.station_id, application.province_code)
    )
    if not allowed:
        who = "用人单位" if side == "employer" else "务工人员一方（联络站、合作省份）"
        raise Problem(403, f"此操作须由{who}执行")
    if application.status not in sources:
        raise Problem(
            409,
            f"报名当前状态为 {application.status}，不能执行 {action}",
            slug="invalid-transition",
            title="状态不允许此操作",
            current_status=application.status,
        )
    placement = None
    if action == "place":
        assert place is not None
        placement = await _place(session, application, place)
    application.status = target
    application.updated_at = utcnow()
    if target in ("offered", "accepted", "declined"):
        setattr(application, f"{target}_at", application.updated_at)
    await session.flush()
    if action in ACTION_EVENTS:
        payload = application_payload(application)
        if target == "offered":  # the worker is told which job (demand's text message)
            job = await repository.get_job(session, application.job_id)
            if job is not None:
                payload.job_title, payload.employer_name = job.job().title, job.job().employer_name
        await _emit(session, ACTION_EVENTS[action], application.id, payload.model_dump(mode="json"))
    return application, placement


async def _place(session: AsyncSession, application: Application, place: PlaceIn) -> Placement:
    job = await repository.get_job(session, application.job_id, for_update=True)
    if job is None or job.status != "published":
        raise Problem(409, "岗位已关闭，不能再录用")
    if await repository.active_placements(session, job.id) >= job.headcount:
        raise Problem(409, "岗位招聘人数已满", slug="headcount-filled")
    if place.start_date < beijing_date().replace(year=beijing_date().year - 1):
        raise validation_problem("body.start_date", "too_early", "到岗日期过早")
    placement = Placement(
        id=str(uuid.uuid4()),
        application_id=application.id,
        person_id=application.person_id,
        job_id=job.id,
        employer_id=job.employer_id,
        station_id=application.station_id,
        province_code=application.province_code,
        start_date=place.start_date,
        needs_transport=place.needs_transport,
        status="active",
        created_at=utcnow(),
    )
    session.add(placement)
    await session.flush()
    payload = PlacementConfirmed(
        placement_id=placement.id,
        person_id=placement.person_id,
        job_id=job.id,
        start_date=placement.start_date,
        application_id=application.id,
        employer_id=job.employer_id,
        employer_credit_code=job.job().employer_credit_code,
        station_id=placement.station_id,
        province_code=placement.province_code,
        city_code=job.job().city_code,
        needs_transport=placement.needs_transport,
        stream_id=application.stream_id,
    )
    await _emit(session, PLACEMENT_CONFIRMED, placement.id, payload.model_dump(mode="json"))
    return placement


async def end_placement(
    session: AsyncSession, caller: Principal, placement_id: str, data: EndIn
) -> Placement:
    placement = await repository.get_placement(session, placement_id, for_update=True)
    if placement is None or not (
        acts_for_employer(caller, placement.employer_id)
        or acts_for_worker(caller, placement.station_id, placement.province_code)
    ):
        raise not_found("录用记录")
    if placement.status != "active":
        raise Problem(409, "该录用已结束", slug="invalid-transition", current_status=placement.status)
    if data.ended_on < placement.start_date:
        raise validation_problem("body.ended_on", "before_start", "离岗日期不能早于到岗日期")
    placement.status = "ended"
    placement.ended_on = data.ended_on
    placement.end_reason = data.reason
    await session.flush()
    payload = PlacementEnded(
        placement_id=placement.id,
        person_id=placement.person_id,
        job_id=placement.job_id,
        ended_on=data.ended_on,
        reason=data.reason,
    )
    await _emit(session, PLACEMENT_ENDED, placement.id, payload.model_dump(mode="json"))
    return placement


def application_scope(caller: Principal) -> ColumnElement[bool]:
    """The applications a caller may list: an employer's, a station's, a province's, or all of them (admin)."""
    if caller.role is Role.recruiter:
        return Application.employer_id == caller.employer_id
    if caller.role is Role.station:
        return Application.station_id == caller.station_id
    if caller.role is Role.partner:
        return Application.province_code.in_(caller.provinces)
    if caller.is_admin:
        return true()
    raise Problem(403, f"角色 {caller.role} 无权查看报名")


async def application_view(session: AsyncSession, application: Application) -> ApplicationOut:
    placement = await repository.placement_of(session, application.id)
    data: dict[str, Any] = {c.key: getattr(application, c.key) for c in Application.__table__.columns}
    return ApplicationOut.model_validate({**data, "placement_id": placement.id if placement else None})


async def placement_in_scope(session: AsyncSession, caller: Principal, placement_id: str) -> Placement:
    placement = await repository.get_placement(session, placement_id)
    if placement is None or not (
        acts_for_employer(caller, placement.employer_id)
        or acts_for_worker(caller, placement.station_id, placement.province_code)
    ):
        raise not_found("录用记录")
    return placement
