"""Feed's HTTP routes: the paged feed (and province editions) with a version and ETag, the resumable SSE
stream, snapshots and the changes between them, and webhook subscriptions with their delivery log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from libs.api.etag import RenderedPages, json_page, not_modified, strong_etag
from libs.api.pagination import Page, decode_cursor, encode_cursor
from libs.api.problems import FieldError, Problem, not_found, validation_problem
from libs.api.routing import (
    DEFAULT_LIMIT,
    SSE_RESPONSES,
    Caller,
    Cursor,
    IdempotencyKey,
    Limit,
    Session,
    file_content,
    idempotent_create,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
)
from libs.auth import Role, require_role
from libs.db import beijing_date, utcnow
from libs.reference.regions import is_province_code
from libs.runtime import ServiceRuntime
from services.feed import repository, webhooks
from services.feed.background import publish_now
from services.feed.editions import DemandIndex
from services.feed.models import Snapshot, SnapshotJob, Subscription, platform
from services.feed.schemas import (
    AttemptView,
    Changes,
    DeliveryView,
    EditionItem,
    EditionPage,
    FeedItem,
    FeedPage,
    FiltersView,
    SnapshotDocument,
    SnapshotInfo,
    SubscriptionCreate,
    SubscriptionView,
)
from services.feed.settings import FeedSettings
from services.feed.snapshots import (
    ON_REQUEST,
    SETTLE_WINDOW,
    changes_between,
    changes_since_version,
    item_list_head,
    list_item,
    settled_version,
    snapshot_sheet,
)
from services.feed.streaming import MAX_SEQ, Change, ChangeHub, change_events, start_position

router = service_router("feed")
CityCode = Annotated[str | None, Query(pattern=r"^32\d{2}$", description="江苏设区市代码")]
OccupationCode = Annotated[str | None, Query(max_length=20)]


ProvinceCode = Annotated[
    str | None, Query(pattern=r"^\d{2}$", description="省份代码：按该省务工人员需求排序的省份版")
]


@router.get("/feed", response_model=FeedPage | EditionPage, responses={304: {"description": "未变化"}})
async def read_feed(
    request: Request,
    session: Session,
    caller: Caller,
    city_code: CityCode = None,
    occupation_code: OccupationCode = None,
    industry: Annotated[str | None, Query(max_length=40)] = None,
    province_code: ProvinceCode = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> FeedPage | EditionPage | Response:
    """Newest first; `version` is the feed's change number, the ETag changes with it.

    With `province_code`: that province's edition, ordered by `fitting_workers` (how many of its registered,
    looking workers fit the job; the rule is in services/feed/editions.py), then newest first; its ETag
    also changes when the province's workers do."""
    feed_filter = repository.FeedFilter(
        city_code=city_code, occupation_code=occupation_code, industry=industry
    )
    if province_code is not None:
        return await _edition(request, session, feed_filter, province_code, cursor, limit)
    key = decode_cursor(cursor, 1)
    before = _int_key(key[0]) if key else None
    version = await repository.current_version(session)
    today = beijing_date()  # a job past its last day leaves the feed at midnight, with no new version
    etag = strong_etag(version, today, request.url.query)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    pages: RenderedPages = request.app.state.feed_pages
    body = pages.get(etag)
    if body is None:
        rows = list(
            await repository.listed_jobs(session, feed_filter, today=today, before_seq=before, limit=limit)
        )
        page = FeedPage(
            items=[FeedItem.model_validate(row.payload) for row in rows],
            next_cursor=encode_cursor(rows[-1].listed_seq) if len(rows) == limit else None,
            version=version,
        )
        body = page.model_dump_json().encode()
        pages.put(etag, body)
    return json_page(body, etag)


