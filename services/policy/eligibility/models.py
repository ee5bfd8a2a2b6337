"""Policy's tables for the eligible-for-policy lists: the anonymous facts the conditions read (kept from the
other services' events, as monitoring keeps its own: a person is the random id events carry), the occasions
they are assessed for, and the claims with their history and grants.

Imported at the end of services/policy/models.py, so that the policy metadata (and its migrations) include them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, Numeric, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from libs.db import UTCDateTime
from libs.events.tables import BigId
from services.policy.models import Base

# --- anonymous facts kept from the other services' events ---------------------------------------------------


class Station(Base):
    """Read model of liaison stations: the county and city a worker comes from."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str] = mapped_column(String(2))
    city_code: Mapped[str] = mapped_column(String(4))
    county_code: Mapped[str] = mapped_column(String(6))


class Worker(Base):
    """Read model of demand's workers: the random id and what the conditions read, nothing identifying."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_region: Mapped[bool] = mapped_column(Boolean, default=False)
    age: Mapped[int] = mapped_column(Integer)
    erased: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Employer(Base):
    """An employer's flags and city, from its jobs' events (every job carries them)."""

    __tablename__ = "employers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(4))
    assistance_base: Mapped[bool] = mapped_column(Boolean, default=False)
    caring: Mapped[bool] = mapped_column(Boolean, default=False)


class Job(Base):
    """Which employer a job is of (a placement's event may not say)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    employer_id: Mapped[str] = mapped_column(String(36))
    city_code: Mapped[str] = mapped_column(String(4))


class Placement(Base):
    """An occasion: a worker placed in a job. `recheck_on` is the next day time alone may change what it earns
    (a month more employed, an item coming into force); the sweep looks at it then, and whenever the catalogue
    has changed since `revision` (the number of catalogue versions when it was last assessed)."""

    __tablename__ = "placements"
    __table_args__ = (
        Index("ix_placements_person", "person_id"),
        Index("ix_placements_employer", "employer_id", "started_on"),
        Index("ix_placements_recheck", "recheck_on"),
        Index("ix_placements_revision", "revision"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    job_id: Mapped[str] = mapped_column(String(36))
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    agency_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recheck_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the catalogue it was last assessed against


class Training(Base):
    """An occasion: one enrolment in a programme, with the employer that ordered it (订单式培训)."""

    __tablename__ = "trainings"
    __table_args__ = (
        Index("ix_trainings_person", "person_id"),
        Index("ix_trainings_recheck", "recheck_on"),
        Index("ix_trainings_revision", "revision"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the enrolment's id
    person_id: Mapped[str] = mapped_column(String(36))
    base_id: Mapped[str] = mapped_column(String(36))
    programme_id: Mapped[str] = mapped_column(String(36))
    order_employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    enrolled_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recheck_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class EmployerYear(Base):
    """An occasion: an employer's calendar year, from its first placement that year."""

    __tablename__ = "employer_years"
    __table_args__ = (
        Index("ix_employer_years_recheck", "recheck_on"),
        Index("ix_employer_years_revision", "revision"),
    )

    employer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    recheck_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


# --- 拟享受政策对象清单 ----------------------------------------------------------------------------------------


class Eligibility(Base):
    """One beneficiary's claim under one item for one occasion: the facts that made it and the day it arose,
    and where the officer's work on it stands. The scope columns say who may see it."""

    __tablename__ = "eligibilities"
    __table_args__ = (
        UniqueConstraint("policy_code", "occasion_id", "beneficiary_id", name="uq_eligibility"),
        Index("ix_eligibilities_list", "eligible_on", "id"),
        Index("ix_eligibilities_station", "station_id", "eligible_on"),
        Index("ix_eligibilities_province", "province_code", "eligible_on"),
        Index("ix_eligibilities_city", "city_code", "eligible_on"),
        Index("ix_eligibilities_employer", "employer_id", "eligible_on"),
        Index("ix_eligibilities_base", "base_id", "eligible_on"),
        Index("ix_eligibilities_person", "person_id"),
        Index("ix_eligibilities_occasion", "occasion_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  # counts the changes the events say (EligibilityChanged)
    policy_code: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    occasion: Mapped[str] = mapped_column(String(20))
    occasion_id: Mapped[str] = mapped_column(String(80))
    beneficiary: Mapped[str] = mapped_column(String(20))
    beneficiary_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    period_key: Mapped[str] = mapped_column(String(80))
    station_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    base_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    eligible_on: Mapped[date] = mapped_column(Date)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    granted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EligibilityChange(Base):
    """The whole history of a claim: found, facts changed, withdrawn, notified, applied, granted, refused."""

    __tablename__ = "eligibility_changes"
    __table_args__ = (Index("ix_eligibility_changes_of", "eligibility_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    eligibility_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(
        String(20)
    )  # found | facts | withdrawn | restored | an officer's action
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Grant(Base):
    """What was granted, one row per item, person and period (per beneficiary where no person is concerned, an
    employer's year): the primary key is what makes a second grant impossible, whichever officer tries.
    以工代训 is once per person whichever employer hired them; the transport subsidy once per person a year."""

    __tablename__ = "grants"

    policy_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(36), primary_key=True)  # the person, else the beneficiary
    period_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    beneficiary_id: Mapped[str] = mapped_column(String(36))
    eligibility_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    granted_on: Mapped[date] = mapped_column(Date)
