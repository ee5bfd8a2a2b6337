"""The live-stream job board (直播招聘): the page behind a live-stream host, its public stream, the pinned job,
and attribution per stream.

Public, no token (the page is shown to anyone watching): `GET /live` (the page, one view counted per load when
it names a `stream_id`), `GET /live/assets/{name}`, `GET /live/jobs` (the cards to start with),
`GET /live/stream` (Server-Sent Events: `job.published` / `job.updated` with a card, `job.closed` with a
tombstone, `featured` when the host pins or unpins a job) and `GET /live/stations` (the form's station list).
For hosts and their stations: `PUT` / `DELETE /v1/streams/{id}/featured` and `GET /v1/streams/{id}/stats`
(admin, partner, station; streams belong to nobody, so any of them may pin on or read any stream).

What the board shows is a *card*: title, employer, city, pay, dormitory and meals, headcount left. Jobs carry
no personal data, and none passes through here: the sign-up form posts straight to demand
(`POST /v1/live-signups`, routed to demand by path on the same host). Feed learns only ids and counts:
sign-ups and leads from demand's `ew.demand.livesignup.*`, applications and placements with a `stream_id`
from matching's events. `province_code` on the page picks the stations the form offers (the audience's home
province); every open job is on the board, `city_code` narrows it to one Jiangsu city.

The board's consumers start with the app through this router's lifespan (FastAPI merges an included router's
lifespan into the app's), so services/feed/app.py only includes the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette

from libs.api.app import ServiceRuntime
from libs.api.problems import FieldError, Problem
from libs.api.routing import PROBLEM_RESPONSES, SSE_RESPONSES, Caller, ServiceRoute, Session
from libs.api.schemas import RequestModel, example
from libs.auth import Principal, Role, require_role
from libs.db import after_commit, beijing_date, utcnow
from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    APPLICATION_SUBMITTED,
    LIVESIGNUP_EVENTS,
    LIVESIGNUP_LEAD,
    LIVESIGNUP_MATCHED,
    PLACEMENT_CONFIRMED,
    STATION_EVENTS,
    ApplicationPayload,
    LiveSignupLead,
    LiveSignupMatched,
    PlacementConfirmed,
    StationPayload,
)
from libs.events.envelope import CloudEvent
from libs.events.projection import Projection
from libs.reference.regions import JIANGSU_CITIES, PROVINCES
from services.feed import repository
from services.feed.live_models import LiveStation, LiveStream
from services.feed.models import FeedJob
from services.feed.service import CLOSED, ChangeSignal
from services.feed.streaming import MAX_SEQ, Change, ChangeHub, SideEvents, change_events, start_position

STATIC = Path(__file__).parent / "static"
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


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Start the board's consumers in the running service; its `stop()` cancels them with the rest."""
    runtime: ServiceRuntime = app.state.runtime
    for consumer in live_consumers(runtime):
        runtime.consumers.append(consumer)
        runtime.tasks.append(asyncio.create_task(consumer.run(), name=f"consumer-{consumer.name}"))
    yield


router = APIRouter(tags=["live"], route_class=ServiceRoute, responses=PROBLEM_RESPONSES, lifespan=_lifespan)


# --- the contract -------------------------------------------------------------------------------------------


_JOB_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
_CARD = {
    "id": _JOB_ID,
    "version": 3,
    "title": "电子产品装配工",
    "employer_name": "苏州精密电子有限公司",
    "city_code": "3205",
    "city_name": "苏州市",
    "salary_min": 5200,
    "salary_max": 7200,
    "dormitory": True,
    "meals": True,
    "headcount": 20,
    "headcount_left": 18,
}


class LiveCard(BaseModel):
    """One job as the board shows it."""

    model_config = example(_CARD)

    id: str
    version: int
    title: str
    employer_name: str
    city_code: str
    city_name: str
    salary_min: int
    salary_max: int
    dormitory: bool
    meals: bool
    headcount: int
    headcount_left: int


class LiveBoard(BaseModel):
    model_config = example({"version": 345, "items": [_CARD], "featured_job_id": _JOB_ID})

    version: int = Field(description="从此版本之后订阅 /live/stream（since）")
    items: list[LiveCard]
    featured_job_id: str | None


class LiveStationOut(BaseModel):
    id: str
    name: str
    province_code: str


class LiveStations(BaseModel):
    model_config = example(
        {
            "province_code": "61",
            "province_name": "陕西省",
            "items": [
                {
                    "id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
                    "name": "江苏驻西安新城劳务联络站",
                    "province_code": "61",
                }
            ],
        }
    )

    province_code: str | None
    province_name: str | None
    items: list[LiveStationOut]


class FeaturedIn(RequestModel):
    model_config = example({"job_id": _JOB_ID})

    job_id: str = Field(min_length=1, max_length=36, description="置顶展示的岗位")