async def _edition(
    request: Request,
    session: AsyncSession,
    feed_filter: repository.FeedFilter,
    province_code: str,
    cursor: str | None,
    limit: int,
) -> Response:
    if not is_province_code(province_code):
        raise validation_problem("query.province_code", "unknown_province", "省份代码不存在")
    key = decode_cursor(cursor, 2)
    after = (_int_key(key[0]), _int_key(key[1])) if key else None
    index: DemandIndex = request.app.state.demand_index
    version = await repository.current_version(session)
    revision = await repository.demand_revision(session, province_code)
    etag = strong_etag(version, "province", revision, request.url.query)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    edition = await index.edition(
        session, province_code, feed_filter, feed_version=version, today=beijing_date()
    )
    page = list(edition.page(after, limit))
    payloads = await repository.job_payloads(session, [entry.job_id for entry in page])
    items = [
        EditionItem.model_validate({**payloads[entry.job_id], "fitting_workers": entry.fitting_workers})
        for entry in page
        if entry.job_id in payloads
    ]
    last = page[-1] if page else None
    body = EditionPage(
        items=items,
        next_cursor=encode_cursor(last.fitting_workers, last.listed_seq)
        if last and len(page) == limit
        else None,
        version=version,
        province_code=province_code,
        workers=edition.workers,
    )
    return JSONResponse(body.model_dump(mode="json"), headers={"ETag": etag, "Cache-Control": "no-cache"})


