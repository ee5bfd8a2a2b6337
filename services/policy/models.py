"""Policy's tables: the catalogue (each item's current version and every version before it).

An item's content is stored as its `PolicyItem` JSON, declared once in schemas.py; the columns beside it are
the ones the public list filters by, copied from that JSON when it is saved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class PolicyRow(Base):
    """政策清单 item, as it is now."""

    __tablename__ = "policies"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    beneficiary: Mapped[str] = mapped_column(String(20))
    groups: Mapped[str] = mapped_column(String(200))  # ",poverty_alleviated,rural_low_income," (LIKE '%,x,%')
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    item: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PolicyVersionRow(Base):
    """The audit trail: every version an item had, who saved it, when and why. Never changed once written."""

    __tablename__ = "policy_versions"
    __table_args__ = (Index("ix_policy_versions_changed", "changed_at"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500))


from services.policy.eligibility import models as eligibility_models  # noqa: E402, F401  (the lists' tables)
