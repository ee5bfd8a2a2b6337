"""Feed's domain: fold job events into the current view and the change log; wake the streams."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import utcnow
from libs.events.contracts import JOB_CLOSED, JobPayload
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), seconds)


async def apply_job_event(session: AsyncSession, event_type: str, job: JobPayload) -> FeedChange | None:
    """Versions make this order-proof: an older event than what the feed holds changes nothing."""
    row = await repository.get_job(session, job.id)
    if row is not None and row.version >= job.version:
        return None
    visible = job.status == "published" and event_type != JOB_CLOSED
    was_listed = row is not None and row.listed
    now = utcnow()
    change: FeedChange | None = None
    if visible or was_listed:
        kind = (UPDATED if was_listed else PUBLISHED) if visible else CLOSED
        data = (
            FeedItem.model_validate(job.model_dump()).model_dump(mode="json")
            if visible
            else Removal(id=job.id, removed_at=now).model_dump(mode="json")
        )
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
    if row is None:
        row = FeedJob(job_id=job.id, listed_seq=0)
        session.add(row)
    row.version = job.version
    row.listed = visible
    if change is not None and change.kind == PUBLISHED:
        row.listed_seq = change.seq
    row.city_code = job.city_code
    row.occupation_code = job.occupation_code
    row.industry = job.industry
    row.valid_until = job.valid_until
    row.salary_max = job.salary_max
    row.dormitory = job.benefits.dormitory
    row.age_min = job.age_min
    row.age_max = job.age_max
    row.payload = FeedItem.model_validate(job.model_dump()).model_dump(mode="json")
    row.updated_at = now
    await session.flush()
    return change
