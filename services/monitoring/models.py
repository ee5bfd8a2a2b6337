"""Monitoring's tables: anonymous facts kept from events, and the cooperation agreements.

No name, ID number or phone reaches this database: a person is the random id the events carry (re-keyed to a
fresh random id when the worker is erased, so the facts stay in the figures but lead back to nobody) plus the
attributes the figures group by. Each fact row copies the worker's scope columns (station, origin province,
city and county), so every figure is one scan of one table with no join."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, Numeric, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import UTCDateTime, new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)

SCOPES = {"all": (), "station": ("station_id",), "province": ("province_code",)}
CITY = ("jiangsu_city_code",)  # a bureau's scope, on the facts of work in a Jiangsu city


def by_scope(name: str, *columns: str, city: bool = False) -> tuple[Index, ...]:
    """One index per scope a figure is asked in (all, a station, a province; a Jiangsu city for the facts of
    work there), led by it and holding every column the figure reads, so that SQLite answers from the index
    alone."""
    scopes = {**SCOPES, "city": CITY} if city else SCOPES
    return tuple(Index(f"ix_{name}_{scope}", *lead, *columns) for scope, lead in scopes.items())


class Station(Base):
    """Read model of liaison stations: where a worker comes from (the station's county, city, province)."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(2))
    city_code: Mapped[str] = mapped_column(String(4))
    county_code: Mapped[str] = mapped_column(String(6))


class Job(Base):
    """Read model of jobs: what a placement's industry, occupation group and Jiangsu city are."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    employer_id: Mapped[str] = mapped_column(String(36))
    industry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    occupation_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    city_code: Mapped[str] = mapped_column(String(4))


class Origin:
    """The worker's scope columns, copied onto every fact about them."""

    station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    city_code: Mapped[str] = mapped_column(String(4))
    county_code: Mapped[str] = mapped_column(String(6))


class WorkedIn:
    """The Jiangsu cities a worker has worked in (",3205,3202,"), copied onto the facts kept per worker: a
    city's bureau counts them (a scan with LIKE, as a trip's destinations). Kept by facts.settle."""

    jiangsu_cities: Mapped[str] = mapped_column(String(60), default="", server_default="")


class Worker(Origin, WorkedIn, Base):
    """One registered worker, anonymous: the attributes the figures need and the current status."""

    __tablename__ = "workers"
    __table_args__ = (
        Index("ix_workers_registered", "registered_on", "jiangsu_cities", "station_id"),
        Index("ix_workers_station_registered", "station_id", "registered_on"),
        Index("ix_workers_province_registered", "province_code", "registered_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    categories: Mapped[str] = mapped_column(String(120))  # ",poverty_alleviated,dibao," (LIKE-searchable)
    key_region: Mapped[bool] = mapped_column(Boolean)
    registered_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    status_since: Mapped[date] = mapped_column(Date)
    employment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)


# The funnel's workers: each application and placement keeps the day of the worker's previous row that counts
# for the same step (offered, kept, ...), among the worker's rows, in the row's channel, in its Jiangsu city, or
# both; so "workers in a range" is a count of the rows first in it (facts.settle keeps them).
STEPS = {"applications": ("", "offered_", "accepted_"), "placements": ("", "kept_")}
WITHIN = {  # the rows a row is compared with: the worker's ... in the same columns
    "": (),
    "in_channel_": ("channel",),
    "in_city_": CITY,
    "in_city_channel_": (*CITY, "channel"),
}


def previous(step: str, within: str) -> str:
    return f"previous_{step}{within}on"


def firsts(table: str, *withins: str) -> tuple[str, ...]:
    return tuple(previous(step, within) for within in withins for step in STEPS[table])


FIRSTS = {
    table: firsts(table, "", "in_channel_") for table in STEPS
}  # a scope that keeps all a worker's rows
CITY_FIRSTS = {table: firsts(table, "in_city_", "in_city_channel_") for table in STEPS}  # a Jiangsu city's
CHECK_COLUMNS = tuple(
    f"{check}_{part}" for check in ("day90", "month3", "month6", "month12") for part in ("on", "employed")
)
REPORT_BREAKDOWNS = ("province_code", "jiangsu_city_code", "categories", "how", "where")


class Spell(Origin, Base):
    """One stretch of employment: from the day a worker's status turned employed to the day it turned to
    something else (`ended_on`, exclusive; None while it lasts). Employed on day D: started_on <= D < ended_on."""

    __tablename__ = "spells"
    __table_args__ = (
        Index("ix_spells_person", "person_id", "started_on"),
        # A figure reads the dates of its scope's spells from one of these, without a row look-up:
        Index("ix_spells_dates", "started_on", "ended_on"),
        *by_scope("spells_ended", "ended_on", "ended_to", "days_to_next_job", city=True),
        Index("ix_spells_station_dates", "station_id", "started_on", "ended_on"),
        Index("ix_spells_province_dates", "province_code", "started_on", "ended_on"),
        # the monthly report's breakdowns (report.SECTIONS), counted in one pass in this index's order:
        Index("ix_spells_report", *REPORT_BREAKDOWNS, "started_on", "ended_on"),
        Index("ix_spells_report_city", *dict.fromkeys((*CITY, *REPORT_BREAKDOWNS)), "started_on", "ended_on"),
        # and a cooperation agreement's workers who started work in its city (who they are, where from):
        Index(
            "ix_spells_jiangsu_city_dates",
            "jiangsu_city_code",
            "started_on",
            "ended_on",
            "province_code",
            "person_id",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    categories: Mapped[str] = mapped_column(String(120))
    key_region: Mapped[bool] = mapped_column(Boolean)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ended_to: Mapped[str | None] = mapped_column(String(12), nullable=True)  # the status that followed
    how: Mapped[str] = mapped_column(String(16))
    where: Mapped[str | None] = mapped_column(String(16), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    jiangsu_city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    placement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    occupation_group: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Days from this spell's end to the worker's next start (re-employment), kept by facts.settle:
    days_to_next_job: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Placement(Origin, Base):
    """A placement through the platform: start, end, the Jiangsu city and how the application came."""

    __tablename__ = "placements"
    __table_args__ = (
        Index("ix_placements_person", "person_id"),
        *by_scope(
            "placements_funnel", "channel", "started_on", "day90_on", "day90_employed", *FIRSTS["placements"]
        ),
        Index(
            "ix_placements_funnel_city",
            *CITY,
            "channel",
            "started_on",
            "day90_on",
            "day90_employed",
            *CITY_FIRSTS["placements"],
        ),
        *by_scope("placements_cohorts", "cohort", *CHECK_COLUMNS, city=True),
        *by_scope("placements_ended", "ended_on", "tenure_days", city=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    job_id: Mapped[str] = mapped_column(String(36))
    employer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    jiangsu_city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    channel: Mapped[str] = mapped_column(String(12))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    tenure_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # from start to end, once ended
    # When the retention checks fall (computed once here, so that every figure stays one portable query):
    cohort: Mapped[str] = mapped_column(String(7))  # "2026-11", the month it started
    day90_on: Mapped[date] = mapped_column(Date)
    month3_on: Mapped[date] = mapped_column(Date)
    month6_on: Mapped[date] = mapped_column(Date)
    month12_on: Mapped[date] = mapped_column(Date)
    # Whether the worker was employed (in any job) on each check's day, kept by facts.settle as spells change:
    day90_employed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    month3_employed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    month6_employed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    month12_employed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The start of the worker's previous placement (all, kept at 90 days; among all theirs, in this channel, in
    # this Jiangsu city, in both): see STEPS and WITHIN
    previous_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_kept_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_kept_in_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_city_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_kept_in_city_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_city_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_kept_in_city_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Application(Origin, Base):
    """An application and how far it went; the dates of each step, for the funnel."""

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_person", "person_id", "submitted_on"),
        Index(
            "ix_applications_funnel_city",
            *CITY,
            "channel",
            "submitted_on",
            "offered_on",
            "accepted_on",
            *CITY_FIRSTS["applications"],
        ),
        *by_scope(
            "applications_funnel",
            "channel",
            "submitted_on",
            "offered_on",
            "accepted_on",
            *FIRSTS["applications"],
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    jiangsu_city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    channel: Mapped[str] = mapped_column(String(12))
    submitted_on: Mapped[date] = mapped_column(Date)
    offered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    declined_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The day the worker's previous application was submitted (of all, of those offered, of those accepted; among
    # all theirs, in this channel, in this Jiangsu city, in both): see STEPS and WITHIN
    previous_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_offered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_offered_in_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_accepted_in_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_city_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_offered_in_city_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_accepted_in_city_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_in_city_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_offered_in_city_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    previous_accepted_in_city_channel_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Warning(Origin, WorkedIn, Base):
    """An early warning: when raised, when resolved."""

    __tablename__ = "warnings"
    __table_args__ = (
        Index("ix_warnings_person", "person_id"),
        *by_scope("warnings_kinds", "kind", "raised_on", "resolved_on", "days_to_resolve", "jiangsu_cities"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    raised_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    days_to_resolve: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FollowUp(Origin, Base):
    """A follow-up visit a placement owes (due `months` after the start) and, once recorded, its date; in the
    placement's Jiangsu city."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_placement", "placement_id"),
        *by_scope("follow_ups_due", "due_on", "visited_on", "cancelled_on", city=True),
    )

    id: Mapped[str] = mapped_column(String(60), primary_key=True)  # placement id + months
    placement_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(36))
    jiangsu_city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    visited_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    cancelled_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Training(Origin, WorkedIn, Base):
    """An enrolment at a base: enrolled, completed, and the first job started after completion."""

    __tablename__ = "trainings"
    __table_args__ = (
        Index("ix_trainings_enrolled", "enrolled_on"),
        Index("ix_trainings_person", "person_id"),
        *by_scope(
            "trainings_programmes",
            "base_id",
            "programme_id",
            "enrolled_on",
            "completed_on",
            "employed_in_window",
            "jiangsu_cities",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    base_id: Mapped[str] = mapped_column(String(36))
    programme_id: Mapped[str] = mapped_column(String(36))
    enrolled_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    window_ends_on: Mapped[date | None] = mapped_column(
        Date, nullable=True
    )  # employed within 6 months by then
    employed_in_window: Mapped[bool] = mapped_column(  # a job started within it: kept by facts.settle
        Boolean, default=False, server_default=false()
    )


class Recommendation(Origin, WorkedIn, Base):
    """A day on which a worker was shown recommended jobs, and the worker's previous such day (kept by
    facts.recommend: "workers recommended in a range" is a count of the days first in it)."""

    __tablename__ = "recommendations"
    __table_args__ = (
        Index("ix_recommendations_person", "person_id", "recommended_on"),
        *by_scope("recommendations_funnel", "recommended_on", "previous_on", "jiangsu_cities"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)  # person id + day
    person_id: Mapped[str] = mapped_column(String(36))
    recommended_on: Mapped[date] = mapped_column(Date)
    previous_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Trip(Base):
    """A direct-bus trip: seats and when it leaves (its scope is its origin station)."""

    __tablename__ = "trips"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    origin_station_id: Mapped[str] = mapped_column(String(36))
    province_code: Mapped[str] = mapped_column(String(2))
    destinations: Mapped[str] = mapped_column(String(200))  # ",3205,3206,"
    departs_on: Mapped[date] = mapped_column(Date)
    seats: Mapped[int] = mapped_column(Integer)
    seats_left: Mapped[int] = mapped_column(Integer)


class Booking(Origin, Base):
    """A seat asked for: confirmed on a trip, waitlisted, cancelled or unserved."""

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_at", "booked_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12))
    trip_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    jiangsu_city_code: Mapped[str] = mapped_column(String(4))
    booked_on: Mapped[date] = mapped_column(Date)
    departs_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    at: Mapped[datetime] = mapped_column(
        UTCDateTime
    )  # the newest event's instant: an older one changes nothing


class Agreement(Base):
    """人力资源合作框架协议: a Jiangsu city and a partner region, with yearly targets."""

    __tablename__ = "agreements"
    __table_args__ = (Index("ix_agreements_list", "year", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    jiangsu_city_code: Mapped[str] = mapped_column(String(4))
    partner_region_code: Mapped[str] = mapped_column(String(6))  # a province (2), city (4) or county (6)
    year: Mapped[int] = mapped_column(Integer)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    target_employed: Mapped[int] = mapped_column(Integer)
    target_trained: Mapped[int] = mapped_column(Integer)
    target_carried: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PolicyClaim(Base):
    """A claim on policy's eligible-for-policy lists (拟享受政策对象清单), as its events say where it stands: for
    the monthly report's totals per item and region. The worker's scope columns come with the event; an
    employer's claim has only the Jiangsu city."""

    __tablename__ = "policy_claims"
    __table_args__ = (
        Index("ix_policy_claims_eligible", "eligible_on"),
        Index("ix_policy_claims_granted", "granted_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    policy_code: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(100))
    beneficiary: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    eligible_on: Mapped[date] = mapped_column(Date)
    granted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    station_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    jiangsu_city_code: Mapped[str | None] = mapped_column(String(4), nullable=True)


class PublishedReport(Base):
    """A month whose dispatch report has been published (one row per month: the guard across replicas)."""

    __tablename__ = "published_reports"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
