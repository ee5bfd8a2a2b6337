"""The live board's routes: the page and its assets, the cards, the stream, the station list; hosts' pin and
counters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from libs.api.problems import FieldError, Problem
from libs.api.routing import PROBLEM_RESPONSES, SSE_RESPONSES, ServiceRoute, Session, caller_with_role
from libs.auth import Principal, Role
from libs.db import beijing_date
from libs.runtime import ServiceRuntime
from services.feed import repository
from services.feed.live import service
from services.feed.live.models import LiveStream
from services.feed.live.schemas import Featured, FeaturedIn, LiveBoard, LiveStations, StreamStats
from services.feed.live.service import FeaturedPins, bump, card, listed_card, render_card
from services.feed.models import FeedJob
from services.feed.streaming import MAX_SEQ, ChangeHub, change_events, start_position

STATIC = Path(__file__).parent.parent / "static"
ASSETS = {"live.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8"}
STREAM_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
BOARD_LIMIT = 100
HOSTS = (Role.admin, Role.partner, Role.station)
# Everything the page needs is on this host: no CDN, no inline script, nothing it could be made to load.
# Live-stream hosts embed the board in their own (HTTPS) pages, so any HTTPS page may frame it.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'self' https:"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

StreamId = Annotated[str | None, Query(pattern=STREAM_ID_PATTERN, description="直播间编号")]
StreamPath = Annotated[str, PathParam(pattern=STREAM_ID_PATTERN, description="直播间编号")]
ProvinceCode = Annotated[str | None, Query(pattern=r"^\d{2}$", description="观众户籍省份代码（如 61 陕西）")]
CityCode = Annotated[str | None, Query(pattern=r"^32\d{2}$", description="江苏设区市代码")]


router = APIRouter(tags=["live"], route_class=ServiceRoute, responses=PROBLEM_RESPONSES)


# --- the page -----------------------------------------------------------------------------------------------


@router.get("/live", response_class=FileResponse, include_in_schema=True, summary="直播招聘岗位看板（页面）")
async def live_page(
    session: Session,
    province_code: ProvinceCode = None,
    stream_id: StreamId = None,
    city_code: CityCode = None,
) -> FileResponse:
    """The board; the page reads `province_code`, `stream_id` and `city_code` from its own address."""
    if stream_id is not None:
        await bump(session, stream_id, views=1)
    return FileResponse(STATIC / "live.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/live/assets/{name}", include_in_schema=False)
async def live_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise Problem(404, "请求的路径或资源不存在")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("/live/jobs", response_model=LiveBoard)
async def live_jobs(
    session: Session,
    stream_id: StreamId = None,
    city_code: CityCode = None,
    limit: Annotated[int, Query(ge=1, le=200)] = BOARD_LIMIT,
) -> LiveBoard:
    """The cards to start with (newest first) and the version to stream from."""
    version = await repository.current_version(session)
    rows = await repository.listed_jobs(
        session,
        repository.FeedFilter(city_code=city_code),
        today=beijing_date(),
        before_seq=None,
        limit=limit,
    )
    stream = await session.get(LiveStream, stream_id) if stream_id else None
    featured = await listed_card(session, stream.featured_job_id if stream else None)
    return LiveBoard(
        version=version,
        items=[card(row.payload) for row in rows],
        featured_job_id=featured.id if featured else None,
    )


@router.get("/live/stream", response_class=EventSourceResponse, responses=SSE_RESPONSES)
async def live_stream(
    request: Request,
    stream_id: StreamId = None,
    city_code: CityCode = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="从此版本之后开始")] = None,
) -> EventSourceResponse:
    """Cards as they appear, change and leave (`job.published`, `job.updated`, `job.closed`; each id is the feed
    version), and `featured` when the host pins a job on this stream."""
    runtime: ServiceRuntime = request.app.state.runtime
    hub: ChangeHub = request.app.state.feed_hub
    pins: FeaturedPins = request.app.state.featured_pins
    start = await start_position(runtime, hub, last_event_id, since)
    render = render_card(repository.FeedFilter(city_code=city_code))

    async def events() -> AsyncIterator[ServerSentEvent | bytes]:
        if stream_id is None:
            async for event in change_events(runtime, hub, start, render):
                yield event
            return
        with pins.watch(stream_id):
            hub.signal.notify()  # the hub's next pass loads this stream's pin
            async for event in change_events(runtime, hub, start, render, pins.events(stream_id)):
                yield event

    return EventSourceResponse(events(), ping=15)


@router.get("/live/stations", response_model=LiveStations)
async def live_stations(session: Session, province_code: ProvinceCode = None) -> LiveStations:
    """Active liaison stations (name only), for the form's 户籍所在地联络站."""
    return await service.stations(session, province_code)


# --- hosts: the pinned job, the stats -----------------------------------------------------------------------


# Admin, partner or station; checked before the body is read, so others learn nothing from a 422.
Host = Annotated[Principal, Depends(caller_with_role(*HOSTS))]


@router.put("/v1/streams/{stream_id}/featured", response_model=Featured)
async def pin_job(
    request: Request, stream_id: StreamPath, data: FeaturedIn, session: Session, caller: Host
) -> Featured:
    """Pin a job on the stream's board: every open board of the stream highlights it at once."""
    job = await session.get(FeedJob, data.job_id)
    if job is None or not job.listed:
        raise Problem(
            404,
            "岗位不在共享岗位信息中（不存在或已关闭）",
            errors=[FieldError("body.job_id", "not_found", "岗位不存在或已关闭")],
        )
    return await service.set_featured(session, request.app.state.feed_signal, stream_id, job.job_id)


@router.delete("/v1/streams/{stream_id}/featured", status_code=204)
async def unpin_job(request: Request, stream_id: StreamPath, session: Session, caller: Host) -> Response:
    await service.set_featured(session, request.app.state.feed_signal, stream_id, None)
    return Response(status_code=204)


@router.get("/v1/streams/{stream_id}/stats", response_model=StreamStats)
async def stream_stats(stream_id: StreamPath, session: Session, caller: Host) -> StreamStats:
    """Views (page loads), sign-ups and leads (demand's events), applications and placements (matching's);
    a stream nobody has seen yet has all zeros."""
    return await service.stream_stats(session, stream_id)