class Featured(BaseModel):
    model_config = example(
        {"stream_id": "kuaishou-live-7", "job_id": _JOB_ID, "featured_at": "2026-11-20T20:05:00+08:00"}
    )

    stream_id: str
    job_id: str | None
    featured_at: datetime | None


class StreamStats(BaseModel):
    model_config = example(
        {
            "stream_id": "kuaishou-live-7",
            "views": 1520,
            "signups": 46,
            "leads": 19,
            "applications": 27,
            "placements": 9,
            "updated_at": "2026-11-20T21:00:00+08:00",
        }
    )

    stream_id: str
    views: int = Field(description="看板页面打开次数")
    signups: int = Field(description="看板报名次数（已登记务工人员与待联系人员）")
    leads: int = Field(description="其中登记为待联系的人数")
    applications: int = Field(description="归属此直播间的岗位报名数")
    placements: int = Field(description="归属此直播间的录用数")
    updated_at: datetime | None


def card(item: dict[str, Any]) -> LiveCard:
    """A feed item (a job event's data) reduced to the card; reads only fields the feed item has always had."""
    benefits = item.get("benefits") or {}
    city = str(item["city_code"])
    return LiveCard(
        id=item["id"],
        version=item["version"],
        title=item["title"],
        employer_name=item["employer_name"],
        city_code=city,
        city_name=JIANGSU_CITIES.get(city, city),
        salary_min=item["salary_min"],
        salary_max=item["salary_max"],
        dormitory=bool(benefits.get("dormitory")),
        meals=bool(benefits.get("meals")),
        headcount=item["headcount"],
        headcount_left=item["headcount_left"],
    )


# --- the stream of changes, shared shape --------------------------------------------------------------------


def render_card(feed_filter: repository.FeedFilter) -> Callable[[Change], bytes | None]:
    def render(change: Change) -> bytes | None:
        return change.encoded("card", card_event) if feed_filter.matches(change) else None

    return render


def card_event(change: Change) -> ServerSentEvent:
    data = change.payload if change.kind == CLOSED else card(change.payload).model_dump(mode="json")
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=change.kind, id=str(change.seq))


async def _listed_card(session: AsyncSession, job_id: str | None) -> LiveCard | None:
    job = await session.get(FeedJob, job_id) if job_id else None
    return card(job.payload) if job is not None and job.listed else None


class FeaturedPins:
    """The pinned job of every stream somebody is watching, read in the change hub's pass for all of them at
    once (a pin is one row; two hundred screens on one stream must not read it two hundred times)."""

    def __init__(self) -> None:
        self.watchers: Counter[str] = Counter()
        self.pins: dict[str, tuple[int, str]] = {}  # stream id -> (featured_version, the event's data)

    @contextlib.contextmanager
    def watch(self, stream_id: str) -> Iterator[None]:
        self.watchers[stream_id] += 1
        try:
            yield
        finally:
            self.watchers[stream_id] -= 1
            if self.watchers[stream_id] <= 0:
                del self.watchers[stream_id]
                self.pins.pop(stream_id, None)

    async def refresh(self, session: AsyncSession) -> bool:
        watched = list(self.watchers)
        if not watched:
            return False
        query = select(LiveStream).where(LiveStream.stream_id.in_(watched))
        streams = {stream.stream_id: stream for stream in await session.scalars(query)}
        changed = False
        for stream_id in watched:
            stream = streams.get(stream_id)
            version = stream.featured_version if stream is not None else 0
            known = self.pins.get(stream_id)
            if known is not None and known[0] == version:
                continue
            shown = await _listed_card(session, stream.featured_job_id if stream is not None else None)
            data = {
                "job_id": shown.id if shown else None,
                "card": shown.model_dump(mode="json") if shown else None,
            }
            if stream_id in self.watchers:  # the last watcher may have left during the read
                self.pins[stream_id] = (version, json.dumps(data, ensure_ascii=False))
                changed = True
        return changed

    def events(self, stream_id: str) -> SideEvents:
        """A `featured` event when the stream's pin changes (and once at the start): {job_id, card}."""
        sent: list[int] = []

        def side() -> list[ServerSentEvent]:
            pin = self.pins.get(stream_id)
            if pin is None or (sent and sent[0] == pin[0]):
                return []
            sent[:] = [pin[0]]
            return [ServerSentEvent(data=pin[1], event="featured")]

        return side


# --- counters -----------------------------------------------------------------------------------------------


async def bump(session: AsyncSession, stream_id: str, **counts: int) -> None:
    """Add to a stream's counters in one statement (concurrent page loads add up); the first creates the row."""
    values = {name: getattr(LiveStream, name) + count for name, count in counts.items()}
    result = await session.execute(
        update(LiveStream).where(LiveStream.stream_id == stream_id).values(**values, updated_at=utcnow())
    )
    if getattr(result, "rowcount", 0):
        return
    try:
        async with session.begin_nested():
            session.add(_new_stream(stream_id, **counts))
            await session.flush()
    except IntegrityError:  # created meanwhile by another request
        await session.execute(
            update(LiveStream).where(LiveStream.stream_id == stream_id).values(**values, updated_at=utcnow())
        )


