"""Feed's tables for the live-stream board: the station list of the sign-up form, and one row per stream with
the job the host pinned and the attribution counters. Ids and counts only: no person appears here.

Imported at the end of services/feed/models.py, so that the feed's metadata (and its migrations) include them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from libs.db import UTCDateTime
from services.feed.models import Base


class LiveStation(Base):
    """Read model of liaison stations (from station events): what the board's form offers as 户籍所在地联络站."""

    __tablename__ = "live_stations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    active: Mapped[bool] = mapped_column(Boolean)


class LiveStream(Base):
    """A live stream, known from its first page view, pin or counted event. `featured_version` grows with every
    pin or unpin, so open boards notice a change even when the same job is pinned again."""

    __tablename__ = "live_streams"

    stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    featured_job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    featured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    featured_version: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    signups: Mapped[int] = mapped_column(Integer, default=0)
    leads: Mapped[int] = mapped_column(Integer, default=0)
    applications: Mapped[int] = mapped_column(Integer, default=0)
    placements: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
