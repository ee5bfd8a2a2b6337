"""Demand's HTTP routes: workers, status, warnings, demand lists."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile
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
from libs.pii import PiiVault
from services.demand import lists, repository, service
from services.demand.models import platform
from services.demand.roster import roster_template
from services.demand.schemas import (
    DemandListOut,
    ImportResult,
    Person,
    PersonCreate,
    PersonPatch,
    Status,
    StatusChangeIn,
    StatusChangeOut,
    Warning,
)

router = service_router("demand")
Id = Annotated[str, Query(max_length=36)]
SPREADSHEET_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


async def vault_of(request: Request) -> PiiVault:
    vault: PiiVault = request.app.state.vault
    return vault


Vault = Annotated[PiiVault, Depends(vault_of)]


@router.post("/persons", status_code=201, response_model=Person)
async def register_person(
    request: Request,
    data: PersonCreate,
    session: Session,
    caller: Caller,
    vault: Vault,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        person = await service.register_person(session, vault, caller, data)
        return 201, service.person_view(vault, person).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/persons", response_model=Page[Person])
async def list_persons(
    session: Session,
    caller: Caller,
    vault: Vault,
    station_id: Id | None = None,
    status: Status | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Person]:
    rows = list(
        await repository.list_persons(
            session,
            service.read_scope(caller),
            station_id=station_id,
            status=status,
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(
        items=[service.person_view(vault, row) for row in rows], next_cursor=next_time_id_cursor(rows, limit)
    )


@router.get("/persons/{person_id}", response_model=Person)
async def get_person(person_id: str, session: Session, caller: Caller, vault: Vault) -> Person:
    return service.person_view(vault, await service.person_in_scope(session, caller, person_id))


@router.patch("/persons/{person_id}", response_model=Person)
async def update_person(
    person_id: str, patch: PersonPatch, session: Session, caller: Caller, vault: Vault
) -> Person:
    person = await service.update_person(session, vault, caller, person_id, patch)
    view = service.person_view(vault, person)
    return view


@router.delete("/persons/{person_id}", status_code=204)
async def erase_person(person_id: str, session: Session, caller: Caller) -> Response:
    await service.erase_person(session, caller, person_id)
    return Response(status_code=204)


@router.post("/persons/{person_id}/status", status_code=201, response_model=StatusChangeOut)
async def change_status(
    person_id: str, change: StatusChangeIn, session: Session, caller: Caller, vault: Vault
) -> StatusChangeOut:
    person = await service.person_in_scope(session, caller, person_id, for_update=True)
    await service.change_status(session, vault, person, change, source="station")
    history = await repository.status_history(session, person.id)
    return StatusChangeOut.model_validate(history[-1], from_attributes=True)


@router.get("/persons/{person_id}/status", response_model=list[StatusChangeOut])
async def status_history(person_id: str, session: Session, caller: Caller) -> list[StatusChangeOut]:
    person = await service.person_in_scope(session, caller, person_id)
    return [
        StatusChangeOut.model_validate(row, from_attributes=True)
        for row in await repository.status_history(session, person.id)
    ]


@router.get("/warnings", response_model=Page[Warning])
async def list_warnings(
    session: Session,
    caller: Caller,
    station_id: Id | None = None,
    open_only: bool = True,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Warning]:
    after = time_id_cursor(cursor)
    rows = list(
        await repository.list_warnings(
            session,
            service.read_scope(caller),
            station_id=station_id,
            open_only=open_only,
            after=after,
            limit=limit,
        )
    )
    return Page(
        items=[Warning.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit, "raised_at"),
    )


@router.post("/warnings/{warning_id}/resolve", response_model=Warning)
async def resolve_warning(warning_id: str, session: Session, caller: Caller) -> Warning:
    warning = await service.resolve_warning(session, caller, warning_id)
    view = Warning.model_validate(warning, from_attributes=True)
    return view


@router.post(
    "/demand-lists/imports",
    status_code=201,
    response_model=ImportResult,
    openapi_extra=upload_example(file="花名册.xlsx", station_id="7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d"),
)
async def import_roster(
    request: Request,
    session: Session,
    caller: Caller,
    vault: Vault,
    file: Annotated[UploadFile, File(description=".xlsx 或 .csv 花名册")],
    station_id: Annotated[str, Form(min_length=1, max_length=36)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    content = await file.read()
    filename = file.filename or "upload"
    if not content:
        raise validation_problem("form.file", "empty_file", "上传的文件为空")

    async def create() -> tuple[int, dict[str, object]]:
        result = await lists.import_roster(
            session, vault, caller, station_id=station_id, filename=filename, content=content
        )
        return 201, result.model_dump(mode="json")

    body = fingerprint(station_id, filename, content).encode()
    return await idempotent_create(request, session, platform.idempotency, caller, key, create, body=body)


@router.get(
    "/demand-lists/template",
    response_class=Response,
    responses=file_responses("花名册模板（表头与示例行）", "text/csv", XLSX),
)
async def roster_template_file(caller: Caller, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    return Response(
        roster_template(format),
        media_type=SPREADSHEET_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="roster-template.{format}"'},
    )


@router.get("/demand-lists", response_model=Page[DemandListOut])
async def list_demand_lists(
    session: Session,
    caller: Caller,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    station_id: Id | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DemandListOut]:
    rows = list(
        await repository.list_demand_lists(
            session,
            service.read_scope(caller),
            province_code=province_code,
            station_id=station_id,
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(
        items=[DemandListOut.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_time_id_cursor(rows, limit),
    )


@router.get("/demand-lists/{list_id}", response_model=DemandListOut)
async def get_demand_list(list_id: str, session: Session, caller: Caller) -> DemandListOut:
    return DemandListOut.model_validate(
        await lists.list_in_scope(session, caller, list_id), from_attributes=True
    )


@router.get(
    "/demand-lists/{list_id}/export",
    response_class=Response,
    responses=file_responses("需求清单（身份证号、手机号已脱敏）", "text/csv", XLSX),
)
async def export_demand_list(
    list_id: str, session: Session, caller: Caller, vault: Vault, format: Literal["xlsx", "csv"] = "xlsx"
) -> Response:
    content = await lists.export_list(session, vault, caller, list_id, format)
    return Response(
        content,
        media_type=SPREADSHEET_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="demand-list-{list_id}.{format}"'},
    )