def _int_key(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效")
    return value


@router.get("/feed/stream", response_class=EventSourceResponse, responses=SSE_RESPONSES)
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
    hub: ChangeHub = request.app.state.feed_hub
    start = await start_position(runtime, hub, last_event_id, since)
    feed_filter = repository.FeedFilter(city_code=city_code, occupation_code=occupation_code)

    def render(change: Change) -> bytes | None:
        return change.encoded("item", item_event) if feed_filter.matches(change) else None

    return EventSourceResponse(change_events(runtime, hub, start, render), ping=15)


def item_event(change: Change) -> ServerSentEvent:
    data = json.dumps(change.payload, ensure_ascii=False)
    return ServerSentEvent(data=data, event=change.kind, id=str(change.seq))


# --- snapshots ----------------------------------------------------------------------------------------------

SNAPSHOT_BATCH = 1000
IMMUTABLE = "public, max-age=31536000, immutable"
SnapshotVersion = Annotated[int, Path(ge=1, le=MAX_SEQ, description="快照期号")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def snapshot_info(snapshot: Snapshot) -> SnapshotInfo:
    return SnapshotInfo.model_validate(snapshot, from_attributes=True)


@router.post("/feed/snapshots", status_code=201, response_model=SnapshotInfo)
async def publish_snapshot(request: Request, caller: Caller) -> JSONResponse:
    """Publish a snapshot now (admin); the schedule publishes the regular ones."""
    require_role(caller, Role.admin)
    runtime: ServiceRuntime = request.app.state.runtime
    settings: FeedSettings = request.app.state.feed_settings
    snapshot = await publish_now(runtime.sessions, trigger=ON_REQUEST, keep=settings.snapshot_keep)
    assert snapshot is not None  # only scheduled snapshots are ever skipped
    return JSONResponse(
        snapshot_info(snapshot).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/feed/snapshots/{snapshot.version}"},
    )


@router.get("/feed/snapshots", response_model=Page[SnapshotInfo])
async def list_snapshots(
    session: Session, caller: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SnapshotInfo]:
    """Newest first."""
    key = decode_cursor(cursor, 1)
    before = _int_key(key[0]) if key else None
    rows = list(await repository.list_snapshots(session, before=before, limit=limit))
    return Page(
        items=[snapshot_info(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].version) if len(rows) == limit else None,
    )


@router.get(
    "/feed/snapshots/{version}",
    response_model=SnapshotDocument,
    responses={
        200: {"content": {"application/ld+json": {"schema": {"type": "object"}}, **file_content(XLSX)}},
        304: {"description": "未变化"},
    },
)
async def read_snapshot(
    request: Request,
    session: Session,
    caller: Caller,
    version: SnapshotVersion,
    format: Annotated[
        Literal["json", "jsonld", "xlsx"],
        Query(description="json；jsonld（schema.org ItemList / JobPosting）；xlsx（岗位供给清单）"),
    ] = "json",
) -> Response:
    """Immutable: a strong ETag per version and format, cached for a year."""
    snapshot = await repository.get_snapshot(session, version)
    # End the request's read (the row stays loaded): the content is read in batches of sessions of its own,
    # and on SQLite every transaction holds the write lock, so an open one here would block those reads.
    await session.close()
    if snapshot is None:
        raise not_found("快照")
    if snapshot.pruned_at is not None:
        raise Problem(410, f"第 {snapshot.version} 期快照已超过保留期，内容已删除；请读取较新的快照")
    etag = strong_etag("snapshot", snapshot.version, snapshot.created_at.isoformat(), format)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    cached = not_modified(request, etag)
    if cached is not None:
        cached.headers["Cache-Control"] = IMMUTABLE
        return cached
    if format == "xlsx":
        payloads = [row.payload async for row in _snapshot_rows(request, snapshot)]
        # openpyxl is CPU-bound (seconds per 10k rows): off the event loop.
        content = await asyncio.to_thread(
            lambda: snapshot_sheet(snapshot, [FeedItem.model_validate(payload) for payload in payloads])
        )
        filename = quote(f"岗位供给清单-第{snapshot.version}期.xlsx")
        headers["Content-Disposition"] = (
            f"attachment; filename=\"feed-snapshot-{snapshot.version}.xlsx\"; filename*=UTF-8''{filename}"
        )
        return Response(content, media_type=XLSX, headers=headers)
    if format == "jsonld":
        return StreamingResponse(
            _jsonld(request, snapshot), media_type="application/ld+json", headers=headers
        )
    return StreamingResponse(_json(request, snapshot), media_type="application/json", headers=headers)


async def _snapshot_rows(request: Request, snapshot: Snapshot) -> AsyncIterator[SnapshotJob]:
    """In batches, each in its own short session, so a 200k-job snapshot never sits in memory whole."""
    runtime: ServiceRuntime = request.app.state.runtime
    after: str | None = None
    while True:
        async with runtime.sessions() as session:
            rows = list(
                await repository.snapshot_jobs(
                    session, snapshot.version, after_id=after, limit=SNAPSHOT_BATCH
                )
            )
        for row in rows:
            yield row
        if len(rows) < SNAPSHOT_BATCH:
            return
        after = rows[-1].job_id


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _json(request: Request, snapshot: Snapshot) -> AsyncIterator[str]:
    head = _dumps(snapshot_info(snapshot).model_dump(mode="json"))
    yield head[:-1] + ',"items":['
    separator = ""
    async for row in _snapshot_rows(request, snapshot):
        yield separator + _dumps(row.payload)
        separator = ","
    yield "]}"


async def _jsonld(request: Request, snapshot: Snapshot) -> AsyncIterator[str]:
    lifetime: int = request.app.state.feed_settings.posting_lifetime_days
    yield _dumps(item_list_head(snapshot))[:-1] + ',"itemListElement":['
    position = 0
    async for row in _snapshot_rows(request, snapshot):
        position += 1
        yield ("," if position > 1 else "") + _dumps(
            list_item(position, FeedItem.model_validate(row.payload), lifetime)
        )
    yield "]}"


CHANGES_LIMIT = 1000
CHANGES_MAX_LIMIT = 5000


@router.get("/feed/changes", response_model=Changes, responses={304: {"description": "未变化"}})
async def read_changes(
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    since: Annotated[int | None, Query(ge=1, le=MAX_SEQ, description="客户端已持有的快照期号")] = None,
    since_version: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_SEQ,
            description="客户端已持有的信息版本（GET /v1/feed 的 version、SSE 事件编号）；与 since 二选一",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="上一页返回的 next_cursor")] = None,
    limit: Annotated[
        int, Query(ge=1, le=CHANGES_MAX_LIMIT, description="每页条数（三类合计）")
    ] = CHANGES_LIMIT,
) -> Changes | Response:
    """Added and changed jobs in full, removals as tombstones, pages in job-id order; `basis` says which
    number space `since` and `version` are in.

    `since=N` (basis `snapshot`): from snapshot N to the latest snapshot. `since_version=V` (basis `feed`):
    from feed version V (what `GET /v1/feed` and the stream hand out) to the feed's version now. Every page of
    one walk compares against the `version` of its first page, so nothing published meanwhile can tear it;
    poll again with the same parameter set to `version` afterwards."""
    if (since is None) == (since_version is None):
        raise validation_problem(
            "query.since", "required", "请给出 since（快照期号）或 since_version（信息版本）之一"
        )
    if since_version is not None:
        return await _changes_since_version(request, response, session, since_version, cursor, limit)
    assert since is not None
    older = await _held_snapshot(session, since, "query.since")
    key = decode_cursor(cursor, 2)
    if key is not None and not (isinstance(key[0], int) and isinstance(key[1], str)):
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效，请使用上一页返回的 next_cursor")
    latest = (
        await _held_snapshot(session, key[0], "query.cursor")
        if key is not None
        else await repository.latest_snapshot(session)
    )
    if latest is None:
        raise Problem(
            404,
            f"第 {since} 期快照不存在",
            errors=[FieldError("query.since", "unknown_snapshot", "快照期号不存在")],
        )
    etag = strong_etag("changes", older.version, latest.version, cursor or "", limit)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    page = repository.JobRange(after=key[1] if key is not None else None, limit=limit)
    changes = await changes_between(session, older, latest, page)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    return Changes(
        basis="snapshot",
        since=older.version,
        version=latest.version,
        feed_version=latest.feed_version,
        added=changes.added,
        changed=changes.changed,
        removed=changes.removed,
        next_cursor=encode_cursor(latest.version, changes.last_job_id) if changes.last_job_id else None,
    )


