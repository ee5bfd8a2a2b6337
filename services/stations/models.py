"""Stations' tables: the liaison stations (plus the shared outbox, inbox, idempotency keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class Station(Base):
    """A 定点劳务联络站 Jiangsu runs in an origin county, paired with one Jiangsu city."""

    __tablename__ = "stations"
    __table_args__ = (
        # Two stations of the same name in one county would be indistinguishable on a roster.
        UniqueConstraint("county_code", "name", name="uq_stations_county_name"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_stations_list", "created_at", "id"),
        Index("ix_stations_province_list", "province_code", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(2))
    city_code: Mapped[str] = mapped_column(String(4))
    county_code: Mapped[str] = mapped_column(String(6))
    partner_city_code: Mapped[str] = mapped_column(String(4))
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
