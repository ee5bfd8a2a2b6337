"""Feed's domain: fold job events into the current view and the change log; wake the streams."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from libs.aio import wait_event
from libs.db import beijing_date, utcnow
from libs.events.contracts import JOB_CLOSED, JobPayload
from libs.events.projection import Projection
from services.feed import repository
from services.feed.models import FeedChange, FeedJob
from services.feed.schemas import FeedItem, Removal

PUBLISHED = "job.published"
UPDATED = "job.updated"
CLOSED = "job.closed"


class ChangeSignal:
    """Wakes every open stream when a change commits; streams also poll, so other replicas' changes arrive."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        """Take it before reading the changes: a notify that lands during the read still wakes the waiter."""
        return self._event

    @staticmethod
    async def wait(ticket: asyncio.Event, seconds: float) -> None:
        await wait_event(ticket, seconds)


class Dated(Protocol):
    """A job as supply sends it or as the feed stores it."""

    @property
    def valid_until(self) -> date | None: ...

    @property
    def published_at(self) -> datetime | None: ...

    @property
    def updated_at(self) -> datetime: ...


def listed_until(job: Dated, lifetime_days: int) -> date:
    """The last day (Beijing) the job is shown: its closing date, else its publication day plus the posting
    lifetime. JSON-LD's `validThrough` is the end of this day, and the feed takes the job out after it."""
    if job.valid_until is not None:
        return job.valid_until
    return beijing_date(job.published_at or job.updated_at) + timedelta(days=lifetime_days)


# The feed's own copy of each job: what the filters and the change log read (the versions decide, libs says how).
FEED_JOBS = Projection[JobPayload, FeedJob](
    FeedJob, lambda job: {}, key="job_id", new={"listed_seq": 0, "listed": False}
)


async def apply_job_event(
    session: AsyncSession, event_type: str, job: JobPayload, *, lifetime_days: int
) -> FeedChange | None:
    """Versions make this order-proof: an older event than what the feed holds changes nothing. A job past
    its last day is not (re-)listed by an update that leaves that day as it is."""
    row = await FEED_JOBS.stale_row(session, job.id, job.version)
    if row is None:
        return None
    now = utcnow()
    until = listed_until(job, lifetime_days)
    visible = job.status == "published" and event_type != JOB_CLOSED and until >= beijing_date(now)
    was_listed = bool(row.listed)
    item = FeedItem.model_validate({**job.model_dump(), "listed_until": until}).model_dump(mode="json")
    row.version = job.version
    row.listed = visible
    row.city_code = job.city_code
    row.occupation_code = job.occupation_code
    row.industry = job.industry
    row.valid_until = job.valid_until
    row.listed_until = until
    row.salary_max = job.salary_max
    row.dormitory = job.benefits.dormitory
    row.age_min = job.age_min
    row.age_max = job.age_max
    row.payload = item
    row.updated_at = now
    change: FeedChange | None = None
    if visible or was_listed:
        kind = (UPDATED if was_listed else PUBLISHED) if visible else CLOSED
        data = item if visible else Removal(id=job.id, removed_at=now).model_dump(mode="json")
        change = FeedChange(
            job_id=job.id,
            kind=kind,
            city_code=job.city_code,
            occupation_code=job.occupation_code,
            payload=data,
            created_at=now,
        )
        session.add(change)
        await session.flush()
        if kind == PUBLISHED:
            row.listed_seq = change.seq
    await session.flush()
    return change


async def expire_jobs(session: AsyncSession, *, now: datetime, limit: int) -> list[FeedChange]:
    """Take the listed jobs past their last day out of the feed, as `job.closed` changes (at most `limit`)."""
    changes = []
    for row in await repository.expired_jobs(session, today=beijing_date(now), limit=limit):
        change = FeedChange(
            job_id=row.job_id,
            kind=CLOSED,
            city_code=row.city_code,
            occupation_code=row.occupation_code,
            payload=Removal(id=row.job_id, removed_at=now).model_dump(mode="json"),
            created_at=now,
        )
        session.add(change)
        row.listed = False
        row.updated_at = now
        changes.append(change)
    await session.flush()
    return changes
