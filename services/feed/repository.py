"""Every query the feed makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Row, and_, delete, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from libs.db import after_key
from services.feed.models import (
    Delivery,
    DeliveryAttempt,
    DemandRevision,
    DemandWorker,
    FeedChange,
    FeedJob,
    Snapshot,
    SnapshotJob,
    Subscription,
)

CLOSED_KIND = "job.closed"


class Located(Protocol):
    """A change, stored or held in memory by the streams."""

    @property
    def city_code(self) -> str: ...

    @property
    def occupation_code(self) -> str | None: ...


@dataclass(frozen=True)
class FeedFilter:
    city_code: str | None = None
    occupation_code: str | None = None
    industry: str | None = None

    def matches(self, change: Located) -> bool:
        return (self.city_code is None or change.city_code == self.city_code) and (
            self.occupation_code is None or change.occupation_code == self.occupation_code
        )


async def get_job(session: AsyncSession, job_id: str) -> FeedJob | None:
    return await session.get(FeedJob, job_id)


async def current_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(FeedChange.seq), 0))) or 0)


def _open_on(today: date) -> Any:
    """Listed, and not past its last day (its closing date, or publication plus the posting lifetime)."""
    return and_(FeedJob.listed.is_(True), FeedJob.listed_until >= today)


async def expired_jobs(session: AsyncSession, *, today: date, limit: int) -> Sequence[FeedJob]:
    """Listed jobs past their last day, locked (replicas expiring at once skip each other's rows)."""
    query = (
        select(FeedJob)
        .where(FeedJob.listed.is_(True), FeedJob.listed_until < today)
        .order_by(FeedJob.job_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


def _filtered(query: Any, feed_filter: FeedFilter) -> Any:
    if feed_filter.city_code:
        query = query.where(FeedJob.city_code == feed_filter.city_code)
    if feed_filter.occupation_code:
        query = query.where(FeedJob.occupation_code == feed_filter.occupation_code)
    if feed_filter.industry:
        query = query.where(FeedJob.industry == feed_filter.industry)
    return query


async def listed_jobs(
    session: AsyncSession, feed_filter: FeedFilter, *, today: date, before_seq: int | None, limit: int
) -> Sequence[FeedJob]:
    query = _filtered(select(FeedJob).where(_open_on(today)), feed_filter)
    if before_seq is not None:
        query = query.where(FeedJob.listed_seq < before_seq)
    return (await session.scalars(query.order_by(FeedJob.listed_seq.desc()).limit(limit))).all()


async def changes_after(session: AsyncSession, seq: int, limit: int) -> Sequence[FeedChange]:
    query = select(FeedChange).where(FeedChange.seq > seq).order_by(FeedChange.seq).limit(limit)
    return (await session.scalars(query)).all()


async def oldest_retained_change(session: AsyncSession) -> int | None:
    """The lowest change number still in the log (None when the log is empty)."""
    value = await session.scalar(select(func.min(FeedChange.seq)))
    return int(value) if value is not None else None


async def recent_changes(session: AsyncSession, limit: int) -> Sequence[tuple[int, datetime]]:
    """The newest changes' numbers and times, newest first."""
    query = select(FeedChange.seq, FeedChange.created_at).order_by(FeedChange.seq.desc()).limit(limit)
    return (await session.execute(query)).tuples().all()


async def touched_jobs(session: AsyncSession, since: int, until: int, page: JobRange) -> list[str]:
    """The ids of the jobs with a change numbered in (since, until], in id order, one page of them."""
    query = (
        select(FeedChange.job_id)
        .where(FeedChange.seq > since, FeedChange.seq <= until)
        .group_by(FeedChange.job_id)
    )
    return list((await session.scalars(page.apply(query, FeedChange.job_id))).all())


async def last_changes(session: AsyncSession, job_ids: Sequence[str], upto: int) -> dict[str, FeedChange]:
    """Each job's last change numbered `upto` or lower: what the feed said of it at that version."""
    if not job_ids:
        return {}
    latest = (
        select(func.max(FeedChange.seq))
        .where(FeedChange.job_id.in_(job_ids), FeedChange.seq <= upto)
        .group_by(FeedChange.job_id)
    )
    rows = await session.scalars(select(FeedChange).where(FeedChange.seq.in_(latest)))
    return {row.job_id: row for row in rows}


# --- snapshots ----------------------------------------------------------------------------------------------


async def consistent_reads(session: AsyncSession) -> None:
    """Call first in a transaction whose reads must all see one moment (a snapshot's cut).

    PostgreSQL: REPEATABLE READ. SQLite: every write transaction is BEGIN IMMEDIATE, already serial."""
    if session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def latest_snapshot(session: AsyncSession) -> Snapshot | None:
    query = select(Snapshot).order_by(Snapshot.version.desc()).limit(1)
    return (await session.scalars(query)).first()


async def get_snapshot(session: AsyncSession, version: int) -> Snapshot | None:
    return await session.get(Snapshot, version)


async def snapshot_for_slot(session: AsyncSession, slot: str) -> Snapshot | None:
    return (await session.scalars(select(Snapshot).where(Snapshot.slot == slot))).first()


async def list_snapshots(session: AsyncSession, *, before: int | None, limit: int) -> Sequence[Snapshot]:
    query = select(Snapshot)
    if before is not None:
        query = query.where(Snapshot.version < before)
    return (await session.scalars(query.order_by(Snapshot.version.desc()).limit(limit))).all()


async def copy_open_jobs(session: AsyncSession, version: int, today: date) -> int:
    """The snapshot's content, copied inside the database (no row passes through Python)."""
    source = select(literal(version), FeedJob.job_id, FeedJob.version, FeedJob.payload).where(_open_on(today))
    await session.execute(
        insert(SnapshotJob).from_select(["snapshot_version", "job_id", "job_version", "payload"], source)
    )
    count = await session.scalar(
        select(func.count()).select_from(SnapshotJob).where(SnapshotJob.snapshot_version == version)
    )
    return int(count or 0)


async def prune_snapshots(session: AsyncSession, *, below: int, now: datetime) -> None:
    """Drop the content of every snapshot numbered below `below`; their headers stay, marked pruned."""
    await session.execute(delete(SnapshotJob).where(SnapshotJob.snapshot_version < below))
    await session.execute(
        update(Snapshot).where(Snapshot.version < below, Snapshot.pruned_at.is_(None)).values(pruned_at=now)
    )


async def snapshot_jobs(
    session: AsyncSession, version: int, *, after_id: str | None, limit: int
) -> Sequence[SnapshotJob]:
    query = select(SnapshotJob).where(SnapshotJob.snapshot_version == version)
    if after_id is not None:
        query = query.where(SnapshotJob.job_id > after_id)
    return (await session.scalars(query.order_by(SnapshotJob.job_id).limit(limit))).all()


@dataclass(frozen=True)
class JobRange:
    """A page of a diff, by job id: after `after` (None: from the start), at most `limit` (None: all)."""

    after: str | None = None
    limit: int | None = None

    def apply(self, query: Any, job_id: Any) -> Any:
        if self.after is not None:
            query = query.where(job_id > self.after)
        query = query.order_by(job_id)
        return query.limit(self.limit) if self.limit is not None else query


async def snapshot_added(
    session: AsyncSession, since: int, until: int, page: JobRange = JobRange()
) -> Sequence[SnapshotJob]:
    """Jobs in `until` that `since` did not hold."""
    older = aliased(SnapshotJob)
    held = exists().where(older.snapshot_version == since, older.job_id == SnapshotJob.job_id)
    query = select(SnapshotJob).where(SnapshotJob.snapshot_version == until, ~held)
    return (await session.scalars(page.apply(query, SnapshotJob.job_id))).all()


async def snapshot_changed(
    session: AsyncSession, since: int, until: int, page: JobRange = JobRange()
) -> Sequence[SnapshotJob]:
    """Jobs in both whose version moved (supply bumps it with every change), as `until` holds them."""
    older = aliased(SnapshotJob)
    query = (
        select(SnapshotJob)
        .join(older, and_(older.job_id == SnapshotJob.job_id, older.snapshot_version == since))
        .where(SnapshotJob.snapshot_version == until, older.job_version != SnapshotJob.job_version)
    )
    return (await session.scalars(page.apply(query, SnapshotJob.job_id))).all()


async def snapshot_removed(
    session: AsyncSession, since: Snapshot, until: Snapshot, page: JobRange = JobRange()
) -> Sequence[Row[tuple[str, datetime | None]]]:
    """Jobs `since` held that `until` does not, with the time of their closing change in between (None when
    they left for another reason, such as passing their closing date)."""
    newer = aliased(SnapshotJob)
    kept = exists().where(newer.snapshot_version == until.version, newer.job_id == SnapshotJob.job_id)
    closes = (
        select(FeedChange.job_id, func.max(FeedChange.created_at).label("at"))
        .where(
            FeedChange.kind == CLOSED_KIND,
            FeedChange.seq > since.feed_version,
            FeedChange.seq <= until.feed_version,
        )
        .group_by(FeedChange.job_id)
        .subquery()
    )
    query = (
        select(SnapshotJob.job_id, closes.c.at)
        .outerjoin(closes, closes.c.job_id == SnapshotJob.job_id)
        .where(SnapshotJob.snapshot_version == since.version, ~kept)
    )
    return (await session.execute(page.apply(query, SnapshotJob.job_id))).tuples().all()


# --- province editions --------------------------------------------------------------------------------------


async def edition_jobs(session: AsyncSession, feed_filter: FeedFilter, *, today: date) -> Sequence[Row[Any]]:
    """The narrow rows an edition ranks: what fit counts read, and the feed's own order."""
    query = select(
        FeedJob.job_id,
        FeedJob.listed_seq,
        FeedJob.city_code,
        FeedJob.occupation_code,
        FeedJob.salary_max,
        FeedJob.dormitory,
        FeedJob.age_min,
        FeedJob.age_max,
    ).where(_open_on(today))
    return (await session.execute(_filtered(query, feed_filter))).all()


async def job_payloads(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not job_ids:
        return {}
    rows = await session.execute(select(FeedJob.job_id, FeedJob.payload).where(FeedJob.job_id.in_(job_ids)))
    return {job_id: payload for job_id, payload in rows.tuples()}


async def get_worker(session: AsyncSession, worker_id: str) -> DemandWorker | None:
    return await session.get(DemandWorker, worker_id)


async def province_workers(
    session: AsyncSession, province_code: str, statuses: Sequence[str]
) -> Sequence[Row[Any]]:
    query = select(
        DemandWorker.city_codes,
        DemandWorker.occupation_codes,
        DemandWorker.min_salary,
        DemandWorker.needs_dormitory,
        DemandWorker.age,
    ).where(
        DemandWorker.province_code == province_code,
        DemandWorker.status.in_(statuses),
        DemandWorker.erased.is_(False),
    )
    return (await session.execute(query)).all()


async def demand_revision(session: AsyncSession, province_code: str) -> int:
    query = select(DemandRevision.revision).where(DemandRevision.province_code == province_code)
    return int(await session.scalar(query) or 0)


async def bump_demand_revision(session: AsyncSession, province_code: str, now: datetime) -> None:
    row = await session.get(DemandRevision, province_code)
    if row is None:
        session.add(DemandRevision(province_code=province_code, revision=1, updated_at=now))
    else:
        row.revision += 1
        row.updated_at = now
    await session.flush()


# --- webhooks -----------------------------------------------------------------------------------------------


async def active_subscriptions(session: AsyncSession) -> Sequence[Subscription]:
    query = select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.created_at)
    return (await session.scalars(query)).all()


async def get_subscription(session: AsyncSession, subscription_id: str) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def list_subscriptions(
    session: AsyncSession,
    *,
    owner_sub: str | None,
    employer_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Subscription]:
    query = select(Subscription).where(after_key(Subscription.created_at, Subscription.id, after))
    if owner_sub is not None:
        query = query.where(Subscription.owner_sub == owner_sub)
    if employer_id is not None:
        query = query.where(Subscription.employer_id == employer_id)
    query = query.order_by(Subscription.created_at, Subscription.id).limit(limit)
    return (await session.scalars(query)).all()


async def delete_subscription(session: AsyncSession, subscription_id: str) -> None:
    """Its deliveries and their log go with it (deleted explicitly: SQLite may run without foreign keys)."""
    deliveries = select(Delivery.id).where(Delivery.subscription_id == subscription_id)
    await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)))
    await session.execute(delete(Delivery).where(Delivery.subscription_id == subscription_id))
    await session.execute(delete(Subscription).where(Subscription.id == subscription_id))


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> Sequence[Row[Any]]:
    """Due deliveries of active subscriptions, leased: pushed to `lease_until` so no other worker takes them
    while this one is sending (a worker that dies mid-send leaves them to be retried when the lease ends)."""
    query = (
        select(Delivery.id)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            Subscription.active.is_(True),
        )
        .order_by(Delivery.next_attempt_at, Delivery.change_seq)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    ids = list((await session.scalars(query)).all())
    if not ids:
        return []
    await session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(next_attempt_at=lease_until))
    rows = await session.execute(
        select(
            Delivery.id,
            Delivery.subscription_id,
            Delivery.event,
            Delivery.body,
            Delivery.attempts,
            Subscription.url,
            Subscription.secret,
            Subscription.allow_private,
        )
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.change_seq)
    )
    return rows.all()


async def cancel_pending(session: AsyncSession, subscription_id: str, reason: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.subscription_id == subscription_id, Delivery.status == "pending")
        .values(status="cancelled", next_attempt_at=None, last_error=reason)
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    query = (
        select(func.min(Delivery.next_attempt_at))
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.status == "pending", Subscription.active.is_(True))
    )
    value: datetime | None = await session.scalar(query)
    return value


async def get_delivery(session: AsyncSession, delivery_id: str) -> Delivery | None:
    return await session.get(Delivery, delivery_id)


async def list_deliveries(
    session: AsyncSession, subscription_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .where(
            Delivery.subscription_id == subscription_id, after_key(Delivery.created_at, Delivery.id, after)
        )
        .order_by(Delivery.created_at, Delivery.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[str]) -> Sequence[DeliveryAttempt]:
    if not delivery_ids:
        return []
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.attempt)
    )
    return (await session.scalars(query)).all()
