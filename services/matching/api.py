"""Matching's HTTP routes: recommendations both ways, allocations, the hiring pipeline."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from libs.api.consistency import await_read_model
from libs.api.pagination import Page
from libs.api.problems import FieldError, Problem
from libs.api.routing import (
    DEFAULT_LIMIT,
    Caller,
    Cursor,
    IdempotencyKey,
    Limit,
    Session,
    idempotent_create,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
)
from libs.auth import Role
from libs.db import after_key, beijing_date
from services.matching import service
from services.matching.allocation import allocate
from services.matching.features import Match
from services.matching.index import IndexHolder
from services.matching.models import Application, JobView, WorkerView, platform
from services.matching.schemas import (
    AllocationOut,
    AllocationRequest,
    AllocationStats,
    ApplicationIn,
    ApplicationOut,
    Assignment,
    Candidate,
    Candidates,
    EndIn,
    JobRecommendation,
    PlaceIn,
    PlacementOut,
    ReasonOut,
    Recommendations,
)

router = service_router("matching")
TopN = Annotated[int, Query(ge=1, le=100)]
AVAILABLE = {"seeking", "unemployed", "training"}


def index_of(request: Request) -> IndexHolder:
    holder: IndexHolder = request.app.state.index
    return holder


def reasons(match: Match) -> list[ReasonOut]:
    return [ReasonOut(code=r.code, label=r.label, weight=round(r.weight, 4)) for r in match.reasons]


@router.get("/persons/{person_id}/recommendations", response_model=Recommendations)
async def recommendations(
    request: Request, person_id: str, session: Session, caller: Caller, limit: TopN = 20
) -> Recommendations:
    holder = index_of(request)
    if not holder.index.has_worker(person_id):  # before this request's own transaction: SQLite has one writer
        await holder.refresh(request.app.state.runtime.sessions)
    worker = await service.worker_in_scope(session, caller, person_id)
    matches = (
        holder.index.recommend(worker.id, limit, beijing_date()) if holder.index.has_worker(worker.id) else []
    )
    jobs = {
        row.id: row.payload
        for row in await session.scalars(select(JobView).where(JobView.id.in_([m.job_id for m in matches])))
    }
    items = [
        JobRecommendation(
            job_id=m.job_id,
            score=round(m.score, 4),
            reasons=reasons(m),
            title=jobs[m.job_id]["title"],
            employer_name=jobs[m.job_id]["employer_name"],
            city_code=jobs[m.job_id]["city_code"],
            salary_min=jobs[m.job_id]["salary_min"],
            salary_max=jobs[m.job_id]["salary_max"],
            headcount_left=jobs[m.job_id]["headcount_left"],
        )
        for m in matches
        if m.job_id in jobs
    ]
    return Recommendations(person_id=worker.id, items=items)


@router.get("/jobs/{job_id}/candidates", response_model=Candidates)
async def candidates(
    request: Request, job_id: str, session: Session, caller: Caller, limit: TopN = 20
) -> Candidates:
    """Recruiters see every fitting worker of their job (as random ids); stations and provinces their own."""
    holder = index_of(request)
    if not holder.index.has_job(job_id):  # before this request's own transaction: SQLite has one writer
        await holder.refresh(request.app.state.runtime.sessions)
    job = await service.job_in_scope(session, caller, job_id)
    pool = holder.index.candidates(job.id, limit * 4, beijing_date()) if holder.index.has_job(job.id) else []
    workers = {
        row.id: row
        for row in await session.scalars(
            select(WorkerView).where(WorkerView.id.in_([m.person_id for m in pool]))
        )
    }
    items: list[Candidate] = []
    for match in pool:
        worker = workers.get(match.person_id)
        if worker is None or worker.erased or holder.statuses.get(worker.id) not in AVAILABLE:
            continue
        if caller.role in (Role.partner, Role.station) and not service.acts_for_worker(
            caller, worker.station_id, worker.province_code
        ):
            continue
        items.append(
            Candidate(
                person_id=worker.id,
                score=round(match.score, 4),
                reasons=reasons(match),
                station_id=worker.station_id,
                province_code=worker.province_code,
            )
        )
        if len(items) == limit:
            break
    return Candidates(job_id=job.id, items=items)


@router.post("/allocations", response_model=AllocationOut)
async def allocations(
    request: Request, data: AllocationRequest, session: Session, caller: Caller
) -> AllocationOut:
    """Assign a station's or a province's available workers within every job's remaining headcount."""
    holder = index_of(request)
    await holder.refresh(request.app.state.runtime.sessions)  # first: the request's transaction holds SQLite
    if data.province_code is not None and not (
        caller.is_admin or (caller.role is Role.partner and data.province_code in caller.provinces)
    ):
        raise Problem(
            404,
            "省份不在您的权限范围内",
            errors=[FieldError("body.province_code", "not_found", "省份不在您的权限范围内")],
        )
    query = select(WorkerView).where(WorkerView.erased.is_(False))
    if data.station_id is not None:
        query = query.where(WorkerView.station_id == data.station_id)
    else:
        query = query.where(WorkerView.province_code == data.province_code)
    workers = [
        w
        for w in await session.scalars(query)
        if service.acts_for_worker(caller, w.station_id, w.province_code)
        and w.payload.get("status") in AVAILABLE
    ]
    if (
        data.station_id is not None
        and not workers
        and not caller.is_admin
        and not (caller.role is Role.station and caller.station_id == data.station_id)
    ):
        raise Problem(404, "联络站不存在或不在您的权限范围内")
    top = holder.index.top_k(
        [w.id for w in workers if holder.index.has_worker(w.id)], data.top_k, beijing_date()
    )
    wanted = data.job_filter
    jobs = {
        row.id: row.payload
        for row in await session.scalars(
            select(JobView).where(JobView.id.in_({m.job_id for ms in top.values() for m in ms}))
        )
    }

    def keep(match: Match) -> bool:
        job = jobs.get(match.job_id)
        return job is not None and all(
            (
                wanted.city_code is None or job["city_code"] == wanted.city_code,
                wanted.occupation_code is None or job.get("occupation_code") == wanted.occupation_code,
                wanted.employer_id is None or job["employer_id"] == wanted.employer_id,
            )
        )

    filtered = {person: [m for m in matches if keep(m)] for person, matches in top.items()}
    capacity = {job_id: int(job["headcount_left"]) for job_id, job in jobs.items()}
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


