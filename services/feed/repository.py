"""Every query the feed makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.feed.models import FeedChange, FeedJob


@dataclass(frozen=True)
class FeedFilter:
    city_code: str | None = None
    occupation_code: str | None = None
    industry: str | None = None

    def matches(self, change: FeedChange) -> bool:
        return (self.city_code is None or change.city_code == self.city_code) and (
            self.occupation_code is None or change.occupation_code == self.occupation_code
        )


async def get_job(session: AsyncSession, job_id: str) -> FeedJob | None:
    return await session.get(FeedJob, job_id)


async def current_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(FeedChange.seq), 0))) or 0)


async def listed_jobs(
    session: AsyncSession, feed_filter: FeedFilter, *, today: date, before_seq: int | None, limit: int
) -> Sequence[FeedJob]:
    query = select(FeedJob).where(FeedJob.listed.is_(True))
    query = query.where(or_(FeedJob.valid_until.is_(None), FeedJob.valid_until >= today))
    if feed_filter.city_code:
        query = query.where(FeedJob.city_code == feed_filter.city_code)
    if feed_filter.occupation_code:
        query = query.where(FeedJob.occupation_code == feed_filter.occupation_code)
    if feed_filter.industry:
        query = query.where(FeedJob.industry == feed_filter.industry)
    if before_seq is not None:
        query = query.where(FeedJob.listed_seq < before_seq)
    return (await session.scalars(query.order_by(FeedJob.listed_seq.desc()).limit(limit))).all()


async def changes_after(session: AsyncSession, seq: int, limit: int) -> Sequence[FeedChange]:
    query = select(FeedChange).where(FeedChange.seq > seq).order_by(FeedChange.seq).limit(limit)
    return (await session.scalars(query)).all()
