"""Policy's HTTP routes: the public catalogue (no token needed: it is published for everyone), its vocabulary,
and the admins' edits with their audit trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response

from libs.api.routing import (
    XLSX,
    Caller,
    IdempotencyKey,
    Session,
    caller_with_role,
    file_content,
    idempotent_create,
    service_router,
)
from libs.auth import Principal, Role
from libs.db import beijing_date
from services.policy import service
from services.policy.models import platform
from services.policy.schemas import (
    CODE,
    Beneficiary,
    Group,
    Policy,
    PolicyChange,
    PolicyCreate,
    PolicyList,
    PolicyVersionList,
    Vocabulary,
)
from services.policy.service import Status

router = service_router("policy")

# Checked before the body is validated: only admins edit the catalogue.
Admin = Annotated[Principal, Depends(caller_with_role(Role.admin))]
PolicyCode = Annotated[str, Path(pattern=CODE, description="项目代码")]


@router.get("/policies", response_model=PolicyList, responses={200: {"content": file_content(XLSX)}})
async def list_policies(
    session: Session,
    group: Annotated[Group | None, Query(description="面向人群")] = None,
    region_code: Annotated[
        str | None, Query(pattern=r"^\d{2}(\d{2}){0,2}$", description="地区代码：列出全国和该地区适用的项目")
    ] = None,
    beneficiary: Annotated[Beneficiary | None, Query(description="享受对象")] = None,
    status: Annotated[
        Status, Query(description="in_force 执行期内 | expired 已到期 | upcoming 尚未开始 | all 全部")
    ] = "all",
    format: Annotated[Literal["json", "xlsx"], Query(description="json | xlsx（可打印的政策清单）")] = "json",
) -> Response:
    """政策清单: every assistance item, what it gives, to whom, on what conditions and how to apply. Public."""
    today = beijing_date()
    items = await service.list_policies(
        session, today=today, group=group, region_code=region_code, beneficiary=beneficiary, status=status
    )
    headers = {"Cache-Control": "public, max-age=60"}
    if format == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="policies-{today.isoformat()}.xlsx"'
        return Response(service.catalogue_xlsx(items, today), media_type=XLSX, headers=headers)
    return Response(PolicyList(items=items).model_dump_json(), media_type="application/json", headers=headers)


@router.get("/policy-vocabulary", response_model=Vocabulary)
async def policy_vocabulary() -> Vocabulary:
    """The facts a condition may use, per occasion, with their types and meanings. Public."""
    return service.vocabulary()


@router.post("/policies", status_code=201, response_model=Policy)
async def create_policy(
    request: Request, data: PolicyCreate, session: Session, caller: Admin, key: IdempotencyKey = None
) -> Response:
    """A new item (admins); its condition is tried on the vocabulary before it is saved."""

    async def create() -> tuple[int, dict[str, object]]:
        row = await service.create_policy(session, caller, data)
        return 201, service.policy_out(row, beijing_date()).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/policies/{code}", response_model=Policy)
async def get_policy(code: PolicyCode, session: Session) -> Policy:
    """One item as published. Public."""
    return await service.get_policy(session, code, beijing_date())


@router.put("/policies/{code}", response_model=Policy)
async def change_policy(code: PolicyCode, data: PolicyChange, session: Session, caller: Admin) -> Policy:
    """A new version of an item (admins): the whole item, the version it was edited from, and why."""
    row = await service.change_policy(session, caller, code, data)
    return service.policy_out(row, beijing_date())


@router.get("/policies/{code}/versions", response_model=PolicyVersionList)
async def policy_versions(code: PolicyCode, session: Session, caller: Caller) -> PolicyVersionList:
    """The audit trail (admins): every version, newest first, with who saved it, when and why."""
    return PolicyVersionList(items=await service.versions(session, caller, code))
