"""The live board's rules: a feed item as a card, the pinned job of every watched stream, the counters."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import ServerSentEvent

from libs.db import after_commit, utcnow
from libs.reference.regions import JIANGSU_CITIES, PROVINCES
from services.feed import repository
from services.feed.live.models import LiveStation, LiveStream
from services.feed.live.schemas import Featured, LiveCard, LiveStationOut, LiveStations, StreamStats
from services.feed.models import FeedJob
from services.feed.service import CLOSED, ChangeSignal
from services.feed.streaming import Change, SideEvents


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


async def listed_card(session: AsyncSession, job_id: str | None) -> LiveCard | None:
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
            shown = await listed_card(session, stream.featured_job_id if stream is not None else None)
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


# --- hosts and the form -------------------------------------------------------------------------------------


async def set_featured(
    session: AsyncSession, signal: ChangeSignal, stream_id: str, job_id: str | None
) -> Featured:
    """Pin (or, with None, unpin) a job on a stream; every open board of the stream shows it once committed."""
    await bump(session, stream_id)
    stream = await session.get(LiveStream, stream_id, with_for_update=True)
    assert stream is not None
    now = utcnow()
    stream.featured_job_id = job_id
    stream.featured_at = now if job_id else None
    stream.featured_version += 1
    stream.updated_at = now
    after_commit(session, signal.notify)
    return Featured(stream_id=stream_id, job_id=job_id, featured_at=stream.featured_at)


async def stream_stats(session: AsyncSession, stream_id: str) -> StreamStats:
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


async def stations(session: AsyncSession, province_code: str | None) -> LiveStations:
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
