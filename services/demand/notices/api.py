"""Service text messages' routes: what was sent to a station's workers, and a worker's opt-out recorded by
their station."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Response

from libs.api.pagination import DEFAULT_LIMIT
from libs.api.routing import Caller, Cursor, Limit, Session, service_router
from services.demand.notices import service
from services.demand.notices.models import Notice
from services.demand.notices.schemas import NoticeOut, NoticePage, OptOutIn
from services.demand.notices.templates import TEMPLATES

router = service_router("demand")

NoticeStatus = Literal["queued", "sent", "delivered", "undelivered", "suppressed", "failed"]


def notice_out(notice: Notice, phone_masked: str | None) -> NoticeOut:
    template = TEMPLATES[notice.kind]
    reason = notice.reason
    return NoticeOut(
        id=notice.id,
        person_id=notice.person_id,
        phone_masked=phone_masked,
        kind=notice.kind,
        label=template.label,
        text=template.render(dict(notice.params)),
        status=notice.status,
        status_name=(
            f"本地演示，未实际发出（{service.STATUS_NAMES[notice.status]}）"
            if notice.provider == "sink"
            else service.STATUS_NAMES[notice.status]
        ),
        reason=service.REASON_NAMES.get(reason, reason) if reason else None,
        attempts=notice.attempts,
        provider=notice.provider,
        created_at=notice.created_at,
        sent_at=notice.sent_at,
        delivered_at=notice.delivered_at,
    )


@router.get("/notices", response_model=NoticePage)
async def list_notices(
    session: Session,
    caller: Caller,
    person_id: Annotated[str | None, Query(min_length=1, max_length=36, description="务工人员")] = None,
    status: Annotated[NoticeStatus | None, Query(description="状态")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> NoticePage:
    """服务短信 sent (or waiting, or not sent and why) to the caller's workers, newest first."""
    rows, following = await service.list_notices(
        session, caller, person_id=person_id, status=status, cursor=cursor, limit=limit
    )
    return NoticePage(items=[notice_out(notice, masked) for notice, masked in rows], next_cursor=following)


@router.post("/notices/opt-outs", status_code=204)
async def opt_out(data: OptOutIn, session: Session, caller: Caller) -> Response:
    """The worker asked their station for no more messages (as replying TD does): nothing more is sent to the
    phone, including what is queued."""
    await service.person_opt_out(session, caller, data.person_id)
    return Response(status_code=204)