FEED_CURSOR = "feed"


async def _changes_since_version(
    request: Request, response: Response, session: AsyncSession, since: int, cursor: str | None, limit: int
) -> Changes | Response:
    """Basis `feed`: the change log between feed version `since` and the settled version now (or the one
    the walk's first page pinned, carried in its cursor). 404 for a version the feed has not reached, 410
    when the change log no longer reaches back to it."""
    key = decode_cursor(cursor, 3)
    if key is not None and not (
        key[0] == FEED_CURSOR and isinstance(key[2], str) and _int_key(key[1]) >= since
    ):
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效，请使用上一页返回的 next_cursor")
    head = await repository.current_version(session)
    if since > head:
        raise Problem(
            404,
            f"信息版本 {since} 尚未产生，当前为 {head}",
            errors=[FieldError("query.since_version", "unknown_version", "信息版本尚未产生")],
            current_version=head,
        )
    oldest = await repository.oldest_retained_change(session)
    if oldest is not None and since < oldest - 1:
        raise Problem(
            410,
            f"变更记录只保留到信息版本 {oldest - 1} 之后，无法给出自 {since} 以来的变更；请重新读取 GET /v1/feed 全部内容",
            errors=[FieldError("query.since_version", "version_gone", "该信息版本的变更记录已不再保留")],
            oldest_version=oldest - 1,
        )
    if key is not None:
        until = int(key[1])
    else:
        recent = await repository.recent_changes(session, SETTLE_WINDOW)
        until = max(since, settled_version(recent, utcnow()))
    etag = strong_etag("changes", "feed", since, until, cursor or "", limit)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    page = repository.JobRange(after=key[2] if key is not None else None, limit=limit)
    changes = await changes_since_version(session, since, until, page)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    return Changes(
        basis="feed",
        since=since,
        version=until,
        feed_version=until,
        added=changes.added,
        changed=changes.changed,
        removed=changes.removed,
        next_cursor=encode_cursor(FEED_CURSOR, until, changes.last_job_id) if changes.last_job_id else None,
    )


