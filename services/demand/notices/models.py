"""Demand's tables for service text messages: each notice with where it stands, and who asked for no more.

Imported at the end of services/demand/models.py, so that demand's metadata (and its migrations) include them.
A notice names its worker by id and keeps the template's parameters (a policy's name, a departure time), never
a phone: the phone is read and decrypted at the moment of sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from libs.db import UTCDateTime
from services.demand.models import Base


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_due", "status", "not_before"),
        Index("ix_notices_station", "station_id", "created_at", "id"),
        Index("ix_notices_person", "person_id", "sent_at"),
        Index("ix_notices_provider_id", "provider_message_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    station_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    urgent: Mapped[bool] = mapped_column(Boolean)
    # queued -> sent -> delivered | undelivered; or suppressed (opted out, no phone), failed (tries used up)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsOptOut(Base):
    """A phone that asked for no more messages (回复 TD 退订, or told its station): by keyed hash, so that the
    same number registered again stays opted out."""

    __tablename__ = "sms_opt_outs"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # reply | station
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
