"""Training's tables: bases, programmes, enrolments, and read models of persons and placements (plus the
shared outbox, inbox, idempotency keys)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)


class TrainingBase(Base):
    """劳务输出就业培训基地: in an origin province (often tied to a station) or in Jiangsu (often an employer's)."""

    __tablename__ = "training_bases"
    __table_args__ = (
        CheckConstraint("kind IN ('origin', 'jiangsu')", name="kind_known"),
        CheckConstraint(
            "(kind = 'jiangsu' AND province_code = '32') OR (kind = 'origin' AND province_code <> '32')",
            name="kind_matches_province",
        ),
        Index("ix_training_bases_list", "created_at", "id"),
        Index("ix_training_bases_province", "province_code", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str] = mapped_column(String(2))
    station_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Programme(Base):
    """A course at a base; with an order (订单式培训) an employer commits to hire some of its graduates.

    `seats_taken` is the capacity counter: enrolments take a seat with a conditional UPDATE, and the CHECK
    is the last line should any code path forget to."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint(
            "committed_hires IS NULL OR (committed_hires >= 0 AND committed_hires <= capacity)",
            name="committed_hires_within_capacity",
        ),
        Index("ix_programmes_list", "created_at", "id"),
        Index("ix_programmes_base", "base_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    base_id: Mapped[str] = mapped_column(ForeignKey("training_bases.id"))
    title: Mapped[str] = mapped_column(String(100))
    occupation_code: Mapped[str] = mapped_column(String(20))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    order_employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    order_job_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    committed_hires: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Enrolment(Base):
    """One person in one programme. `base_id` is copied from the programme so scope needs no join.

    `person_id` becomes NULL when the person is erased: the row still counts in the outcomes (which read
    only this table), but nothing in training links it to anyone any more. `employed_on` is the start of
    the first placement on or after `completed_on`, kept here for the same reason."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "person_id", name="uq_enrolments_programme_person"),
        CheckConstraint("status IN ('enrolled', 'completed')", name="status_known"),
        CheckConstraint("status <> 'completed' OR completed_on IS NOT NULL", name="completed_has_date"),
        CheckConstraint(
            "employed_on IS NULL OR employed_on >= completed_on", name="employed_after_completion"
        ),
        Index("ix_enrolments_list", "created_at", "id"),
        Index("ix_enrolments_programme", "programme_id", "created_at"),
        Index("ix_enrolments_person", "person_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"))
    base_id: Mapped[str] = mapped_column(String(36), index=True)
    person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    certificate: Mapped[str | None] = mapped_column(String(100), nullable=True)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    employed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Person(Base):
    """Read model of demand's workers: only what training needs (existence and scope), nothing identifying."""

    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_station", "station_id"),
        Index("ix_persons_province", "province_code"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ErasedPerson(Base):
    """Ids demand has erased, so that a late registered/updated event cannot bring a person back."""

    __tablename__ = "erased_persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Placement(Base):
    """Read model of matching's confirmed placements: every one, not just a person's first, so that someone
    placed before training and again after it counts as employed after training."""

    __tablename__ = "placements"

    placement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    job_id: Mapped[str] = mapped_column(String(36))
    start_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
