"""Matching's tables: read models of jobs and workers (from events), applications and placements, and the fits
of the factor weights to their outcomes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.contracts import JobPayload, PersonPayload
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class JobView(Base):
    """A job as supply last published it (`payload` is the JobPayload); closed jobs stay as tombstones."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_synced", "synced_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    employer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    headcount: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def job(self) -> JobPayload:
        """The stored payload as the contract it was written from; the row's status wins (a closed job's
        tombstone keeps its last published payload)."""
        return JobPayload.model_validate({**self.payload, "status": self.status})


class WorkerView(Base):
    """A worker as demand last described them (`payload` is the PersonPayload: no name, ID number or phone),
    plus what their completed trainings gave them and how many there were (`trainings`)."""

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_synced", "synced_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(String(36), index=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    trained_occupations: Mapped[list[str]] = mapped_column(JSON, default=list)
    trained_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    trained_certificates: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    trainings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def person(self) -> PersonPayload:
        """The stored payload as the contract it was written from (not for an erased worker: it holds none)."""
        return PersonPayload.model_validate(self.payload)

    @property
    def trained_lists(self) -> tuple[list[str], list[str], list[str]]:
        """What completed trainings gave: occupations, skills, certificates."""
        return list(self.trained_occupations), list(self.trained_skills), list(self.trained_certificates)


class Application(Base):
    """One worker for one job, from application to placement."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("person_id", "job_id", name="one_per_person_and_job"),
        Index("ix_applications_list", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    employer_id: Mapped[str] = mapped_column(String(36))
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(12))
    stream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when each step happened (the funnel's dates, kept here so that figures can be rebuilt from this table)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Placement(Base):
    __tablename__ = "placements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    employer_id: Mapped[str] = mapped_column(String(36))
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    start_date: Mapped[date] = mapped_column(Date)
    needs_transport: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(8))
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recommendation(Base):
    """A day on which a worker was shown recommended jobs: kept once a day, and told to monitoring then (its
    funnel counts the workers recommended in a range)."""

    __tablename__ = "recommendations"

    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recommended_on: Mapped[date] = mapped_column(Date, primary_key=True)
    jobs: Mapped[int] = mapped_column(Integer)


class WeightFit(Base):
    """One fit of the factor weights to the outcomes of placements (services/matching/learning.py), kept so that
    what the ranker used, when and why can be looked at later, and so that a restart starts from the last fit."""

    __tablename__ = "weight_fits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    outcomes: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    judged_on: Mapped[int] = mapped_column(Integer)
    auc_hand: Mapped[float | None] = mapped_column(Float, nullable=True)
    auc_learned: Mapped[float | None] = mapped_column(Float, nullable=True)
    better: Mapped[bool] = mapped_column(Boolean)
