"""The baselines: the same figures by plain SQL GROUP BY (sqlite3) and by DuckDB on a copy of the tables."""

from __future__ import annotations

import bisect
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from libs.reference.labels import CATEGORY_NAMES
from services.monitoring import report, service
from services.monitoring.service import SMALL, Period, View

# ---------------------------------------------------------------------------------------------- the baselines


CITY_TABLES = frozenset({"spells", "placements", "applications", "bookings"})  # with jiangsu_city_code


@dataclass(frozen=True)
class SqlScope:
    """What a caller may count, as a plain WHERE on one table: station_id or province_code IN (...), a bureau's
    Jiangsu city (repository._in_city), or everything."""

    column: str | None = None
    values: tuple[str, ...] = ()
    agreements: tuple[str, list[Any]] = (
        "1=1",
        [],
    )  # the agreements the caller sees (service._visible_agreements)
    city: str | None = None  # a bureau's: facts of work in that city, and of workers who worked there

    def of(self, table: str, alias: str = "") -> tuple[str, list[Any]]:
        prefix = f"{alias}." if alias else ""
        conditions: list[str] = []
        params: list[Any] = []
        if self.column is not None:
            column = "origin_station_id" if table == "trips" and self.column == "station_id" else self.column
            conditions.append(f"{prefix}{column} IN ({', '.join('?' * len(self.values))})")
            params.extend(self.values)
        if self.city is not None:
            conditions.append(self.in_city(table, prefix))
            params.append(f"%,{self.city},%" if table == "trips" else self.city)
        return " AND ".join(conditions) or "1=1", params

    @staticmethod
    def in_city(table: str, prefix: str) -> str:
        if table == "trips":
            return f"{prefix}destinations LIKE ?"
        if table in CITY_TABLES:
            return f"{prefix}jiangsu_city_code = ?"
        if table == "follow_ups":  # the visits of placements there
            return f"{prefix}placement_id IN (SELECT id FROM placements WHERE jiangsu_city_code = ?)"
        person = f"{prefix}id" if table == "workers" else f"{prefix}person_id"
        return f"{person} IN (SELECT person_id FROM spells WHERE jiangsu_city_code = ?)"


@dataclass
class Statement:
    sql: str
    params: list[Any]
    ms: float
    rows: int
    plan: list[str] = field(default_factory=list)


class Db:
    """One engine answering the baselines' SQL: sqlite3 on the service's file, or an in-memory DuckDB."""

    name: str
    recorded: list[Statement] | None = None

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.recorded is None:
            return self.execute(sql, params)
        started = time.perf_counter()
        found = self.execute(sql, params)
        self.recorded.append(Statement(sql, list(params), (time.perf_counter() - started) * 1000, len(found)))
        return found

    def day(self, value: date) -> str:
        """A date literal (the bench's own dates, never input)."""
        raise NotImplementedError

    def days(self, later: str, earlier: str) -> str:
        """Whole days from `earlier` to `later` (two date columns)."""
        raise NotImplementedError


class SqliteDb(Db):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def day(self, value: date) -> str:
        return f"'{value.isoformat()}'"

    def days(self, later: str, earlier: str) -> str:
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def plan(self, sql: str, params: Sequence[Any]) -> list[str]:
        rows = self.connection.execute(f"EXPLAIN QUERY PLAN {sql}", list(params)).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines


