"""Training's HTTP routes: parse, call the service (which authorises), commit, shape the answer."""

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
from services.training import service
from services.training.models import Enrolment as EnrolmentRow
from services.training.models import Person, platform
from services.training.models import Programme as ProgrammeRow
from services.training.schemas import (
    Completion,
    Enrolment,
    EnrolmentCreate,
    EnrolmentStatus,
    Order,
    Outcomes,
    Programme,
    ProgrammeCreate,
    TrainingBase,
    TrainingBaseCreate,
)

router = service_router("training")
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]


def programme_view(row: ProgrammeRow) -> Programme:
    order = None
    if row.order_employer_id is not None:
        order = Order(
            employer_id=row.order_employer_id,
            job_ids=list(row.order_job_ids),
            committed_hires=row.committed_hires or 0,
        )
    return Programme(
        id=row.id,
        base_id=row.base_id,
        title=row.title,
        occupation_code=row.occupation_code,
        skills=list(row.skills),
        capacity=row.capacity,
        seats_taken=row.seats_taken,
        seats_left=row.capacity - row.seats_taken,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        order=order,
        created_at=row.created_at,
    )


def enrolment_view(row: EnrolmentRow) -> Enrolment:
    return Enrolment.model_validate(row, from_attributes=True)


# --- bases --------------------------------------------------------------------------------------------------


@router.post("/training-bases", status_code=201, response_model=TrainingBase)
async def create_training_base(
    request: Request, data: TrainingBaseCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        base = await service.create_base(session, caller, data)
        return 201, TrainingBase.model_validate(base, from_attributes=True).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/training-bases", response_model=Page[TrainingBase])
async def list_training_bases(
    session: Session,
    caller: Caller,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[TrainingBase]:
    rows = list(
        await service.list_bases(
            session, caller, province_code=province_code, after=time_id_cursor(cursor), limit=limit
        )
    )
    return Page(
        items=[TrainingBase.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit),
    )


@router.get("/training-bases/{base_id}", response_model=TrainingBase)
async def get_training_base(base_id: str, session: Session, caller: Caller) -> TrainingBase:
    base = await service.base_in_scope(session, caller, base_id)
    return TrainingBase.model_validate(base, from_attributes=True)


# --- programmes ---------------------------------------------------------------------------------------------


@router.post("/programmes", status_code=201, response_model=Programme)
async def create_programme(
    request: Request, data: ProgrammeCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        programme = await service.create_programme(session, caller, data)
        return 201, programme_view(programme).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/programmes", response_model=Page[Programme])
async def list_programmes(
    session: Session,
    caller: Caller,
    base_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Programme]:
    rows = list(
        await service.list_programmes(
            session, caller, base_id=base_id, after=time_id_cursor(cursor), limit=limit
        )
    )
    return Page(items=[programme_view(row) for row in rows], next_cursor=next_time_id_cursor(rows, limit))


@router.get("/programmes/{programme_id}", response_model=Programme)
async def get_programme(programme_id: str, session: Session, caller: Caller) -> Programme:
    return programme_view(await service.programme_in_scope(session, caller, programme_id))


@router.get("/programmes/{programme_id}/outcomes", response_model=Outcomes)
async def programme_outcomes(programme_id: str, session: Session, caller: Caller) -> Outcomes:
    """培训后就业率: completed enrolees who started a job on or after their completion date."""
    return await service.outcomes(session, caller, programme_id)


# --- enrolments ---------------------------------------------------------------------------------------------


@router.post("/programmes/{programme_id}/enrolments", status_code=201, response_model=Enrolment)
async def enrol(
    request: Request,
    programme_id: str,
    data: EnrolmentCreate,
    session: Session,
    caller: Caller,
    key: IdempotencyKey = None,
) -> JSONResponse:
    await await_read_model(request, Person, data.person_id, "training-persons", field="body.person_id")

    async def create() -> tuple[int, dict[str, object]]:
        enrolment = await service.enrol(session, caller, programme_id, data)
        return 201, enrolment_view(enrolment).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/enrolments", response_model=Page[Enrolment])
async def list_enrolments(
    session: Session,
    caller: Caller,
    programme_id: IdQuery = None,
    person_id: IdQuery = None,
    status: EnrolmentStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Enrolment]:
    rows = list(
        await service.list_enrolments(
            session,
            caller,
            programme_id=programme_id,
            person_id=person_id,
            status=status,
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(items=[enrolment_view(row) for row in rows], next_cursor=next_time_id_cursor(rows, limit))


@router.get("/enrolments/{enrolment_id}", response_model=Enrolment)
async def get_enrolment(enrolment_id: str, session: Session, caller: Caller) -> Enrolment:
    return enrolment_view(await service.enrolment_in_scope(session, caller, enrolment_id))


@router.post("/enrolments/{enrolment_id}/complete", response_model=Enrolment)
async def complete_enrolment(
    enrolment_id: str, session: Session, caller: Caller, data: Completion | None = None
) -> Enrolment:
    enrolment = await service.complete(session, caller, enrolment_id, data or Completion())
    view = enrolment_view(enrolment)
    return view
