"""Bus tables: trips and their bookings, and read models of stations, workers and placements (plus the shared
outbox, inbox, idempotency keys).

Seats are a counter on the trip (`seats_left`), taken with a conditional UPDATE and backed by a CHECK, so two
requests can never sell the last seat twice on either database. A worker holds one active booking per trip
and per placement: partial unique indexes, not code, keep that true under concurrency."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)

ACTIVE = "status IN ('confirmed', 'waitlisted', 'unserved')"


class Trip(Base):
    """One run of a direct bus (就业帮扶直通车) from a liaison station to one or more Jiangsu cities."""

    __tablename__ = "trips"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("seats_left >= 0 AND seats_left <= seats", name="seats_left_within_seats"),
        CheckConstraint("arrives_at > departs_at", name="arrives_after_departure"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        Index("ix_trips_station_departure", "origin_station_id", "departs_at"),
        Index("ix_trips_departure", "departs_at", "id"),
        Index("ix_trips_province_departure", "origin_province_code", "departs_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin_station_id: Mapped[str] = mapped_column(String(36))
    origin_province_code: Mapped[str] = mapped_column(String(2))
    destination_city_codes: Mapped[list[str]] = mapped_column(JSON)
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime)
    arrives_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seats: Mapped[int] = mapped_column(Integer)
    seats_left: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(100))
    operator_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    vehicle: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(50), nullable=True)
    pickup_point: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    cancel_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Booking(Base):
    """A worker's seat on a trip: `confirmed` holds a seat, `waitlisted` waits for one on that trip,
    `unserved` waits for a trip (no trip yet goes from the station to the city in time), `cancelled` is over.

    `station_id` and `province_code` are the worker's (scope); `employer_id` lets a group heading to the
    same employer travel together."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('confirmed', 'waitlisted', 'unserved', 'cancelled')", name="status_known"
        ),
        CheckConstraint("(status = 'unserved') = (trip_id IS NULL)", name="unserved_has_no_trip"),
        Index(
            "uq_bookings_active_trip_person",
            "trip_id",
            "person_id",
            unique=True,
            sqlite_where=text(f"{ACTIVE} AND trip_id IS NOT NULL"),
            postgresql_where=text(f"{ACTIVE} AND trip_id IS NOT NULL"),
        ),
        Index(
            "uq_bookings_active_placement",
            "placement_id",
            unique=True,
            sqlite_where=text(f"{ACTIVE} AND placement_id IS NOT NULL"),
            postgresql_where=text(f"{ACTIVE} AND placement_id IS NOT NULL"),
        ),
        # a waitlist is served in the order the requests arrived
        Index("ix_bookings_trip_queue", "trip_id", "status", "created_at", "id"),
        Index("ix_bookings_person", "person_id", "status"),
        Index("ix_bookings_station", "station_id", "created_at", "id"),
        Index("ix_bookings_unserved", "origin_station_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trip_id: Mapped[str | None] = mapped_column(ForeignKey("trips.id"), nullable=True)
    person_id: Mapped[str] = mapped_column(String(36))
    placement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    origin_station_id: Mapped[str] = mapped_column(String(36))
    destination_city_code: Mapped[str] = mapped_column(String(4))
    needed_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # request | placement | moved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Station(Base):
    """Read model of stations (`station.*`): where trips start, and whose province a station is in."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(2))
    county_code: Mapped[str] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean)


class Passenger(Base):
    """Read model of workers (`person.*`): only what scope needs. No name, ID number or phone: the manifest
    asks demand for those when it is printed."""

    __tablename__ = "passengers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)  # kept so a late event cannot bring it back


class Placement(Base):
    """Read model of placements (`placement.confirmed`): where a booked worker is heading, by when."""

    __tablename__ = "placements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    job_id: Mapped[str] = mapped_column(String(36))
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    needs_transport: Mapped[bool] = mapped_column(Boolean)
