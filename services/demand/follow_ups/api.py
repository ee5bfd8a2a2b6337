"""Follow-up visits: the station's list of what is due and overdue, and the record of each visit."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from libs.api.pagination import Page, decode_cursor, encode_cursor
from libs.api.problems import validation_problem
from libs.api.routing import DEFAULT_LIMIT, Caller, Cursor, Limit, Session, service_router
from libs.db import beijing_date
from services.demand.api import Id, Vault
from services.demand.follow_ups import service
from services.demand.follow_ups.schemas import FollowUpIn, FollowUpOut, FollowUpState

router = service_router("demand")


def _after(cursor: str | None) -> tuple[date, str] | None:
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        return date.fromisoformat(str(key[0])), str(key[1])
    except ValueError as error:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效") from error


@router.get("/follow-ups", response_model=Page[FollowUpOut])
async def list_follow_ups(
    session: Session,
    caller: Caller,
    vault: Vault,
    station_id: Id | None = None,
    state: Annotated[
        FollowUpState | None, Query(description="due 待回访；overdue 已逾期；done；cancelled")
    ] = None,
    due_before: Annotated[date | None, Query(description="应回访日期不晚于（含）")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[FollowUpOut]:
    """Soonest due first; each says whether it is overdue."""
    rows = await service.list_follow_ups(
        session,
        caller,
        station_id=station_id,
        state=state,
        due_to=due_before,
        after=_after(cursor),
        limit=limit,
    )
    today = beijing_date()
    last = rows[-1] if len(rows) == limit else None
    return Page(
        items=[service.view(vault, row, today) for row in rows],
        next_cursor=encode_cursor(last.due_on.isoformat(), last.id) if last else None,
    )


@router.post("/follow-ups/{follow_up_id}", response_model=FollowUpOut)
async def record_follow_up(
    follow_up_id: str, data: FollowUpIn, session: Session, caller: Caller, vault: Vault
) -> FollowUpOut:
    """Record a visit: a worker who left goes back to seeking (with a warning and new recommendations); no
    contract or wage arrears raise a warning for the station."""
    visit = await service.record(session, vault, caller, follow_up_id, data)
    return service.view(vault, visit, beijing_date())