async def _held_snapshot(session: AsyncSession, version: int, field: str) -> Snapshot:
    """A snapshot whose content is still kept: 404 when unknown, 410 when pruned."""
    snapshot = await repository.get_snapshot(session, version)
    if snapshot is None:
        raise Problem(
            404,
            f"第 {version} 期快照不存在",
            errors=[FieldError(field, "unknown_snapshot", "快照期号不存在")],
        )
    if snapshot.pruned_at is not None:
        raise Problem(
            410,
            f"第 {version} 期快照已超过保留期；请读取最新快照的全部内容后再取增量",
            errors=[FieldError(field, "snapshot_pruned", "快照已超过保留期")],
        )
    return snapshot


# --- webhooks -----------------------------------------------------------------------------------------------


def subscription_view(subscription: Subscription) -> SubscriptionView:
    return SubscriptionView(
        id=subscription.id,
        url=subscription.url,
        filters=FiltersView(
            city_code=subscription.city_code,
            occupation_code=subscription.occupation_code,
            event_types=list(subscription.event_types),
        ),
        allow_private=subscription.allow_private,
        active=subscription.active,
        disabled_reason=subscription.disabled_reason,
        disabled_at=subscription.disabled_at,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


@router.post("/subscriptions", status_code=201, response_model=SubscriptionView)
async def create_subscription(
    request: Request, data: SubscriptionCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    """Signed webhooks of feed changes (partner, recruiter, admin). The secret is never returned."""

    async def create() -> tuple[int, dict[str, object]]:
        subscription = await webhooks.create_subscription(session, caller, data)
        return 201, subscription_view(subscription).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/subscriptions", response_model=Page[SubscriptionView])
async def list_subscriptions(
    session: Session, caller: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SubscriptionView]:
    scope = webhooks.owner_filter(caller)
    rows = list(
        await repository.list_subscriptions(
            session,
            owner_sub=scope["owner_sub"],
            employer_id=scope["employer_id"],
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(items=[subscription_view(row) for row in rows], next_cursor=next_time_id_cursor(rows, limit))


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(subscription_id: str, session: Session, caller: Caller) -> SubscriptionView:
    return subscription_view(await webhooks.subscription_in_scope(session, caller, subscription_id))


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(subscription_id: str, session: Session, caller: Caller) -> Response:
    """Stops deliveries at once; the subscription's delivery log goes with it."""
    subscription = await webhooks.subscription_in_scope(session, caller, subscription_id)
    await repository.delete_subscription(session, subscription.id)
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=Page[DeliveryView])
async def list_deliveries(
    subscription_id: str,
    session: Session,
    caller: Caller,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DeliveryView]:
    """The delivery log, oldest first: each delivery with every attempt, its answer or error, and when the
    next retry is due."""
    subscription = await webhooks.subscription_in_scope(session, caller, subscription_id)
    rows = list(
        await repository.list_deliveries(session, subscription.id, after=time_id_cursor(cursor), limit=limit)
    )
    attempts: dict[str, list[AttemptView]] = {}
    for attempt in await repository.attempts_of(session, [row.id for row in rows]):
        attempts.setdefault(attempt.delivery_id, []).append(
            AttemptView.model_validate(attempt, from_attributes=True)
        )
    return Page(
        items=[
            DeliveryView(
                id=row.id,
                event=row.event,
                job_id=row.job_id,
                feed_version=row.change_seq,
                status=row.status,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                last_status_code=row.last_status_code,
                last_error=row.last_error,
                created_at=row.created_at,
                delivered_at=row.delivered_at,
                log=attempts.get(row.id, []),
            )
            for row in rows
        ],
        next_cursor=next_time_id_cursor(rows, limit),
    )
