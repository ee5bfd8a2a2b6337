"""The comparison's routes (served by demand, which holds the key the ID numbers are hashed with)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Request, UploadFile
from fastapi.responses import JSONResponse

from libs.api.idempotency import fingerprint
from libs.api.problems import validation_problem
from libs.api.routing import (
    Caller,
    IdempotencyKey,
    Session,
    idempotent_create,
    service_router,
    upload_example,
)
from libs.auth import require_role
from services.demand.api import Vault
from services.demand.insurance import service
from services.demand.insurance.schemas import InsuranceImportList, InsuranceImportOut
from services.demand.models import platform

router = service_router("demand")


@router.post(
    "/monitoring/insurance-imports",
    status_code=201,
    response_model=InsuranceImportOut,
    openapi_extra=upload_example(file="2026年11月社保缴费.xlsx"),
)
async def import_insurance(
    request: Request,
    session: Session,
    caller: Caller,
    vault: Vault,
    file: Annotated[
        UploadFile, File(description=".xlsx 或 .csv：身份证号、统一社会信用代码、缴费月份、缴费状态")
    ],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """大数据比对: the month's social-insurance contributions against the registered workers; warnings for their
    stations where they disagree, every bad row reported (admins and city bureaus)."""
    require_role(caller, *service.IMPORTERS)  # before the file is read
    content = await file.read()
    filename = file.filename or "upload"
    if not content:
        raise validation_problem("form.file", "empty_file", "上传的文件为空")

    async def create() -> tuple[int, dict[str, object]]:
        result = await service.import_contributions(
            session, vault, caller, filename=filename, content=content
        )
        return 201, result.model_dump(mode="json")

    body = fingerprint(filename, content).encode()
    return await idempotent_create(request, session, platform.idempotency, caller, key, create, body=body)


@router.get("/monitoring/insurance-imports", response_model=InsuranceImportList)
async def list_insurance_imports(session: Session, caller: Caller) -> InsuranceImportList:
    rows = await service.list_imports(session, caller)
    return InsuranceImportList(items=[service.view(row) for row in rows])


@router.get("/monitoring/insurance-imports/{import_id}", response_model=InsuranceImportOut)
async def get_insurance_import(import_id: str, session: Session, caller: Caller) -> InsuranceImportOut:
    return service.view(await service.import_in_scope(session, caller, import_id))
