"""Feed's tables: the current view of open jobs, the numbered change log that versions and streams it, the
snapshots published from it, the demand read model of province editions, and webhook subscriptions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import BigId, platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class FeedJob(Base):
    """One row per job ever seen; `listed` says whether it is in the feed now (closed ones stay as tombstones)."""

    __tablename__ = "feed_jobs"
    __table_args__ = (
        Index("ix_feed_jobs_listing", "listed", "listed_seq"),
        Index("ix_feed_jobs_expiry", "listed", "listed_until"),
    )

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    listed: Mapped[bool]
    listed_seq: Mapped[int] = mapped_column(BigId)
    city_code: Mapped[str] = mapped_column(String(4))
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The last day (Beijing) the job is shown: `valid_until`, else its publication day plus the posting
    # lifetime. Set with every event; None only on rows that were never listed.
    listed_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    # What province editions match workers on, out of the payload so an edition reads narrow rows.
    salary_max: Mapped[int] = mapped_column(Integer, server_default="0")
    dormitory: Mapped[bool] = mapped_column(server_default=false())
    age_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    age_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedChange(Base):
    """The feed's version is the last change's `seq`; SSE event ids are these numbers."""

    __tablename__ = "feed_changes"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    city_code: Mapped[str] = mapped_column(String(4))
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- snapshots ----------------------------------------------------------------------------------------------


class Snapshot(Base):
    """A numbered, immutable publication of every open job at one feed version.

    `slot` is the scheduled instant a snapshot was cut for (unique: replicas racing for the same slot
    publish it once); None for one published on request."""

    __tablename__ = "feed_snapshots"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    feed_version: Mapped[int] = mapped_column(BigId)
    jobs: Mapped[int] = mapped_column(Integer)
    valid_on: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(12))
    slot: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when its content was dropped (beyond the retention); the number and counts stay.
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SnapshotJob(Base):
    """One job as a snapshot holds it: written once by INSERT … SELECT from `feed_jobs`, never changed."""

    __tablename__ = "feed_snapshot_jobs"

    snapshot_version: Mapped[int] = mapped_column(
        Integer, ForeignKey("feed_snapshots.version", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- province editions: the demand read model ---------------------------------------------------------------


class DemandWorker(Base):
    """A registered worker as far as fit counts need (PersonPayload has no personal data; this keeps less).

    An erased worker stays as a tombstone with nothing but the id, so a late event cannot bring them back."""

    __tablename__ = "feed_workers"
    __table_args__ = (Index("ix_feed_workers_province", "province_code", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(12))
    city_codes: Mapped[list[str]] = mapped_column(JSON)
    occupation_codes: Mapped[list[str]] = mapped_column(JSON)
    min_salary: Mapped[int | None] = mapped_column(Integer, nullable=True)
    needs_dormitory: Mapped[bool]
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    erased: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DemandRevision(Base):
    """Bumped with every change to a province's workers: editions cache on it and put it in their ETag."""

    __tablename__ = "feed_demand_revisions"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    revision: Mapped[int] = mapped_column(BigId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- webhooks -----------------------------------------------------------------------------------------------


class Subscription(Base):
    """A partner's or recruiter's webhook. `secret` is kept as given (it signs every delivery, so it cannot
    be hashed) and never leaves the service in a response."""

    __tablename__ = "feed_subscriptions"
    __table_args__ = (Index("ix_feed_subscriptions_list", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_sub: Mapped[str] = mapped_column(String(200), index=True)
    owner_role: Mapped[str] = mapped_column(String(12))
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    allow_private: Mapped[bool]
    active: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One feed change for one subscription; written with the change, so a restart loses nothing.

    `status`: pending (due at `next_attempt_at`), delivered, failed (attempts used up)."""

    __tablename__ = "feed_deliveries"
    __table_args__ = (
        Index("ix_feed_deliveries_due", "status", "next_attempt_at"),
        Index("ix_feed_deliveries_log", "subscription_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("feed_subscriptions.id", ondelete="CASCADE")
    )
    change_seq: Mapped[int] = mapped_column(BigId)
    event: Mapped[str] = mapped_column(String(20))
    job_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryAttempt(Base):
    """The delivery log: every try, with what the receiver answered or why it could not be reached."""

    __tablename__ = "feed_delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("feed_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)


from services.feed.live import models as live_models  # noqa: E402, F401  (the live board's tables)
