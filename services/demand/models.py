"""Demand's tables. Personal data lives only here, encrypted; look-ups go through keyed hashes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.contracts import Employment
from libs.events.tables import platform_tables


def employment_of(how: str | None, where: str | None, region_code: str | None) -> Employment | None:
    """The stored columns as the contract's `Employment` (None when not employed)."""
    if how is None:
        return None
    return Employment.model_validate({"how": how, "where": where, "region_code": region_code})


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class Station(Base):
    """Read model of liaison stations (from station events): scope and province of each worker."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    partner_city_code: Mapped[str] = mapped_column(String(4))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Person(Base):
    """A worker. Name, ID number and phone are ciphertexts; `*_hash` are HMACs for de-duplication and look-up;
    after erasure all of them are gone and the row keeps only anonymous statistics."""

    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_station_list", "station_id", "created_at", "id"),
        Index("ix_persons_province_list", "province_code", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    demand_list_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    name_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_number_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18), nullable=True)
    phone_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(11), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    birth_year: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(6))
    birthplace_province: Mapped[str] = mapped_column(String(2))
    education: Mapped[str | None] = mapped_column(String(10), nullable=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_region: Mapped[bool] = mapped_column(Boolean, default=False)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    certificates: Mapped[list[str]] = mapped_column(JSON, default=list)
    speciality: Mapped[str | None] = mapped_column(Text, nullable=True)
    past_training: Mapped[str | None] = mapped_column(Text, nullable=True)
    # WorkSpellIn dicts, the employer's name included (never in events)
    work_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    intention: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_scope: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    status_since: Mapped[date] = mapped_column(Date)
    employment_how: Mapped[str | None] = mapped_column(String(16), nullable=True)
    employment_where: Mapped[str | None] = mapped_column(String(16), nullable=True)
    employment_region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    # the employer of a placement (统一社会信用代码), to compare with the social-insurance records
    employer_credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StatusChange(Base):
    """The employment history; kept (anonymous) after erasure, for the statistics."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_person", "person_id", "recorded_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(12))
    previous_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    since: Mapped[date] = mapped_column(Date)
    employment_how: Mapped[str | None] = mapped_column(String(16), nullable=True)
    employment_where: Mapped[str | None] = mapped_column(String(16), nullable=True)
    employment_region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    note_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def employment(self) -> Employment | None:
        return employment_of(self.employment_how, self.employment_where, self.employment_region_code)


class EarlyWarning(Base):
    """就业转失业 or a placement that ended: the station should call the worker."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_station", "station_id", "raised_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(30))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FollowUp(Base):
    """One follow-up visit (回访) of a placement, due some months after the start; the station records it."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        UniqueConstraint("placement_id", "months", name="one_visit_per_placement_and_month"),
        Index("ix_follow_ups_station", "station_id", "due_on", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    placement_id: Mapped[str] = mapped_column(String(36), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    job_id: Mapped[str] = mapped_column(String(36))
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # due | done | cancelled
    visited_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    still_employed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    contract_signed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    insurance_paid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    wages_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    problem_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DemandList(Base):
    """One imported roster (花名册) and what became of each row."""

    __tablename__ = "demand_lists"
    __table_args__ = (Index("ix_demand_lists_province", "province_code", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    filename: Mapped[str] = mapped_column(String(200))
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Lead(Base):
    """Someone who signed up on a live-stream board but is not a registered worker (yet): a call-back on the
    chosen station's list (a registered worker's sign-up is kept as a `registered` lead, for its consent). Name and phone are ciphertexts like a worker's; when the person registers, the lead
    turns `registered`, points at the worker and drops its own copy of the personal data (the worker's record
    is the one copy, and erasing the worker erases it)."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_station_list", "station_id", "created_at", "id"),
        Index("ix_leads_province_list", "province_code", "created_at", "id"),
        Index("ix_leads_phone", "phone_hash", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    stream_id: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(36))
    name_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone_masked: Mapped[str | None] = mapped_column(String(11), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # new | contacted | registered
    person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # the box ticked on the board: when, and the words next to it (kept when the lead registers; not personal
    # data). Empty only on leads from before the box existed.
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_scope: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LiveJob(Base):
    """Read model of jobs (from supply's job events), only what a live-stream sign-up needs: is the job open,
    and what to tell the station that calls the lead back."""

    __tablename__ = "live_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    open: Mapped[bool] = mapped_column(Boolean)
    headcount_left: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    employer_name: Mapped[str] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(4))


class InsuranceImport(Base):
    """One social-insurance contribution file (人社部门社保缴费数据) compared with the registered workers: what
    was found, which rows were refused. The ID numbers in it were hashed on arrival and are kept nowhere."""

    __tablename__ = "insurance_imports"
    __table_args__ = (Index("ix_insurance_imports_list", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    months: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    imported_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contribution(Base):
    """A registered worker's social-insurance month as the records show it (workers not registered here are
    counted, not kept)."""

    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("person_id", "month", name="one_record_per_person_and_month"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    employer_credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    paid: Mapped[bool] = mapped_column(Boolean)
    import_id: Mapped[str] = mapped_column(String(36))


from services.demand.notices import models as notice_models  # noqa: E402, F401  (the text messages' tables)