def _new_stream(stream_id: str, **counts: int) -> LiveStream:
    fields = {"views": 0, "signups": 0, "leads": 0, "applications": 0, "placements": 0, **counts}
    return LiveStream(stream_id=stream_id, featured_version=0, updated_at=utcnow(), **fields)


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
    featured = await _listed_card(session, stream.featured_job_id if stream else None)
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
    query = select(LiveStation).where(LiveStation.active.is_(True))
    if province_code:
        query = query.where(LiveStation.province_code == province_code)
    rows = (await session.scalars(query.order_by(LiveStation.province_code, LiveStation.name))).all()
    return LiveStations(
        province_code=province_code,
        province_name=PROVINCES.get(province_code) if province_code else None,
        items=[LiveStationOut(id=row.id, name=row.name, province_code=row.province_code) for row in rows],
    )


# --- hosts: the pinned job, the stats -----------------------------------------------------------------------


def host_caller(caller: Caller) -> Principal:
    """Admin, partner or station; checked before the body is read, so others learn nothing from a 422."""
    require_role(caller, *HOSTS)
    return caller


Host = Annotated[Principal, Depends(host_caller)]


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
    return await _set_featured(request, session, stream_id, job.job_id)


@router.delete("/v1/streams/{stream_id}/featured", status_code=204)
async def unpin_job(request: Request, stream_id: StreamPath, session: Session, caller: Host) -> Response:
    await _set_featured(request, session, stream_id, None)
    return Response(status_code=204)


async def _set_featured(
    request: Request, session: AsyncSession, stream_id: str, job_id: str | None
) -> Featured:
    await bump(session, stream_id)
    stream = await session.get(LiveStream, stream_id, with_for_update=True)
    assert stream is not None
    now = utcnow()
    stream.featured_job_id = job_id
    stream.featured_at = now if job_id else None
    stream.featured_version += 1
    stream.updated_at = now
    signal: ChangeSignal = request.app.state.feed_signal
    after_commit(session, signal.notify)
    return Featured(stream_id=stream_id, job_id=job_id, featured_at=stream.featured_at)


@router.get("/v1/streams/{stream_id}/stats", response_model=StreamStats)
async def stream_stats(stream_id: StreamPath, session: Session, caller: Host) -> StreamStats:
    """Views (page loads), sign-ups and leads (demand's events), applications and placements (matching's);
    a stream nobody has seen yet has all zeros."""
    stream = await session.get(LiveStream, stream_id)
    if stream is None:
        return StreamStats(
            stream_id=stream_id, views=0, signups=0, leads=0, applications=0, placements=0, updated_at=None
        )
    return StreamStats(
        stream_id=stream_id,
        views=stream.views,
        signups=stream.signups,
        leads=stream.leads,
        applications=stream.applications,
        placements=stream.placements,
        updated_at=stream.updated_at,
    )


# --- consumers: stations for the form, counts for attribution ----------------------------------------------


STATIONS = Projection[StationPayload, LiveStation](
    LiveStation,
    lambda station: {"name": station.name, "province_code": station.province_code, "active": station.active},
)


async def on_station_event(session: AsyncSession, event: CloudEvent) -> None:
    await STATIONS.apply(session, StationPayload.model_validate(event.data))


async def on_signup_event(session: AsyncSession, event: CloudEvent) -> None:
    """Every sign-up counts once: a lead when it is recorded, a registered worker when matched directly (a lead
    that registers later comes back as `matched` with its `lead_id`, and is not counted again)."""
    if event.type == LIVESIGNUP_LEAD:
        lead = LiveSignupLead.model_validate(event.data)
        await bump(session, lead.stream_id, signups=1, leads=1)
    elif event.type == LIVESIGNUP_MATCHED:
        matched = LiveSignupMatched.model_validate(event.data)
        if matched.lead_id is None:
            await bump(session, matched.stream_id, signups=1)


async def on_application_event(session: AsyncSession, event: CloudEvent) -> None:
    application = ApplicationPayload.model_validate(event.data)
    if application.stream_id:
        await bump(session, application.stream_id, applications=1)


async def on_placement_event(session: AsyncSession, event: CloudEvent) -> None:
    placement = PlacementConfirmed.model_validate(event.data)
    if placement.stream_id:
        await bump(session, placement.stream_id, placements=1)


def live_consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handlers: dict[str, tuple[str, Handler]] = {
        "feed-live-stations": (STATION_EVENTS, on_station_event),
        "feed-live-signups": (LIVESIGNUP_EVENTS, on_signup_event),
        "feed-live-applications": (APPLICATION_SUBMITTED, on_application_event),
        "feed-live-placements": (PLACEMENT_CONFIRMED, on_placement_event),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
