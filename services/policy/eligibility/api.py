"""The eligible-for-policy lists' routes (拟享受政策对象清单): the caller's claims, one claim with its history,
and the officers' steps."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response

from libs.api.pagination import DEFAULT_LIMIT
from libs.api.routing import (
    XLSX,
    Caller,
    Cursor,
    Limit,
    Session,
    caller_with_role,
    file_responses,
    service_router,
)
from libs.auth import Principal
from libs.contacts import contacts_of
from libs.db import beijing_date
from services.policy.eligibility import service
from services.policy.eligibility.schemas import ClaimAction, ClaimDetail, ClaimPage, Status
from services.policy.schemas import CODE

router = service_router("policy")

# Checked before the body is validated: the roles that take steps on claims (scope is checked after).
Officer = Annotated[Principal, Depends(caller_with_role(*service.OFFICERS))]
ClaimId = Annotated[str, Path(min_length=1, max_length=36, description="政策对象记录编号")]


@router.get("/eligibilities", response_model=ClaimPage)
async def list_eligibilities(
    session: Session,
    caller: Caller,
    policy_code: Annotated[str | None, Query(pattern=CODE, description="政策项目")] = None,
    status: Annotated[Status | None, Query(description="状态")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ClaimPage:
    """拟享受政策对象清单 in the caller's scope, newest claims first: who meets which item, since when, on what
    facts, and where the officers' work on each stands."""
    items, following = await service.list_claims(
        session, caller, policy_code=policy_code, status=status, cursor=cursor, limit=limit
    )
    return ClaimPage(items=items, next_cursor=following)


@router.get(
    "/eligibilities/export",
    response_class=Response,
    responses=file_responses("拟享受政策对象清单", XLSX, "text/csv"),
)
async def export_eligibilities(
    request: Request,
    session: Session,
    caller: Caller,
    policy_code: Annotated[str | None, Query(pattern=CODE, description="政策项目")] = None,
    status: Annotated[Status | None, Query(description="状态")] = None,
    format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx | csv")] = "xlsx",
) -> Response:
    """The list in the caller's scope as XLSX (or CSV), with names and masked ID numbers read from demand now (policy
    keeps none); at most 20,000 rows."""
    rows = await service.export_rows(session, caller, policy_code=policy_code, status=status)
    people = [row.person_id for row in rows if row.person_id]
    contacts = await contacts_of(request).lookup(people, phones=False) if people else {}
    names = await service.policy_names(session)
    today = beijing_date()
    content = await asyncio.to_thread(service.export_file, rows, names, contacts, today, format)
    headers = {
        "Content-Disposition": f'attachment; filename="eligibilities-{today.isoformat()}.{format}"',
        "Cache-Control": "no-store",
    }
    return Response(
        content, media_type=XLSX if format == "xlsx" else "text/csv; charset=utf-8", headers=headers
    )


@router.get("/eligibilities/{claim_id}", response_model=ClaimDetail)
async def get_eligibility(claim_id: ClaimId, session: Session, caller: Caller) -> ClaimDetail:
    """One claim with its whole history: found, facts changed, withdrawn or restored, and each officer's step."""
    return await service.detail(session, caller, claim_id)


@router.post("/eligibilities/{claim_id}/actions", response_model=ClaimDetail)
async def act_on_eligibility(
    claim_id: ClaimId, data: ClaimAction, session: Session, caller: Officer
) -> ClaimDetail:
    """An officer's step: notified, applied, granted (amount and day) or refused (reason). A grant for the
    same person (or employer), item and period as an earlier one is refused with 409 already-granted."""
    claim = await service.act(session, caller, claim_id, data)
    return await service.detail_of(session, claim)