async def application_view(session: Session, application: Application) -> ApplicationOut:
    placement = await service.placement_of(session, application.id)
    data: dict[str, Any] = {c.key: getattr(application, c.key) for c in Application.__table__.columns}
    return ApplicationOut.model_validate({**data, "placement_id": placement.id if placement else None})


@router.post("/applications", status_code=201, response_model=ApplicationOut)
async def submit_application(
    request: Request, data: ApplicationIn, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    await await_read_model(request, WorkerView, data.person_id, "matching-persons", field="body.person_id")
    await await_read_model(request, JobView, data.job_id, "matching-jobs", field="body.job_id")

    async def create() -> tuple[int, dict[str, object]]:
        application = await service.submit_application(session, caller, data)
        return 201, (await application_view(session, application)).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/applications", response_model=Page[ApplicationOut])
async def list_applications(
    session: Session,
    caller: Caller,
    person_id: Annotated[str | None, Query(max_length=36)] = None,
    job_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[str | None, Query(max_length=12)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ApplicationOut]:
    query = select(Application)
    if caller.role is Role.recruiter:
        query = query.where(Application.employer_id == caller.employer_id)
    elif caller.role is Role.station:
        query = query.where(Application.station_id == caller.station_id)
    elif caller.role is Role.partner:
        query = query.where(Application.province_code.in_(caller.provinces))
    elif not caller.is_admin:
        raise Problem(403, f"角色 {caller.role} 无权查看报名")
    for column, value in (
        (Application.person_id, person_id),
        (Application.job_id, job_id),
        (Application.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.where(after_key(Application.created_at, Application.id, time_id_cursor(cursor)))
    rows = list(await session.scalars(query.order_by(Application.created_at, Application.id).limit(limit)))
    return Page(
        items=[await application_view(session, row) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit),
    )


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def get_application(application_id: str, session: Session, caller: Caller) -> ApplicationOut:
    return await application_view(
        session, await service.application_in_scope(session, caller, application_id)
    )


async def _step(
    session: Session, caller: Caller, application_id: str, action: str, place: PlaceIn | None = None
) -> ApplicationOut:
    application, _ = await service.transition(session, caller, application_id, action, place)
    view = await application_view(session, application)
    return view


@router.post("/applications/{application_id}/offer", response_model=ApplicationOut)
async def offer(application_id: str, session: Session, caller: Caller) -> ApplicationOut:
    return await _step(session, caller, application_id, "offer")


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut)
async def accept(application_id: str, session: Session, caller: Caller) -> ApplicationOut:
    return await _step(session, caller, application_id, "accept")


@router.post("/applications/{application_id}/decline", response_model=ApplicationOut)
async def decline(application_id: str, session: Session, caller: Caller) -> ApplicationOut:
    return await _step(session, caller, application_id, "decline")


@router.post("/applications/{application_id}/place", response_model=ApplicationOut)
async def place(application_id: str, data: PlaceIn, session: Session, caller: Caller) -> ApplicationOut:
    return await _step(session, caller, application_id, "place", data)


@router.get("/placements/{placement_id}", response_model=PlacementOut)
async def get_placement(placement_id: str, session: Session, caller: Caller) -> PlacementOut:
    placement = await service.placement_in_scope(session, caller, placement_id)
    return PlacementOut.model_validate(placement, from_attributes=True)


@router.post("/placements/{placement_id}/end", response_model=PlacementOut)
async def end_placement(placement_id: str, data: EndIn, session: Session, caller: Caller) -> PlacementOut:
    placement = await service.end_placement(session, caller, placement_id, data)
    view = PlacementOut.model_validate(placement, from_attributes=True)
    return view
