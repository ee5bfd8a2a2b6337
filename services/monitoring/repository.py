"""The figures' queries: each one pass over an index of one fact table, portable between SQLite and PostgreSQL
(dates are compared, never computed, in SQL: what a rule needs is stored on the fact when it arrives or when the
worker's timeline changes)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from services.monitoring.models import (
    Agreement,
    Application,
    Booking,
    FollowUp,
    Placement,
    PolicyClaim,
    Recommendation,
    Spell,
    Station,
    Training,
    Trip,
    Warning,
    Worker,
    previous,
)


class unindexed(ColumnElement[Any]):
    """A column SQLite must read rather than look up (`+column`, its documented way to keep a term off an
    index): when most rows qualify, a scan beats a look-up per row, and SQLite's planner, without row-count
    statistics per range, prefers the index. Other databases plan by their statistics and see the column."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 - SQLAlchemy's shape

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any]) -> None:
        self.column = column if isinstance(column, ColumnElement) else column.expression
        self.type = self.column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(unindexed, "sqlite")
def _unary_plus(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


@dataclass(frozen=True)
class Scope:
    """The facts a caller may count: None means no restriction on that column. `jiangsu_city` (a bureau's)
    keeps facts of work in that city, and of workers who worked there."""

    station_ids: Sequence[str] | None = None
    province_codes: Sequence[str] | None = None
    jiangsu_city: str | None = None
    narrowed: dict[str, str] = field(default_factory=dict)  # the request's own filters, within the scope

    @property
    def whole_workers(self) -> bool:
        """Whether the scope keeps all of a worker's facts or none (a Jiangsu city keeps the work done there)."""
        return self.jiangsu_city is None and "city_code" not in self.narrowed

    def of(self, model: Any) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        station_ids = self.station_ids
        if "station_id" in self.narrowed:
            station_ids = [self.narrowed["station_id"]]
        if station_ids is not None:
            column = model.origin_station_id if model is Trip else model.station_id
            conditions.append(column.in_(station_ids))
        for codes in (
            self.province_codes,
            [self.narrowed["province_code"]] if "province_code" in self.narrowed else None,
        ):
            if codes is not None:
                conditions.append(model.province_code.in_(codes))
        for city in (self.jiangsu_city, self.narrowed.get("city_code")):
            if city is not None:
                conditions.append(_in_city(model, city))
        return and_(true(), *conditions)


def _in_city(model: Any, city: str) -> ColumnElement[bool]:
    """Facts of work in the city, or of workers who worked there (a worker, their warnings, trainings)."""
    if model is Trip:
        return Trip.destinations.like(f"%,{city},%")
    if hasattr(model, "jiangsu_city_code"):
        return model.jiangsu_city_code == city  # type: ignore[no-any-return]
    return model.jiangsu_cities.like(f"%,{city},%")  # type: ignore[no-any-return]


def employed_on(day: date, model: Any = Spell) -> ColumnElement[bool]:
    return and_(model.started_on <= day, or_(model.ended_on.is_(None), model.ended_on > day))


def _count_if(condition: ColumnElement[bool]) -> Any:
    """Rows meeting the condition (SQL's aggregate FILTER: cheaper per row in SQLite than a sum of CASE)."""
    return func.count().filter(condition)


async def _one_row(session: AsyncSession, query: Select[Any]) -> Sequence[int]:
    return [int(value) for value in (await session.execute(query)).one()]


# --- 就业规模 ---------------------------------------------------------------------------------------------------


async def _by_day(session: AsyncSession, scope: Scope, column: Any) -> list[tuple[date, int]]:
    """How many spells start (or end) on each day, read from an index led by the scope that holds the date."""
    query = select(column, func.count()).where(scope.of(Spell)).group_by(column)
    return sorted((day, int(count)) for day, count in (await session.execute(query)).all() if day is not None)


def _running(counts: list[tuple[date, int]], days: Sequence[date]) -> list[int]:
    """For each of `days`, the counts on or before it."""
    totals = list(accumulate(count for _, count in counts))
    edges = [day for day, _ in counts]
    return [totals[index - 1] if (index := bisect_right(edges, day)) else 0 for day in days]


async def employed_series(
    session: AsyncSession, scope: Scope, days: Sequence[date], months: Sequence[tuple[date, date]]
) -> tuple[list[int], list[int]]:
    """Employed on each of `days` (spells started by then less those ended by then: a spell ends after it
    starts), and spells started within each of `months` (first, last day), from two day histograms."""
    starts = await _by_day(session, scope, Spell.started_on)
    ends = await _by_day(session, scope, Spell.ended_on)
    stock = [
        started - ended for started, ended in zip(_running(starts, days), _running(ends, days), strict=True)
    ]
    firsts = _running(starts, [first - timedelta(days=1) for first, _ in months])
    lasts = _running(starts, [last for _, last in months])
    return stock, [last - first for first, last in zip(firsts, lasts, strict=True)]


DIMENSIONS: dict[str, Any] = {
    "province": Spell.province_code,
    "city": Spell.city_code,
    "county": Spell.county_code,
    "station": Spell.station_id,
    "jiangsu_city": Spell.jiangsu_city_code,
    "category": Spell.categories,  # ",a,b," split into each category: a worker counts in each of theirs
    "key_region": Spell.key_region,
    "industry": Spell.industry,
    "occupation_group": Spell.occupation_group,
    "where": Spell.where,
    "how": Spell.how,
}


async def employed_by(
    session: AsyncSession, scope: Scope, day: date, dimensions: Sequence[str]
) -> dict[str, list[tuple[Any, int]]]:
    """Employed on `day` broken down by each dimension, in one pass: the dates are read, not looked up (most
    spells started by any day; an index range over them costs a row look-up each)."""
    keys = [DIMENSIONS[name] for name in dimensions]
    query = (
        select(*keys, func.count())
        .where(
            scope.of(Spell),
            unindexed(Spell.started_on) <= day,
            or_(Spell.ended_on.is_(None), unindexed(Spell.ended_on) > day),
        )
        .group_by(*keys)
    )
    totals: dict[str, Counter[Any]] = {name: Counter() for name in dimensions}
    for *values, count in (await session.execute(query)).all():
        for name, value in zip(dimensions, values, strict=True):
            for key in value.strip(",").split(",") if name == "category" and value else [value]:
                totals[name][key] += int(count)
    if "category" in totals:
        totals["category"].pop("", None)
        totals["category"].pop(None, None)
    return {name: list(counts.items()) for name, counts in totals.items()}


# --- 稳定就业 ---------------------------------------------------------------------------------------------------

RETENTION_CHECKS = {  # each check's day, and whether the worker was employed on it (kept by facts.settle)
    "day90": (Placement.day90_on, Placement.day90_employed),
    "month3": (Placement.month3_on, Placement.month3_employed),
    "month6": (Placement.month6_on, Placement.month6_employed),
    "month12": (Placement.month12_on, Placement.month12_employed),
}


async def retention_cohorts(
    session: AsyncSession, scope: Scope, cohorts: Sequence[str], today: date
) -> dict[str, dict[str, int]]:
    """Per start month: placed, and for each check both how many have reached it and how many were employed."""
    columns: list[Any] = [Placement.cohort, func.count()]
    for day, employed in RETENTION_CHECKS.values():
        columns.append(_count_if(day <= today))
        columns.append(_count_if(and_(day <= today, employed)))
    query = (
        select(*columns).where(scope.of(Placement), Placement.cohort.in_(cohorts)).group_by(Placement.cohort)
    )
    figures: dict[str, dict[str, int]] = {}
    for row in (await session.execute(query)).all():
        values = [int(value) for value in row[1:]]
        named = {"placed": values[0]}
        for index, name in enumerate(RETENTION_CHECKS):
            named[f"{name}_due"], named[f"{name}_employed"] = values[1 + 2 * index], values[2 + 2 * index]
        figures[row[0]] = named
    return figures


Histogram = list[tuple[int | None, int]]  # (days, how many), the days None where there are none


async def _histogram(session: AsyncSession, column: Any, *where: ColumnElement[bool]) -> Histogram:
    query = select(column, func.count()).where(*where).group_by(column)
    return [(days, int(count)) for days, count in (await session.execute(query)).all()]


async def tenures(session: AsyncSession, scope: Scope, first: date, last: date) -> Histogram:
    """How many days the placements that ended within the range lasted."""
    ended = Placement.ended_on
    return await _histogram(
        session, Placement.tenure_days, scope.of(Placement), ended >= first, ended <= last
    )


async def job_losses(session: AsyncSession, scope: Scope, first: date, last: date) -> Histogram:
    """The employed-to-unemployed transitions in the range, by the days to the worker's next job (None: none)."""
    ended = Spell.ended_on
    return await _histogram(
        session,
        Spell.days_to_next_job,
        scope.of(Spell),
        ended >= first,
        ended <= last,
        Spell.ended_to.in_(("unemployed", "seeking")),
    )


# --- 服务漏斗 ---------------------------------------------------------------------------------------------------


async def registered(
    session: AsyncSession, scope: Scope, first: date, last: date, by_station: bool
) -> dict[str | None, int]:
    return await _workers(session, scope, Worker, Worker.registered_on, first, last, by_station)


async def recommended(
    session: AsyncSession, scope: Scope, first: date, last: date, by_station: bool
) -> dict[str | None, int]:
    """Workers shown recommended jobs in the range: their days first in it (the previous one before it)."""
    previous = Recommendation.previous_on
    first_in_range = or_(previous.is_(None), previous < first)
    day = Recommendation.recommended_on
    return await _workers(session, scope, Recommendation, day, first, last, by_station, first_in_range)


async def _workers(
    session: AsyncSession,
    scope: Scope,
    model: Any,
    day: Any,
    first: date,
    last: date,
    by_station: bool,
    *where: ColumnElement[bool],
) -> dict[str | None, int]:
    """The rows of a table kept per worker with their day in the range: in all, or per station."""
    key = model.station_id if by_station else None
    columns = [key, func.count()] if key is not None else [func.count()]
    query = select(*columns).where(scope.of(model), day >= first, day <= last, *where)
    if key is not None:
        query = query.group_by(key)
        return {row[0]: int(row[1]) for row in (await session.execute(query)).all()}
    return {None: int((await session.execute(query)).scalar_one())}


Steps = tuple[list[int], dict[str | None, list[int]]]  # workers at each step: in all, and per group


@dataclass(frozen=True)
class Step:
    """A funnel step counted over a fact table: the rows that reach it, and its name in the columns that hold
    the day of the worker's previous such row (models.STEPS: facts.settle keeps them)."""

    reached: ColumnElement[bool]
    name: str


async def _steps(
    session: AsyncSession,
    model: Any,
    scope: Scope,
    day: Any,
    first: date,
    last: date,
    group: Any,
    steps: Sequence[Step],
) -> Steps:
    """Workers with a row in the range at each step: the rows first in the range among the worker's, counted in
    one pass. A worker counts in one station only, so the stations add up to the whole; a worker may come
    through several channels, whose rows say which is the first in each channel, and the channels' firsts in
    all add up to the whole. A Jiangsu city keeps a worker's rows of work there: their firsts are among those."""
    within, in_channel = ("", "in_channel_") if scope.whole_workers else ("in_city_", "in_city_channel_")

    def firsts(step: Step, where: str) -> Any:
        before = getattr(model, previous(step.name, where))
        return _count_if(and_(step.reached, or_(before.is_(None), before < first)))

    in_all = [firsts(step, within) for step in steps]
    in_group = [firsts(step, in_channel) for step in steps] if group is model.channel else []
    keys = [] if group is None else [group]
    query = select(*keys, *in_all, *in_group).where(scope.of(model), day >= first, day <= last)
    rows = (await session.execute(query.group_by(*keys))).all()
    width, n = len(keys), len(steps)
    total = [sum(int(row[width + index]) for row in rows) for index in range(n)]
    groups = {
        row[0]: [int(value) for value in (row[width + n :] if in_group else row[width : width + n])]
        for row in rows
    }
    return total, groups


async def application_steps(
    session: AsyncSession, scope: Scope, first: date, last: date, group: Any
) -> Steps:
    """Workers who applied, were offered and accepted, among applications submitted in the range."""
    steps = [
        Step(true(), ""),
        Step(Application.offered_on.is_not(None), "offered_"),
        Step(Application.accepted_on.is_not(None), "accepted_"),
    ]
    return await _steps(session, Application, scope, Application.submitted_on, first, last, group, steps)


async def placement_steps(
    session: AsyncSession, scope: Scope, first: date, last: date, group: Any, today: date
) -> Steps:
    """Workers placed in the range, and of them those still employed 90 days after the start."""
    steps = [
        Step(true(), ""),
        Step(and_(Placement.day90_on <= today, Placement.day90_employed), "kept_"),
    ]
    return await _steps(session, Placement, scope, Placement.started_on, first, last, group, steps)


# --- 培训 -------------------------------------------------------------------------------------------------------


async def training_by_programme(
    session: AsyncSession, scope: Scope, first: date, last: date
) -> list[tuple[str, str, int, int, int]]:
    """Per base and programme: enrolled in the range, completed in the range, and of those completed, employed
    within six months of completing (a job started from the completion day to six months later)."""
    completed = and_(Training.completed_on >= first, Training.completed_on <= last)
    query = (
        select(
            Training.base_id,
            Training.programme_id,
            _count_if(and_(Training.enrolled_on >= first, Training.enrolled_on <= last)),
            _count_if(completed),
            _count_if(and_(completed, Training.employed_in_window)),
        )
        .where(scope.of(Training))
        .group_by(Training.base_id, Training.programme_id)
    )
    rows = (await session.execute(query)).all()
    return [(base, programme, int(a), int(b), int(c)) for base, programme, a, b, c in rows if a or b]


# --- 政策落实 ----------------------------------------------------------------------------------------------------

CLAIM_PENDING = ("eligible", "notified", "applied")


async def policy_claims(
    session: AsyncSession, scope: Scope, first: date, last: date
) -> list[tuple[str, str, str | None, int, int, Decimal, int]]:
    """Per item and region (the worker's province, else the employer's Jiangsu city): claims that arose in the
    range (not withdrawn), grants in the range and their amount, and claims still waiting (arisen by the range's
    end, not yet granted or refused)."""
    region = func.coalesce(PolicyClaim.province_code, PolicyClaim.jiangsu_city_code)
    granted = and_(PolicyClaim.granted_on >= first, PolicyClaim.granted_on <= last)
    query = (
        select(
            PolicyClaim.policy_code,
            PolicyClaim.policy_name,
            region,
            _count_if(
                and_(
                    PolicyClaim.eligible_on >= first,
                    PolicyClaim.eligible_on <= last,
                    PolicyClaim.status != "withdrawn",
                )
            ),
            _count_if(granted),
            func.coalesce(func.sum(PolicyClaim.amount).filter(granted), 0),
            _count_if(and_(PolicyClaim.status.in_(CLAIM_PENDING), PolicyClaim.eligible_on <= last)),
        )
        .where(scope.of(PolicyClaim))
        .group_by(PolicyClaim.policy_code, PolicyClaim.policy_name, region)
        .order_by(PolicyClaim.policy_code, region)
    )
    rows = (await session.execute(query)).all()
    return [
        (code, name, where, int(a), int(b), Decimal(str(amount)), int(c))
        for code, name, where, a, b, amount, c in rows
        if a or b or c
    ]


# --- 直通车 -----------------------------------------------------------------------------------------------------


async def bus_figures(
    session: AsyncSession, scope: Scope, first: date, last: date, today: date
) -> dict[str, int]:
    trips = and_(Trip.departs_on >= first, Trip.departs_on <= last, Trip.status != "cancelled")
    trip_row = await _one_row(
        session, select(func.count(), func.coalesce(func.sum(Trip.seats), 0)).where(scope.of(Trip), trips)
    )
    on_trip = Trip.__table__.alias("trip")
    departed = exists().where(
        on_trip.c.id == Booking.trip_id, on_trip.c.status != "cancelled", on_trip.c.departs_on <= today
    )
    in_range = and_(Booking.departs_on >= first, Booking.departs_on <= last)
    booking_row = await _one_row(
        session,
        select(
            _count_if(and_(Booking.status == "confirmed", in_range)),
            _count_if(and_(Booking.status == "confirmed", in_range, departed)),
            _count_if(
                and_(Booking.status == "unserved", Booking.booked_on >= first, Booking.booked_on <= last)
            ),
            _count_if(Booking.status == "waitlisted"),
        ).where(scope.of(Booking)),
    )
    return {
        "trips": trip_row[0],
        "seats": trip_row[1],
        "seats_taken": booking_row[0],
        "carried": booking_row[1],
        "unserved": booking_row[2],
        "waitlisted": booking_row[3],
    }


# --- 预警 -------------------------------------------------------------------------------------------------------


async def warnings_by_kind(
    session: AsyncSession, scope: Scope, first: date, last: date, on: date
) -> list[tuple[str, int, int, int]]:
    """Per kind: raised in the range, resolved in the range, open on `on`."""
    query = (
        select(
            Warning.kind,
            _count_if(and_(Warning.raised_on >= first, Warning.raised_on <= last)),
            _count_if(and_(Warning.resolved_on >= first, Warning.resolved_on <= last)),
            _count_if(
                and_(Warning.raised_on <= on, or_(Warning.resolved_on.is_(None), Warning.resolved_on > on))
            ),
        )
        .where(scope.of(Warning))
        .group_by(Warning.kind)
    )
    return [(kind, int(a), int(b), int(c)) for kind, a, b, c in (await session.execute(query)).all()]


async def resolution_days(session: AsyncSession, scope: Scope, first: date, last: date) -> Histogram:
    resolved = Warning.resolved_on
    return await _histogram(
        session, Warning.days_to_resolve, scope.of(Warning), resolved >= first, resolved <= last
    )


async def follow_ups_overdue(session: AsyncSession, scope: Scope, on: date) -> tuple[int, int]:
    """Visits due by `on` and, of them, those not made (nor cancelled) by then."""
    not_made = and_(
        or_(FollowUp.visited_on.is_(None), FollowUp.visited_on > on),
        or_(FollowUp.cancelled_on.is_(None), FollowUp.cancelled_on > on),
    )
    row = await _one_row(
        session,
        select(func.count(), _count_if(not_made)).where(scope.of(FollowUp), FollowUp.due_on < on),
    )
    return row[0], row[1]


# --- agreements ---------------------------------------------------------------------------------------------


async def get_agreement(session: AsyncSession, agreement_id: str) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def list_agreements(
    session: AsyncSession, visible: ColumnElement[bool], year: int | None
) -> Sequence[Agreement]:
    query = select(Agreement).where(visible)
    if year is not None:
        query = query.where(Agreement.year == year)
    return (await session.scalars(query.order_by(Agreement.year.desc(), Agreement.id).limit(500))).all()


def from_region(model: Any, region_code: str) -> ColumnElement[bool]:
    """Facts about workers from a partner region: a province (2 digits), a city (4) or a county (6)."""
    column = {2: model.province_code, 4: model.city_code, 6: model.county_code}.get(len(region_code))
    return column == region_code if column is not None else false()  # type: ignore[no-any-return]


async def agreement_progress(
    session: AsyncSession, agreement: Agreement, first: date, last: date, today: date
) -> tuple[int, int, int]:
    """Workers from the partner region who started work in the Jiangsu city, completed a training, and rode a
    direct bus to the city, within the agreement's year up to today."""
    last = min(last, today)
    employed = await session.scalar(
        select(func.count(func.distinct(Spell.person_id))).where(
            from_region(Spell, agreement.partner_region_code),
            Spell.jiangsu_city_code == agreement.jiangsu_city_code,
            Spell.started_on >= first,
            Spell.started_on <= last,
        )
    )
    trained = await session.scalar(
        select(func.count()).where(
            from_region(Training, agreement.partner_region_code),
            Training.completed_on >= first,
            Training.completed_on <= last,
        )
    )
    carried = await session.scalar(
        select(func.count()).where(
            from_region(Booking, agreement.partner_region_code),
            Booking.jiangsu_city_code == agreement.jiangsu_city_code,
            Booking.status == "confirmed",
            Booking.departs_on >= first,
            Booking.departs_on <= last,
        )
    )
    return int(employed or 0), int(trained or 0), int(carried or 0)


async def station_names(session: AsyncSession, ids: Sequence[str]) -> dict[str, str]:
    rows = await session.execute(select(Station.id, Station.name).where(Station.id.in_(ids)))
    return {station_id: name for station_id, name in rows.all()}


async def get_station(session: AsyncSession, station_id: str) -> Station | None:
    return await session.get(Station, station_id)
