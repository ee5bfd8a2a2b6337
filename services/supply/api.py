"""Supply's HTTP routes: parse, authorise, call the service, commit, shape the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from libs.api.idempotency import fingerprint
from libs.api.pagination import Page
from libs.api.problems import validation_problem
from libs.api.routing import (
    DEFAULT_LIMIT,
    XLSX,
    Caller,
    Cursor,
    IdempotencyKey,
    Limit,
    Session,
    file_responses,
    idempotent_create,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
    upload_example,
)
from libs.auth import Principal, Role, require_role
from services.supply import repository, risk, service
from services.supply.imports import supply_template
from services.supply.models import Employer as EmployerRow
from services.supply.models import Job as JobRow
from services.supply.models import platform
from services.supply.schemas import (
    Employer,
    EmployerCreate,
    ImportResult,
    Job,
    JobCreate,
    JobPatch,
    JobStatus,
)

router = service_router("supply")


def job_view(job: JobRow) -> Job:
    return Job.model_validate(job, from_attributes=True)


@router.post("/employers", status_code=201, response_model=Employer)
async def create_employer(
    request: Request, data: EmployerCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        employer = await service.create_employer(session, caller, data)
        return 201, Employer.model_validate(employer, from_attributes=True).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/employers", response_model=Page[Employer])
async def list_employers(
    session: Session,
    caller: Caller,
    city_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Employer]:
    rows = await service.list_employers(
        session, caller, city_code=city_code, after=time_id_cursor(cursor), limit=limit
    )
    return Page(
        items=[employer_view(caller, row) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit),
    )


@router.get("/employers/{employer_id}", response_model=Employer)
async def get_employer(employer_id: str, session: Session, caller: Caller) -> Employer:
    employer = await service.employer_in_scope(session, caller, employer_id)
    return employer_view(caller, employer)


@router.post("/employers/{employer_id}/risk-review", response_model=Employer)
async def review_employer_risk(employer_id: str, session: Session, caller: Caller) -> Employer:
    """An admin has looked into what follow-up visits reported: the counts start again (postings held for
    wage arrears can be submitted again)."""
    return employer_view(caller, await risk.review(session, caller, employer_id))


def employer_view(caller: Principal, employer: EmployerRow) -> Employer:
    view = Employer.model_validate(employer, from_attributes=True)
    return view.model_copy(update={"risk": risk.risk_view(caller, employer)})


@router.post("/jobs", status_code=201, response_model=Job)
async def create_job(
    request: Request, data: JobCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        job = await service.create_job(session, caller, data)
        return 201, job_view(job).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/jobs", response_model=Page[Job])
async def list_jobs(
    session: Session,
    caller: Caller,
    city_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    occupation_code: Annotated[str | None, Query(max_length=20)] = None,
    status: JobStatus | None = None,
    employer_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Job]:
    asked = repository.JobFilter(
        employer_id=employer_id,
        city_code=city_code,
        occupation_code=occupation_code,
        statuses=[status] if status else None,
    )
    rows = await service.list_jobs(session, caller, asked, after=time_id_cursor(cursor), limit=limit)
    return Page(items=[job_view(row) for row in rows], next_cursor=next_time_id_cursor(rows, limit))


@router.get("/jobs/{job_id}", response_model=Job)
async def get_job(job_id: str, session: Session, caller: Caller) -> Job:
    return job_view(await service.job_in_scope(session, caller, job_id))


@router.patch("/jobs/{job_id}", response_model=Job)
async def update_job(job_id: str, patch: JobPatch, session: Session, caller: Caller) -> Job:
    job = await service.update_job(session, caller, job_id, patch)
    view = job_view(job)
    return view


@router.post("/jobs/{job_id}/close", response_model=Job)
async def close_job(job_id: str, session: Session, caller: Caller) -> Job:
    job = await service.close_job(session, caller, job_id)
    view = job_view(job)
    return view


@router.post(
    "/supply-lists/imports",
    status_code=201,
    response_model=ImportResult,
    openapi_extra=upload_example(
        file="岗位供给清单.xlsx", employer_id="0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    ),
)
async def import_supply_list(
    request: Request,
    session: Session,
    caller: Caller,
    file: Annotated[UploadFile, File(description=".xlsx 或 .csv 岗位供给清单")],
    employer_id: Annotated[
        str | None,
        Form(
            min_length=1,
            max_length=36,
            description="一家单位的清单：该单位；不填为区域清单（每行带用人单位名称和统一社会信用代码，市人社局或管理员导入）",
        ),
    ] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(
        caller, Role.admin, Role.recruiter, Role.bureau
    )  # before reading a file the caller may not upload
    content = await file.read()
    filename = file.filename or "upload"
    if not content:
        raise validation_problem("form.file", "empty_file", "上传的文件为空")

    async def create() -> tuple[int, dict[str, object]]:
        result = await service.import_supply_list(
            session, caller, employer_id=employer_id, filename=filename, content=content
        )
        return 201, result.model_dump(mode="json")

    body = fingerprint(employer_id or "", filename, content).encode()
    return await idempotent_create(request, session, platform.idempotency, caller, key, create, body=body)


@router.get(
    "/supply-lists/template",
    response_class=Response,
    responses=file_responses("岗位供给清单模板（表头与示例行）", "text/csv", XLSX),
)
async def supply_list_template(
    caller: Caller,
    format: Literal["xlsx", "csv"] = "xlsx",
    kind: Annotated[
        Literal["employer", "regional"],
        Query(description="employer：一家单位的清单；regional：区域清单，每行带用人单位"),
    ] = "employer",
) -> Response:
    media = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8",
    }[format]
    name = "regional-supply-list-template" if kind == "regional" else "supply-list-template"
    return Response(
        supply_template(format, regional=kind == "regional"),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


@router.get("/supply-lists/{list_id}", response_model=ImportResult)
async def get_supply_list(list_id: str, session: Session, caller: Caller) -> ImportResult:
    return await service.supply_list_in_scope(session, caller, list_id)
