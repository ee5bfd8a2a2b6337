"""Matching's HTTP routes: recommendations both ways, allocations, the hiring pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from libs.api.consistency import await_read_model
from libs.api.pagination import Page
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
from libs.auth import Role, require_role
from libs.db import beijing_date
from services.matching import ranking, repository, service, weights
from services.matching.features import ScoreWeights
from services.matching.index import IndexHolder
from services.matching.models import JobView, WorkerView, platform
from services.matching.ranker import FACTORS
from services.matching.schemas import (
    AllocationOut,
    AllocationRequest,
    ApplicationIn,
    ApplicationOut,
    Candidates,
    EndIn,
    MatchExplained,
    MatchWeights,
    PlaceIn,
    PlacementOut,
    Recommendations,
    WeightFitOut,
)

router = service_router("matching")
TopN = Annotated[int, Query(ge=1, le=100, description="每页条数")]
PersonId = Annotated[str, Query(min_length=1, max_length=36)]
JobId = Annotated[str, Query(min_length=1, max_length=36)]


def index_of(request: Request) -> IndexHolder:
    holder: IndexHolder = request.app.state.index
    return holder


@router.get("/persons/{person_id}/recommendations", response_model=Recommendations)
async def recommendations(
    request: Request,
    person_id: str,
    session: Session,
    caller: Caller,
    limit: TopN = 20,
    cursor: Cursor = None,
) -> Recommendations:
    """A worker's jobs, best first, page by page to the end of the list (`next_cursor`)."""
    holder = index_of(request)
    if not holder.index.has_worker(person_id):  # before this request's own transaction: SQLite has one writer
        await holder.refresh(request.app.state.runtime.sessions)
    return await ranking.recommend(session, holder, caller, person_id, limit, cursor)


@router.get("/jobs/{job_id}/candidates", response_model=Candidates)
async def candidates(
    request: Request, job_id: str, session: Session, caller: Caller, limit: TopN = 20, cursor: Cursor = None
) -> Candidates:
    """Recruiters see every fitting worker of their job (as random ids); stations and provinces their own."""
    holder = index_of(request)
    if not holder.index.has_job(job_id):  # before this request's own transaction: SQLite has one writer
        await holder.refresh(request.app.state.runtime.sessions)
    return await ranking.candidates(session, holder, caller, job_id, limit, cursor)


@router.get("/matches", response_model=MatchExplained)
async def explain_match(
    request: Request, session: Session, caller: Caller, person_id: PersonId, job_id: JobId
) -> MatchExplained:
    """One worker and one job: the score and reasons, and which hard filters fail and by how much ("why not")."""
    holder = index_of(request)
    if not (holder.index.has_worker(person_id) and holder.index.has_job(job_id)):
        await holder.refresh(
            request.app.state.runtime.sessions
        )  # first: the request's transaction holds SQLite
    return await ranking.explain_pair(session, holder, caller, person_id, job_id)


@router.post("/allocations", response_model=AllocationOut)
async def allocations(
    request: Request, data: AllocationRequest, session: Session, caller: Caller
) -> AllocationOut:
    """Assign a station's or a province's available workers within every job's remaining headcount."""
    holder = index_of(request)
    await holder.refresh(request.app.state.runtime.sessions)  # first: the request's transaction holds SQLite
    return await service.allocate_workers(session, holder, caller, data)


# --- pipeline -----------------------------------------------------------------------------------------------


@router.post("/applications", status_code=201, response_model=ApplicationOut)
async def submit_application(
    request: Request, data: ApplicationIn, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    await await_read_model(request, WorkerView, data.person_id, "matching-persons", field="body.person_id")
    await await_read_model(request, JobView, data.job_id, "matching-jobs", field="body.job_id")

    async def create() -> tuple[int, dict[str, object]]:
        application = await service.submit_application(session, caller, data)
        return 201, (await service.application_view(session, application)).model_dump(mode="json")

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
    rows = await repository.applications(
        session,
        service.application_scope(caller),
        person_id=person_id,
        job_id=job_id,
        status=status,
        after=time_id_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=[await service.application_view(session, row) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit),
    )


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def get_application(application_id: str, session: Session, caller: Caller) -> ApplicationOut:
    return await service.application_view(
        session, await service.application_in_scope(session, caller, application_id)
    )


async def _step(
    session: Session, caller: Caller, application_id: str, action: str, place: PlaceIn | None = None
) -> ApplicationOut:
    application, _ = await service.transition(session, caller, application_id, action, place)
    view = await service.application_view(session, application)
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


# --- the factor weights ---------------------------------------------------------------------------------------


def _factor_weights(weights: ScoreWeights) -> dict[str, float]:
    return {name: round(getattr(weights, name), 6) for name in FACTORS}


@router.get("/match-weights", response_model=MatchWeights)
async def match_weights(request: Request, session: Session, caller: Caller) -> MatchWeights:
    """What the ranker weighs each factor with now, the hand-set weights, and the last fit to outcomes (admin)."""
    require_role(caller, Role.admin)
    holder = index_of(request)
    latest = await repository.latest_fit(session)
    return MatchWeights(
        mode=request.app.state.runtime.settings.matching_weights,
        in_use=_factor_weights(holder.score_weights),
        hand=_factor_weights(holder.hand_weights),
        latest_fit=WeightFitOut.model_validate(latest, from_attributes=True) if latest else None,
    )


@router.post("/match-weights/fits", status_code=201, response_model=WeightFitOut)
async def fit_match_weights(request: Request, caller: Caller) -> WeightFitOut:
    """Fit the weights to the outcomes known today now, and keep the fit; with EW_MATCHING_WEIGHTS=learned it is
    used at once if it beat the hand-set weights (admin)."""
    require_role(caller, Role.admin)
    holder = index_of(request)
    runtime = request.app.state.runtime
    fit = await weights.learn(runtime.sessions, holder.hand_weights, beijing_date())
    if runtime.settings.matching_weights == "learned":
        holder.use_weights(weights.in_use(fit, holder.hand_weights))
    return WeightFitOut.model_validate(fit, from_attributes=True)