class DuckDb(Db):
    name = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def day(self, value: date) -> str:
        return f"DATE '{value.isoformat()}'"

    def days(self, later: str, earlier: str) -> str:
        return f"({later} - {earlier})"


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def histogram_median(pairs: Sequence[tuple[Any, Any]]) -> tuple[int, float | None]:
    """(count, median) of a GROUP BY value, count(*) histogram, as statistics.median would give it."""
    ordered = sorted((int(value), int(count)) for value, count in pairs if value is not None)
    total = sum(count for _, count in ordered)
    if total == 0:
        return 0, None

    def nth(index: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return value
        raise IndexError(index)

    if total % 2:
        return total, float(nth(total // 2))
    return total, (nth(total // 2 - 1) + nth(total // 2)) / 2


def count_and_median(db: Db, expression: str, source: str, params: Sequence[Any]) -> tuple[int, float | None]:
    """How many rows and the median of an integer expression: DuckDB's median(), SQLite a histogram."""
    if isinstance(db, DuckDb):
        found, median = db.rows(f"SELECT count({expression}), median({expression}) {source}", params)[0]
        return int(found), None if median is None else float(median)
    return histogram_median(db.rows(f"SELECT {expression} AS d, count(*) {source} GROUP BY d", params))


def totals_and_groups(
    db: Db, group: str, aggregates: str, source: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """(is_total, group, aggregates...) per group and for all rows: one GROUPING SETS scan in DuckDB, a UNION
    ALL of two scans in SQLite (which has no GROUPING SETS)."""
    if isinstance(db, DuckDb):
        return db.rows(
            f"SELECT GROUPING({group}) AS is_total, {group}, {aggregates} {source} "
            f"GROUP BY GROUPING SETS (({group}), ())",
            params,
        )
    return db.rows(
        f"SELECT 0, {group}, {aggregates} {source} GROUP BY {group} "
        f"UNION ALL SELECT 1, NULL, {aggregates} {source}",
        [*params, *params],
    )


@dataclass(frozen=True)
class Context:
    """What a figure is asked for, as the routes ask by default: today, the day, the period."""

    today: date
    on: date
    span: Period
    days: tuple[date, ...]  # the days employment counts the employed on (as service.employment derives them)
    dimension: str
    agreement_id: str


def context(today: date, span: Period, on: date, dimension: str, agreement_id: str) -> Context:
    ends = [service.month_end(month, today) for month in span.months]
    previous = [service.month_end(service.shift_month(month, -1), today) for month in span.months]
    last_year = [service.month_end(service.shift_month(month, -12), today) for month in span.months]
    return Context(
        today=today,
        on=on,
        span=span,
        days=tuple(sorted({on, *ends, *previous, *last_year})),
        dimension=dimension,
        agreement_id=agreement_id,
    )


# --- employment: employed on a day = started by then minus ended by then, from two GROUP BY day histograms


def employment_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, Any]:
    where, params = scope.of("spells")
    started = db.rows(f"SELECT started_on, count(*) FROM spells WHERE {where} GROUP BY started_on", params)
    ended = db.rows(
        f"SELECT ended_on, count(*) FROM spells WHERE {where} AND ended_on IS NOT NULL GROUP BY ended_on",
        params,
    )

    def cumulative(pairs: list[tuple[Any, Any]]) -> tuple[list[date], list[int]]:
        ordered = sorted((as_date(day), int(count)) for day, count in pairs)
        running, sums = 0, []
        for _, count in ordered:
            running += count
            sums.append(running)
        return [day for day, _ in ordered], sums

    start_days, start_sums = cumulative(started)
    end_days, end_sums = cumulative(ended)

    def up_to(days: list[date], sums: list[int], day: date) -> int:
        index = bisect.bisect_right(days, day)
        return sums[index - 1] if index else 0

    stock = {day: up_to(start_days, start_sums, day) - up_to(end_days, end_sums, day) for day in ctx.days}
    inflow = []
    for month in ctx.span.months:
        first, last = service.month_bounds(month)
        first_day = first - timedelta(days=1)
        inflow.append(up_to(start_days, start_sums, last) - up_to(start_days, start_sums, first_day))
    return {"stock": stock, "inflow": inflow, "breakdown": employed_by(db, scope, ctx.on, ctx.dimension)}


def employed_by(db: Db, scope: SqlScope, day: date, dimension: str) -> dict[str | None, int]:
    """Employed on `day` by one dimension: GROUP BY, or one count per category (a worker may be in several)."""
    where, params = scope.of("spells")
    on = db.day(day)
    employed_on = f"started_on <= {on} AND (ended_on IS NULL OR ended_on > {on})"
    if dimension == "category":
        counts = ", ".join(
            f"COALESCE(sum(CASE WHEN categories LIKE '%,{name},%' THEN 1 ELSE 0 END), 0)"
            for name in CATEGORY_NAMES
        )
        row = db.rows(f"SELECT {counts} FROM spells WHERE {where} AND {employed_on}", params)[0]
        return {name: int(value) for name, value in zip(CATEGORY_NAMES, row, strict=True)}
    column = DIMENSION_COLUMNS[dimension]
    pairs = db.rows(
        f"SELECT {column}, count(*) FROM spells WHERE {where} AND {employed_on} GROUP BY {column}", params
    )
    return {cell_key(dimension, key): int(count) for key, count in pairs}


DIMENSION_COLUMNS = {
    "province": "province_code",
    "city": "city_code",
    "county": "county_code",
    "station": "station_id",
    "jiangsu_city": "jiangsu_city_code",
    "key_region": "key_region",
    "industry": "industry",
    "occupation_group": "occupation_group",
    "where": '"where"',
    "how": "how",
}


def cell_key(dimension: str, key: Any) -> str | None:
    if key is None:
        return None
    if dimension == "key_region":
        return "true" if key else "false"
    return str(key)


def employment_assemble(view: View, ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    at, today = raw["stock"], ctx.today
    series = []
    for index, month in enumerate(ctx.span.months):
        end = service.month_end(month, today)
        before = service.month_end(service.shift_month(month, -1), today)
        year_before = service.month_end(service.shift_month(month, -12), today)
        series.append(
            (
                month,
                end,
                view.count(at[end]),
                view.count(raw["inflow"][index]),
                view.change(at[end], at[before]),
                view.change(at[end], at[year_before]),
            )
        )
    return {
        "employed": view.count(at[ctx.on]),
        "breakdown": {key: view.count(count) for key, count in raw["breakdown"].items()},
        "series": series,
    }


def series_numbers(points: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        (p.month, p.on, p.employed, p.started, p.change_on_previous_month, p.change_on_last_year)
        for p in points
    ]


def employment_numbers(stats: Any) -> dict[str, Any]:
    return {
        "employed": stats.employed,
        "breakdown": {cell.key: cell.count for cell in stats.breakdown},
        "series": series_numbers(stats.series),
    }


# --- retention: one LEFT JOIN of placements to the worker's spells, GROUP BY placement then cohort

CHECKS = ("day90", "month3", "month6", "month12")


def retention_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, Any]:
    where, params = scope.of("placements", "p")
    today = db.day(ctx.today)
    first, last = db.day(ctx.span.first_day), db.day(ctx.span.last_day)
    per_check = ", ".join(
        f"CASE WHEN p.{check}_on <= {today} THEN 1 ELSE 0 END AS {check}_due, "
        f"max(CASE WHEN s.started_on <= p.{check}_on AND (s.ended_on IS NULL OR s.ended_on > p.{check}_on) "
        f"THEN 1 ELSE 0 END) AS {check}_kept"
        for check in CHECKS
    )
    sums = ", ".join(f"sum({check}_due), sum({check}_due * {check}_kept)" for check in CHECKS)
    cohorts = ", ".join("?" * len(ctx.span.months))
    rows = db.rows(
        f"SELECT cohort, count(*), {sums} FROM ("
        f"SELECT p.id, p.cohort, {per_check} FROM placements p "
        f"LEFT JOIN spells s ON s.person_id = p.person_id "
        f"WHERE {where} AND p.cohort IN ({cohorts}) "
        f"GROUP BY p.id, p.cohort, p.day90_on, p.month3_on, p.month6_on, p.month12_on"
        f") AS placed GROUP BY cohort",
        [*params, *ctx.span.months],
    )
    figures: dict[str, dict[str, int]] = {}
    for row in rows:
        values = [int(value) for value in row[1:]]
        named = {"placed": values[0]}
        for index, check in enumerate(CHECKS):
            named[f"{check}_due"], named[f"{check}_employed"] = values[1 + 2 * index], values[2 + 2 * index]
        figures[str(row[0])] = named
    where, params = scope.of("placements")
    tenures = count_and_median(
        db,
        db.days("ended_on", "started_on"),
        f"FROM placements WHERE {where} AND ended_on >= {first} AND ended_on <= {last}",
        params,
    )
    where, params = scope.of("spells", "s")
    losses = (
        f"SELECT s.id, s.ended_on, min(n.started_on) AS next_start FROM spells s "
        f"LEFT JOIN spells n ON n.person_id = s.person_id AND n.started_on >= s.ended_on "
        f"WHERE {where} AND s.ended_on >= {first} AND s.ended_on <= {last} "
        f"AND s.ended_to IN ('unemployed', 'seeking') GROUP BY s.id, s.ended_on"
    )
    gap = db.days("next_start", "ended_on")
    if isinstance(db, DuckDb):
        lost, again, median = db.rows(
            f"SELECT count(*), count({gap}), median({gap}) FROM ({losses}) AS l", params
        )[0]
        gaps = (int(again), None if median is None else float(median))
        job_losses = int(lost)
    else:
        pairs = db.rows(f"SELECT {gap} AS d, count(*) FROM ({losses}) AS l GROUP BY d", params)
        job_losses = sum(int(count) for _, count in pairs)
        gaps = histogram_median(pairs)
    return {"cohorts": figures, "tenures": tenures, "job_losses": job_losses, "gaps": gaps}


def retention_assemble(view: View, ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    cohorts = []
    for month in ctx.span.months:
        row = raw["cohorts"].get(month, {"placed": 0})

        def share(check: str, row: dict[str, int] = row) -> float | None:
            due = row.get(f"{check}_due", 0)
            return view.share(row.get(f"{check}_employed", 0), due) if due == row["placed"] else None

        cohorts.append((month, view.count(row["placed"]), share("month3"), share("month6"), share("month12")))
    small = not view.exact
    (ended, tenure), (re_employed, gap) = raw["tenures"], raw["gaps"]
    return {
        "cohorts": cohorts,
        "median_tenure_days": tenure if not (small and ended < SMALL) else None,
        "ended": view.count(ended),
        "job_losses": view.count(raw["job_losses"]),
        "re_employed": view.count(re_employed),
        "median_days_to_re_employment": gap if not (small and re_employed < SMALL) else None,
    }


def retention_numbers(stats: Any) -> dict[str, Any]:
    return {
        "cohorts": [
            (c.month, c.placed, c.retained_3_months, c.retained_6_months, c.retained_12_months)
            for c in stats.cohorts
        ],
        "median_tenure_days": stats.median_tenure_days,
        "ended": stats.ended,
        "job_losses": stats.job_losses,
        "re_employed": stats.re_employed,
        "median_days_to_re_employment": stats.median_days_to_re_employment,
    }


# --- funnel (by channel): distinct workers per step, a join for the 90-day check


def funnel_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, Any]:
    first, last, today = db.day(ctx.span.first_day), db.day(ctx.span.last_day), db.day(ctx.today)
    where, params = scope.of("workers")
    registered = int(
        db.rows(
            f"SELECT count(*) FROM workers WHERE {where} AND registered_on >= {first} AND registered_on <= {last}",
            params,
        )[0][0]
    )
    where, params = scope.of("recommendations")
    recommended = int(
        db.rows(
            f"SELECT count(DISTINCT person_id) FROM recommendations WHERE {where} "
            f"AND recommended_on >= {first} AND recommended_on <= {last}",
            params,
        )[0][0]
    )
    where, params = scope.of("applications")
    applied_rows = totals_and_groups(
        db,
        "channel",
        "count(DISTINCT person_id), count(DISTINCT CASE WHEN offered_on IS NOT NULL THEN person_id END), "
        "count(DISTINCT CASE WHEN accepted_on IS NOT NULL THEN person_id END)",
        f"FROM applications WHERE {where} AND submitted_on >= {first} AND submitted_on <= {last}",
        params,
    )
    where, params = scope.of("placements", "p")
    placed = (
        f"(SELECT p.person_id, p.channel, CASE WHEN p.day90_on <= {today} AND max(CASE WHEN s.started_on <= "
        f"p.day90_on AND (s.ended_on IS NULL OR s.ended_on > p.day90_on) THEN 1 ELSE 0 END) = 1 THEN 1 ELSE 0 "
        f"END AS kept FROM placements p LEFT JOIN spells s ON s.person_id = p.person_id "
        f"WHERE {where} AND p.started_on >= {first} AND p.started_on <= {last} "
        f"GROUP BY p.id, p.person_id, p.channel, p.day90_on) AS placed"
    )
    placed_rows = totals_and_groups(
        db,
        "channel",
        "count(DISTINCT person_id), count(DISTINCT CASE WHEN kept = 1 THEN person_id END)",
        f"FROM {placed}",
        params,
    )
    applied: dict[str | None, tuple[int, ...]] = {}
    for total, channel, *values in applied_rows:
        applied[None if total else channel] = tuple(int(value) for value in values)
    placements: dict[str | None, tuple[int, ...]] = {}
    for total, channel, *values in placed_rows:
        placements[None if total else channel] = tuple(int(value) for value in values)
    return {"registered": registered, "recommended": recommended, "applied": applied, "placed": placements}


def funnel_assemble(view: View, ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    def steps(
        workers: tuple[int | None, ...], applied: tuple[int, ...], placed: tuple[int, ...]
    ) -> list[Any]:
        return [None if value is None else view.count(value) for value in (*workers, *applied, *placed)]

    applied, placed = raw["applied"], raw["placed"]
    keys = sorted({*applied, *placed} - {None}, key=str)
    workers = (raw["registered"], raw["recommended"])
    return {
        "total": steps(workers, applied.get(None, (0, 0, 0)), placed.get(None, (0, 0))),
        "groups": {
            key: steps((None, None), applied.get(key, (0, 0, 0)), placed.get(key, (0, 0))) for key in keys
        },
    }


def funnel_numbers(stats: Any) -> dict[str, Any]:
    return {
        "total": [step.count for step in stats.total],
        "groups": {group.key: [step.count for step in group.steps] for group in stats.groups},
    }


# --- training: trainings LEFT JOIN the spells that started within the six months after completing


def training_raw(db: Db, scope: SqlScope, ctx: Context) -> list[tuple[str, str, int, int, int]]:
    first, last = db.day(ctx.span.first_day), db.day(ctx.span.last_day)
    where, params = scope.of("trainings", "t")
    rows = db.rows(
        f"SELECT base_id, programme_id, sum(enrolled), sum(completed), sum(completed * employed) FROM ("
        f"SELECT t.base_id, t.programme_id, "
        f"CASE WHEN t.enrolled_on >= {first} AND t.enrolled_on <= {last} THEN 1 ELSE 0 END AS enrolled, "
        f"CASE WHEN t.completed_on >= {first} AND t.completed_on <= {last} THEN 1 ELSE 0 END AS completed, "
        f"CASE WHEN count(s.id) > 0 THEN 1 ELSE 0 END AS employed "
        f"FROM trainings t LEFT JOIN spells s ON s.person_id = t.person_id "
        f"AND s.started_on >= t.completed_on AND s.started_on <= t.window_ends_on "
        f"WHERE {where} GROUP BY t.id, t.base_id, t.programme_id, t.enrolled_on, t.completed_on"
        f") AS trained GROUP BY base_id, programme_id",
        params,
    )
    return sorted(
        (str(base), str(programme), int(a), int(b), int(c)) for base, programme, a, b, c in rows if a or b
    )


def training_assemble(view: View, ctx: Context, rows: list[tuple[str, str, int, int, int]]) -> dict[str, Any]:
    enrolled = sum(row[2] for row in rows)
    completed = sum(row[3] for row in rows)
    employed = sum(row[4] for row in rows)
    return {
        "enrolled": view.count(enrolled),
        "completed": view.count(completed),
        "employed": view.count(employed),
        "rate": view.share(employed, completed),
        "programmes": {
            (base, programme): (view.count(a), view.count(b), view.count(c), view.share(c, b))
            for base, programme, a, b, c in rows
        },
    }


def training_numbers(stats: Any) -> dict[str, Any]:
    return {
        "enrolled": stats.enrolled,
        "completed": stats.completed,
        "employed": stats.employed_within_6_months,
        "rate": stats.employment_rate,
        "programmes": {
            (p.base_id, p.programme_id): (
                p.enrolled,
                p.completed,
                p.employed_within_6_months,
                p.employment_rate,
            )
            for p in stats.programmes
        },
    }


# --- bus: trips, and bookings LEFT JOIN their trip


def bus_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, int]:
    first, last, today = db.day(ctx.span.first_day), db.day(ctx.span.last_day), db.day(ctx.today)
    where, params = scope.of("trips")
    trips, seats = db.rows(
        f"SELECT count(*), COALESCE(sum(seats), 0) FROM trips WHERE {where} "
        f"AND departs_on >= {first} AND departs_on <= {last} AND status != 'cancelled'",
        params,
    )[0]
    where, params = scope.of("bookings", "b")
    in_range = f"b.status = 'confirmed' AND b.departs_on >= {first} AND b.departs_on <= {last}"
    taken, carried, unserved, waitlisted = db.rows(
        f"SELECT COALESCE(sum(CASE WHEN {in_range} THEN 1 ELSE 0 END), 0), "
        f"COALESCE(sum(CASE WHEN {in_range} AND t.status != 'cancelled' AND t.departs_on <= {today} "
        f"THEN 1 ELSE 0 END), 0), "
        f"COALESCE(sum(CASE WHEN b.status = 'unserved' AND b.booked_on >= {first} AND b.booked_on <= {last} "
        f"THEN 1 ELSE 0 END), 0), "
        f"COALESCE(sum(CASE WHEN b.status = 'waitlisted' THEN 1 ELSE 0 END), 0) "
        f"FROM bookings b LEFT JOIN trips t ON t.id = b.trip_id WHERE {where}",
        params,
    )[0]
    return {
        "trips": int(trips),
        "seats": int(seats),
        "seats_taken": int(taken),
        "carried": int(carried),
        "unserved": int(unserved),
        "waitlisted": int(waitlisted),
    }


def bus_assemble(view: View, ctx: Context, raw: dict[str, int]) -> dict[str, Any]:
    taken = raw["seats_taken"]
    return {
        "trips": raw["trips"],
        "seats": raw["seats"],
        "seats_taken": view.count(taken),
        "occupancy": view.share(taken, raw["seats"]) if taken >= SMALL or view.exact else None,
        "carried": view.count(raw["carried"]),
        "unserved": view.count(raw["unserved"]),
        "waitlisted": view.count(raw["waitlisted"]),
    }


def bus_numbers(stats: Any) -> dict[str, Any]:
    return {
        name: getattr(stats, name)
        for name in ("trips", "seats", "seats_taken", "occupancy", "carried", "unserved", "waitlisted")
    }


# --- warnings: GROUP BY kind, a histogram of days to resolve, follow-ups due


def warnings_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, Any]:
    first, last, on = db.day(ctx.span.first_day), db.day(ctx.span.last_day), db.day(ctx.on)
    where, params = scope.of("warnings")
    kinds = db.rows(
        f"SELECT kind, sum(CASE WHEN raised_on >= {first} AND raised_on <= {last} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN resolved_on >= {first} AND resolved_on <= {last} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN raised_on <= {on} AND (resolved_on IS NULL OR resolved_on > {on}) THEN 1 ELSE 0 END) "
        f"FROM warnings WHERE {where} GROUP BY kind",
        params,
    )
    resolution = count_and_median(
        db,
        db.days("resolved_on", "raised_on"),
        f"FROM warnings WHERE {where} AND resolved_on >= {first} AND resolved_on <= {last}",
        params,
    )
    where, params = scope.of("follow_ups")
    due, overdue = db.rows(
        f"SELECT count(*), COALESCE(sum(CASE WHEN (visited_on IS NULL OR visited_on > {on}) "
        f"AND (cancelled_on IS NULL OR cancelled_on > {on}) THEN 1 ELSE 0 END), 0) "
        f"FROM follow_ups WHERE {where} AND due_on < {on}",
        params,
    )[0]
    return {
        "kinds": {str(kind): (int(a), int(b), int(c)) for kind, a, b, c in kinds},
        "resolution": resolution,
        "follow_ups": (int(due), int(overdue)),
    }


def warnings_assemble(view: View, ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    kinds = raw["kinds"]
    resolved_count, median = raw["resolution"]
    due, overdue = raw["follow_ups"]
    return {
        "raised": view.count(sum(row[0] for row in kinds.values())),
        "resolved": view.count(sum(row[1] for row in kinds.values())),
        "open": view.count(sum(row[2] for row in kinds.values())),
        "median_days_to_resolve": median if view.exact or resolved_count >= SMALL else None,
        "kinds": {kind: tuple(view.count(value) for value in row) for kind, row in kinds.items()},
        "follow_ups_due": view.count(due),
        "follow_ups_overdue": view.count(overdue),
    }


def warnings_numbers(stats: Any) -> dict[str, Any]:
    return {
        "raised": stats.raised,
        "resolved": stats.resolved,
        "open": stats.open,
        "median_days_to_resolve": stats.median_days_to_resolve,
        "kinds": {kind.kind: (kind.raised, kind.resolved, kind.open) for kind in stats.kinds},
        "follow_ups_due": stats.follow_ups_due,
        "follow_ups_overdue": stats.follow_ups_overdue,
    }


# --- an agreement's progress: three counts over the partner region's facts


def agreement_raw(db: Db, agreement_id: str, on: date) -> tuple[int, int, int]:
    city, region, year = db.rows(
        "SELECT jiangsu_city_code, partner_region_code, year FROM agreements WHERE id = ?", [agreement_id]
    )[0]
    first, last = db.day(date(year, 1, 1)), db.day(min(date(year, 12, 31), on))
    column = {2: "province_code", 4: "city_code", 6: "county_code"}[len(region)]
    employed = db.rows(
        f"SELECT count(DISTINCT person_id) FROM spells WHERE {column} = ? AND jiangsu_city_code = ? "
        f"AND started_on >= {first} AND started_on <= {last}",
        [region, city],
    )[0][0]
    trained = db.rows(
        f"SELECT count(*) FROM trainings WHERE {column} = ? AND completed_on >= {first} AND completed_on <= {last}",
        [region],
    )[0][0]
    carried = db.rows(
        f"SELECT count(*) FROM bookings WHERE {column} = ? AND jiangsu_city_code = ? AND status = 'confirmed' "
        f"AND departs_on >= {first} AND departs_on <= {last}",
        [region, city],
    )[0][0]
    return int(employed), int(trained), int(carried)


def progress_raw(db: Db, scope: SqlScope, ctx: Context) -> tuple[int, int, int]:
    return agreement_raw(db, ctx.agreement_id, ctx.today)


def progress_assemble(view: View, ctx: Context, raw: tuple[int, int, int]) -> tuple[Any, ...]:
    return tuple(view.count(value) for value in raw)


def progress_numbers(progress: Any) -> tuple[Any, ...]:
    return (progress.employed.actual, progress.trained.actual, progress.carried.actual)


# --- the monthly report (services/monitoring/report.py): last month's figures, the twelve months to it


def report_contexts(ctx: Context) -> tuple[str, Context, Context]:
    """The report's month (last month, as the route's default), its twelve-month and its one-month context."""
    month = service.shift_month(ctx.today.strftime("%Y-%m"), -1)
    first, last = service.month_bounds(month)
    on = min(last, ctx.today)
    twelve = service.period(service.shift_month(month, -11), month, ctx.today)
    dimension = next(iter(report.SECTIONS.values()))[0]
    return (
        month,
        context(ctx.today, twelve, on, dimension, ctx.agreement_id),
        context(ctx.today, Period((month,), first, on), on, dimension, ctx.agreement_id),
    )


def report_raw(db: Db, scope: SqlScope, ctx: Context) -> dict[str, Any]:
    month, twelve, one = report_contexts(ctx)
    sections = list(report.SECTIONS.items())
    series = employment_raw(db, scope, twelve)  # the first section's call brings the series
    employment = {sections[0][0]: series["breakdown"]}
    for name, (dimension, _) in sections[1:]:
        employment[name] = employed_by(db, scope, one.on, dimension)
    where, params = scope.agreements
    agreements = db.rows(
        f"SELECT id FROM agreements WHERE {where} AND year = ? ORDER BY id", [*params, int(month[:4])]
    )
    return {
        "employment": employment,
        "series": series,
        "retention": retention_raw(db, scope, twelve),
        "funnel": funnel_raw(db, scope, one),
        "training": training_raw(db, scope, one),
        "bus": bus_raw(db, scope, one),
        "warnings": warnings_raw(db, scope, one),
        "agreements": [agreement_raw(db, str(row[0]), one.on) for row in agreements],
    }


def report_assemble(view: View, ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    _, twelve, one = report_contexts(ctx)
    return {
        "employment": {
            name: {key: view.count(count) for key, count in cells.items()}
            for name, cells in raw["employment"].items()
        },
        "series": employment_assemble(view, twelve, raw["series"])["series"],
        "retention": retention_assemble(view, twelve, raw["retention"]),
        "funnel": funnel_assemble(view, one, raw["funnel"]),
        "training": training_assemble(view, one, raw["training"]),
        "bus": bus_assemble(view, one, raw["bus"]),
        "warnings": warnings_assemble(view, one, raw["warnings"]),
        "agreements": [progress_assemble(view, one, figures) for figures in raw["agreements"]],
    }


def report_numbers(monthly: Any) -> dict[str, Any]:
    return {
        "employment": {
            name: {cell.key: cell.count for cell in cells} for name, cells in monthly.employment.items()
        },
        "series": series_numbers(monthly.series),
        "retention": retention_numbers(monthly.retention),
        "funnel": funnel_numbers(monthly.funnel),
        "training": training_numbers(monthly.training),
        "bus": bus_numbers(monthly.bus),
        "warnings": warnings_numbers(monthly.warnings),
        "agreements": [progress_numbers(progress) for progress in monthly.agreements],
    }
