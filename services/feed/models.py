"""Feed's tables: the current view of open jobs and the numbered change log that versions and streams it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import BigId, platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class FeedJob(Base):
    """One row per job ever seen; `listed` says whether it is in the feed now (closed ones stay as tombstones)."""

    __tablename__ = "feed_jobs"
    __table_args__ = (Index("ix_feed_jobs_listing", "listed", "listed_seq"),)

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    listed: Mapped[bool]
    listed_seq: Mapped[int] = mapped_column(BigId)
    city_code: Mapped[str] = mapped_column(String(4))
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
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
