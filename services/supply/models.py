"""Supply's tables: employers, jobs, supply-list imports (plus the shared outbox, inbox, idempotency keys)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    city_code: Mapped[str] = mapped_column(String(4))
    assistance_base: Mapped[bool] = mapped_column(Boolean, default=False)
    caring_employer: Mapped[bool] = mapped_column(Boolean, default=False)
    # What follow-up visits found (回访) since an admin last reviewed it: the employer-risk signal admins see
    # and compliance uses (services/supply/risk.py).
    wage_arrears_reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    no_contract_reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    insurance_unpaid_reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_risk_report_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    risk_reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("headcount >= 1", name="headcount_positive"),
        CheckConstraint("filled >= 0 AND filled <= headcount", name="filled_within_headcount"),
        CheckConstraint("salary_min <= salary_max", name="salary_range"),
        Index("ix_jobs_list", "created_at", "id"),
        Index("ix_jobs_employer", "employer_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"))
    supply_list_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    city_code: Mapped[str] = mapped_column(String(4))
    headcount: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    salary_min: Mapped[int] = mapped_column(Integer)
    salary_max: Mapped[int] = mapped_column(Integer)
    age_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    age_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    education_min: Mapped[str | None] = mapped_column(String(20), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    certificates_required: Mapped[list[str]] = mapped_column(JSON, default=list)
    benefits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shift: Mapped[str | None] = mapped_column(String(40), nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    public_welfare: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    compliance: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    employer: Mapped[Employer] = relationship(lazy="joined")

    # What readers see of the employer and the headcount (libs/events/contracts.py `PublishedJob`).
    @property
    def employer_name(self) -> str:
        return self.employer.name

    @property
    def employer_credit_code(self) -> str:
        return self.employer.credit_code

    @property
    def employer_assistance_base(self) -> bool:
        return self.employer.assistance_base

    @property
    def employer_caring(self) -> bool:
        return self.employer.caring_employer

    @property
    def headcount_left(self) -> int:
        return self.headcount - self.filled


class SupplyList(Base):
    """One imported 岗位供给清单 file and what became of each row: one employer's, or a region's with an employer
    per row (`employer_id` None, `city_code` the importing bureau's city, None for an admin's)."""

    __tablename__ = "supply_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employer_id: Mapped[str | None] = mapped_column(ForeignKey("employers.id"), nullable=True)
    city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    employers_matched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    employers_created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    filename: Mapped[str] = mapped_column(String(200))
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskReport(Base):
    """A follow-up visit that found something wrong at an employer: kept once per visit (a repeated event
    counts nothing twice)."""

    __tablename__ = "risk_reports"

    follow_up_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    wage_arrears: Mapped[bool] = mapped_column(Boolean)
    no_contract: Mapped[bool] = mapped_column(Boolean)
    insurance_unpaid: Mapped[bool] = mapped_column(Boolean)
    visited_on: Mapped[date] = mapped_column(Date)
