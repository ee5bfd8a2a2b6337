"""Feed's HTTP routes: the paged feed with a version and ETag, and the resumable SSE stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from libs.api.app import ServiceRuntime
from libs.api.etag import not_modified, strong_etag
from libs.api.pagination import decode_cursor, encode_cursor
from libs.api.problems import validation_problem
from libs.api.routing import DEFAULT_LIMIT, Caller, Cursor, Limit, Session, service_router
from services.feed import repository
from services.feed.schemas import FeedItem, FeedPage
from services.feed.service import ChangeSignal

router = service_router("feed")
CityCode = Annotated[str | None, Query(pattern=r"^32\d{2}$", description="江苏设区市代码")]
OccupationCode = Annotated[str | None, Query(max_length=20)]
STREAM_BATCH = 200


@router.get("/feed", response_model=FeedPage, responses={304: {"description": "未变化"}})
async def read_feed(
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    city_code: CityCode = None,
    occupation_code: OccupationCode = None,
    industry: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> FeedPage | Response:
    """Newest first; `version` is the feed's change number, the ETag changes with it."""
    key = decode_cursor(cursor, 1)
    before = _int_key(key[0]) if key else None
    version = await repository.current_version(session)
    etag = strong_etag(version, request.url.query)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    feed_filter = repository.FeedFilter(
        city_code=city_code, occupation_code=occupation_code, industry=industry
    )
    rows = list(
        await repository.listed_jobs(session, feed_filter, today=date.today(), before_seq=before, limit=limit)
    )
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    return FeedPage(
        items=[FeedItem.model_validate(row.payload) for row in rows],
        next_cursor=encode_cursor(rows[-1].listed_seq) if len(rows) == limit else None,
        version=version,
    )


MAX_SEQ = 2**63 - 1


def _int_key(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效")
    return value


@router.get("/feed/stream", responses={200: {"content": {"text/event-stream": {}}}})
async def stream_feed(
    request: Request,
    caller: Caller,
    city_code: CityCode = None,
    occupation_code: OccupationCode = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
    since: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="从此版本之后开始（等同 Last-Event-ID）")
    ] = None,
) -> EventSourceResponse:
    """`job.published`, `job.updated`, `job.closed`; each event id is the feed version it makes."""
    runtime: ServiceRuntime = request.app.state.runtime
    signal: ChangeSignal = request.app.state.feed_signal
    start = since
    if last_event_id is not None:
        if not last_event_id.isdigit() or int(last_event_id) > MAX_SEQ:
            raise validation_problem(
                "header.Last-Event-ID", "invalid", "Last-Event-ID 必须是上次收到的事件编号"
            )
        start = int(last_event_id)
    if start is None:
        async with runtime.sessions() as session:
            start = await repository.current_version(session)
    feed_filter = repository.FeedFilter(city_code=city_code, occupation_code=occupation_code)

    async def events(position: int) -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(comment=f"eastwest feed from version {position}")
        while True:
            ticket = signal.ticket()
            async with runtime.sessions() as session:
                changes = list(await repository.changes_after(session, position, STREAM_BATCH))
            for change in changes:
                position = change.seq
                if feed_filter.matches(change):
                    yield ServerSentEvent(
                        data=json.dumps(change.payload, ensure_ascii=False),
                        event=change.kind,
                        id=str(change.seq),
                    )
            if len(changes) < STREAM_BATCH:
                await signal.wait(ticket, 1.0)

    return EventSourceResponse(events(start), ping=15)
