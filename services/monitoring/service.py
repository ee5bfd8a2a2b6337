"""Monitoring's rules: who may see which figures, what a period is, how a small count is hidden, and the
figures themselves assembled from the repository's counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import beijing_date, utcnow
from libs.reference.divisions import division, region_name
from libs.reference.labels import (
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    EMPLOYMENT_HOW_NAMES,
    EMPLOYMENT_WHERE_NAMES,
    WARNING_NAMES,
)
from libs.reference.occupations import INDUSTRIES
from libs.reference.regions import JIANGSU_CITIES, PROVINCES
from services.monitoring import repository
from services.monitoring.models import Agreement as AgreementRow
from services.monitoring.models import Application, Placement
from services.monitoring.repository import Histogram, Scope
from services.monitoring.schemas import (
    Agreement,
    AgreementCreate,
    AgreementProgress,
    BusStats,
    Cell,
    Cohort,
    Count,
    Dimension,
    EmploymentStats,
    FunnelGroup,
    FunnelGroupRow,
    FunnelStats,
    FunnelStep,
    MonthPoint,
    PolicyLine,
    PolicyStats,
    ProgrammeTraining,
    RetentionStats,
    TargetProgress,
    Targets,
    TrainingStats,
    WarningKind,
    WarningStats,
)

SMALL = 5  # fewer people than this are shown as "<5" outside the owning station
LONGEST_PERIOD_MONTHS = 36
READERS = (Role.admin, Role.partner, Role.station, Role.bureau)


# --- who sees what ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """A caller's figures: the facts they may count, whether small counts are shown as they are, the title."""

    scope: Scope
    exact: bool
    title: str

    def count(self, value: int) -> Count:
        return "<5" if not self.exact and 0 < value < SMALL else value

    def share(self, part: int, whole: int) -> float | None:
        if whole == 0 or (not self.exact and whole < SMALL):
            return None
        return round(part / whole, 4)

    def change(self, now: int, before: int) -> int | None:
        if not self.exact and (0 < now < SMALL or 0 < before < SMALL):
            return None
        return now - before


async def view_of(
    session: AsyncSession,
    caller: Principal,
    *,
    province_code: str | None = None,
    station_id: str | None = None,
    city_code: str | None = None,
) -> View:
    """The caller's scope, narrowed by the request's filters; a filter outside the scope is 404."""
    require_role(caller, *READERS)
    narrowed = {
        name: value
        for name, value in (
            ("province_code", province_code),
            ("station_id", station_id),
            ("city_code", city_code),
        )
        if value
    }
    if caller.role is Role.partner and province_code and province_code not in caller.provinces:
        raise not_found("省份")
    if caller.role is Role.station and station_id and station_id != caller.station_id:
        raise not_found("联络站")
    if caller.role is Role.bureau and city_code and city_code != caller.city_code:
        raise not_found("城市")
    if station_id and caller.role in (Role.partner, Role.bureau, Role.admin):
        station = await repository.get_station(session, station_id)
        if station is None or (caller.role is Role.partner and station.province_code not in caller.provinces):
            raise not_found("联络站")
    if caller.role is Role.admin:
        scope, title = Scope(narrowed=narrowed), "全部"
    elif caller.role is Role.partner:
        scope = Scope(province_codes=list(caller.provinces), narrowed=narrowed)
        title = "协作省份：" + "、".join(PROVINCES.get(code, code) for code in caller.provinces)
    elif caller.role is Role.station:
        assert caller.station_id is not None  # the token's required scope
        scope = Scope(station_ids=[caller.station_id], narrowed=narrowed)
        names = await repository.station_names(session, [caller.station_id])
        title = "联络站：" + names.get(caller.station_id, caller.station_id)
    else:
        assert caller.city_code is not None
        scope = Scope(jiangsu_city=caller.city_code, narrowed=narrowed)
        title = "江苏省" + JIANGSU_CITIES.get(caller.city_code, caller.city_code)
    return View(scope=scope, exact=caller.role is Role.station, title=title + _narrowing(narrowed))


def _narrowing(narrowed: dict[str, str]) -> str:
    parts = [PROVINCES.get(narrowed["province_code"], "")] if "province_code" in narrowed else []
    if "city_code" in narrowed:
        parts.append(JIANGSU_CITIES.get(narrowed["city_code"], narrowed["city_code"]))
    return f"（{'、'.join(part for part in parts if part)}）" if parts else ""


# --- periods ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole months, first to last; `last_day` is the last day counted (today within the current month)."""

    months: tuple[str, ...]
    first_day: date
    last_day: date


def month_bounds(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:7]), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def shift_month(month: str, months: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period(start: str | None, end: str | None, today: date, *, default_months: int = 12) -> Period:
    """From `start` to `end` (YYYY-MM, both included); by default the twelve months to this one."""
    this_month = today.strftime("%Y-%m")
    end = end or this_month
    start = start or shift_month(end, -(default_months - 1))
    if start > end:
        raise validation_problem("query.from", "after_to", "起始月份不能晚于截止月份")
    if end > this_month:
        raise validation_problem("query.to", "in_future", "截止月份不能晚于本月")
    months = [start]
    while months[-1] < end:
        months.append(shift_month(months[-1], 1))
        if len(months) > LONGEST_PERIOD_MONTHS:
            raise validation_problem("query.from", "too_long", f"统计区间最长 {LONGEST_PERIOD_MONTHS} 个月")
    return Period(tuple(months), month_bounds(start)[0], min(month_bounds(end)[1], today))


def month_end(month: str, today: date) -> date:
    return min(month_bounds(month)[1], today)


# --- 就业规模 ---------------------------------------------------------------------------------------------------


def _label(dimension: Dimension, key: Any, stations: dict[str, str]) -> str:
    if key is None:
        return {"jiangsu_city": "江苏省外", "industry": "非平台安置", "occupation_group": "非平台安置"}.get(
            dimension, "未知"
        )
    names: dict[str, dict[str, str]] = {
        "category": CATEGORY_NAMES,
        "province": PROVINCES,
        "jiangsu_city": JIANGSU_CITIES,
        "industry": INDUSTRIES,
        "where": EMPLOYMENT_WHERE_NAMES,
        "how": EMPLOYMENT_HOW_NAMES,
        "station": stations,
    }
    if dimension in names:
        return names[dimension].get(str(key), str(key))
    if dimension == "key_region":
        return "国家乡村振兴重点帮扶县" if key else "其他地区"
    if dimension in ("city", "county"):
        found = division(str(key)) if key else None
        return found.name if found else "未知"
    if dimension == "occupation_group":
        return f"职业中类 {key}"
    return str(key)


def _key(key: Any) -> str | None:
    if isinstance(key, bool):
        return "true" if key else "false"
    return None if key is None else str(key)


async def employment(
    session: AsyncSession, view: View, on: date, span: Period, dimension: Dimension, today: date
) -> EmploymentStats:
    figures = await employment_by(session, view, on, span, [dimension], today)
    return figures[dimension]


async def employment_by(
    session: AsyncSession,
    view: View,
    on: date,
    span: Period,
    dimensions: Sequence[Dimension],
    today: date,
) -> dict[Dimension, EmploymentStats]:
    """The count on `on` and the month-end series, with the breakdown by each of `dimensions` (one pass)."""
    ends = [month_end(month, today) for month in span.months]
    previous = [month_end(shift_month(month, -1), today) for month in span.months]
    last_year = [month_end(shift_month(month, -12), today) for month in span.months]
    days = sorted({on, *ends, *previous, *last_year})
    stock, started = await repository.employed_series(
        session, view.scope, days, [month_bounds(month) for month in span.months]
    )
    at = dict(zip(days, stock, strict=True))
    series = [
        MonthPoint(
            month=month,
            on=end,
            employed=view.count(at[end]),
            started=view.count(started[index]),
            change_on_previous_month=view.change(at[end], at[before]),
            change_on_last_year=view.change(at[end], at[year_before]),
        )
        for index, (month, end, before, year_before) in enumerate(
            zip(span.months, ends, previous, last_year, strict=True)
        )
    ]
    counted = await repository.employed_by(session, view.scope, on, dimensions)
    stations = (
        await repository.station_names(session, [str(key) for key, _ in counted["station"]])
        if "station" in counted
        else {}
    )
    figures: dict[Dimension, EmploymentStats] = {}
    for dimension in dimensions:
        pairs = counted[dimension]
        if dimension == "category":
            found = dict(pairs)
            pairs = [(category, found.get(category, 0)) for category in CATEGORY_NAMES]
        breakdown = [
            Cell(key=_key(key), label=_label(dimension, key, stations), count=view.count(count))
            for key, count in sorted(pairs, key=lambda pair: -pair[1])
        ]
        figures[dimension] = EmploymentStats(
            scope=view.title,
            on=on,
            employed=view.count(at[on]),
            by=dimension,
            breakdown=breakdown,
            series=series,
        )
    return figures


# --- 稳定就业 ---------------------------------------------------------------------------------------------------


def _counted(histogram: Histogram) -> int:
    """How many a histogram counts that have days."""
    return sum(count for days, count in histogram if days is not None)


def _median(histogram: Histogram) -> float | None:
    """The median of the days a histogram counts, as statistics.median gives it for the values spelled out."""
    total = _counted(histogram)
    if not total:
        return None
    wanted, found, seen = [(total - 1) // 2, total // 2], [], 0
    for days, count in sorted((days, count) for days, count in histogram if days is not None):
        while wanted and wanted[0] < seen + count:
            found.append(days)
            wanted.pop(0)
        seen += count
    return (found[0] + found[1]) / 2


async def retention(session: AsyncSession, view: View, span: Period, today: date) -> RetentionStats:
    figures = await repository.retention_cohorts(session, view.scope, span.months, today)
    cohorts = []
    for month in span.months:
        row = figures.get(month, {"placed": 0})

        def share(check: str, row: dict[str, int] = row) -> float | None:
            due = row.get(f"{check}_due", 0)
            return view.share(row.get(f"{check}_employed", 0), due) if due == row["placed"] else None

        cohorts.append(
            Cohort(
                month=month,
                placed=view.count(row["placed"]),
                retained_3_months=share("month3"),
                retained_6_months=share("month6"),
                retained_12_months=share("month12"),
            )
        )
    tenures = await repository.tenures(session, view.scope, span.first_day, span.last_day)
    losses = await repository.job_losses(session, view.scope, span.first_day, span.last_day)
    ended, re_employed = _counted(tenures), _counted(losses)
    small = not view.exact
    return RetentionStats(
        scope=view.title,
        cohorts=cohorts,
        median_tenure_days=_median(tenures) if not (small and ended < SMALL) else None,
        ended=view.count(ended),
        job_losses=view.count(sum(count for _, count in losses)),
        re_employed=view.count(re_employed),
        median_days_to_re_employment=_median(losses) if not (small and re_employed < SMALL) else None,
    )


# --- 服务漏斗 ---------------------------------------------------------------------------------------------------

STEP_NAMES = {
    "registered": "登记",
    "recommended": "推荐",
    "applied": "投递",
    "offered": "录用通知",
    "accepted": "接受",
    "placed": "上岗",
    "employed_90_days": "90 天仍在岗",
}


def _steps(
    view: View, workers: Sequence[int | None], applied: Sequence[int], placed: Sequence[int]
) -> list[FunnelStep]:
    values = [*workers, *applied, *placed]
    return [
        FunnelStep(step=step, label=label, count=None if value is None else view.count(value))  # type: ignore[arg-type]
        for (step, label), value in zip(STEP_NAMES.items(), values, strict=True)
    ]


async def funnel(
    session: AsyncSession, view: View, span: Period, by: FunnelGroup, today: date
) -> FunnelStats:
    first, last = span.first_day, span.last_day
    scope = view.scope
    application_group = Application.channel if by == "channel" else Application.station_id
    placement_group = Placement.channel if by == "channel" else Placement.station_id
    applied_total, applied = await repository.application_steps(
        session, scope, first, last, application_group
    )
    placed_total, placed = await repository.placement_steps(
        session, scope, first, last, placement_group, today
    )
    registered = await repository.registered(session, scope, first, last, by_station=by == "station")
    recommended = await repository.recommended(session, scope, first, last, by_station=by == "station")
    total = _steps(view, [sum(registered.values()), sum(recommended.values())], applied_total, placed_total)
    if by == "channel":  # registering and recommending have no channel
        registered, recommended = {}, {}
    keys = sorted({*applied, *placed, *registered, *recommended} - {None}, key=str)
    stations = await repository.station_names(session, [str(key) for key in keys]) if by == "station" else {}
    groups = [
        FunnelGroupRow(
            key=key,
            label=(CHANNEL_NAMES if by == "channel" else stations).get(str(key), str(key)),
            steps=_steps(
                view,
                [registered.get(key, 0), recommended.get(key, 0)] if by == "station" else [None, None],
                applied.get(key, [0, 0, 0]),
                placed.get(key, [0, 0]),
            ),
        )
        for key in keys
    ]
    return FunnelStats(scope=view.title, total=total, by=by, groups=groups)


# --- 培训, 直通车, 预警 -------------------------------------------------------------------------------------------


async def training(session: AsyncSession, view: View, span: Period) -> TrainingStats:
    rows = await repository.training_by_programme(session, view.scope, span.first_day, span.last_day)
    enrolled, completed, employed = (
        sum(row[2] for row in rows),
        sum(row[3] for row in rows),
        sum(row[4] for row in rows),
    )
    return TrainingStats(
        scope=view.title,
        enrolled=view.count(enrolled),
        completed=view.count(completed),
        employed_within_6_months=view.count(employed),
        employment_rate=view.share(employed, completed),
        programmes=[
            ProgrammeTraining(
                base_id=base,
                programme_id=programme,
                enrolled=view.count(a),
                completed=view.count(b),
                employed_within_6_months=view.count(c),
                employment_rate=view.share(c, b),
            )
            for base, programme, a, b, c in rows
        ],
    )


async def policy(session: AsyncSession, view: View, span: Period) -> PolicyStats:
    """政策落实 per item and region; an amount is shown only where its grants are not a small count."""
    rows = await repository.policy_claims(session, view.scope, span.first_day, span.last_day)
    return PolicyStats(
        scope=view.title,
        items=[
            PolicyLine(
                policy_code=code,
                policy_name=name,
                region_code=region,
                region_name=region_name(region) if region else "未知",
                eligible=view.count(eligible),
                granted=view.count(granted),
                granted_amount=amount if view.exact or granted == 0 or granted >= SMALL else None,
                pending=view.count(pending),
            )
            for code, name, region, eligible, granted, amount, pending in rows
        ],
    )


async def bus(session: AsyncSession, view: View, span: Period, today: date) -> BusStats:
    figures = await repository.bus_figures(session, view.scope, span.first_day, span.last_day, today)
    return BusStats(
        scope=view.title,
        trips=figures["trips"],
        seats=figures["seats"],
        seats_taken=view.count(figures["seats_taken"]),
        occupancy=view.share(figures["seats_taken"], figures["seats"])
        if figures["seats_taken"] >= SMALL or view.exact
        else None,
        carried=view.count(figures["carried"]),
        unserved=view.count(figures["unserved"]),
        waitlisted=view.count(figures["waitlisted"]),
    )


async def warnings(session: AsyncSession, view: View, span: Period, on: date) -> WarningStats:
    kinds = await repository.warnings_by_kind(session, view.scope, span.first_day, span.last_day, on)
    days = await repository.resolution_days(session, view.scope, span.first_day, span.last_day)
    due, overdue = await repository.follow_ups_overdue(session, view.scope, on)
    raised, resolved, still_open = (
        sum(row[1] for row in kinds),
        sum(row[2] for row in kinds),
        sum(row[3] for row in kinds),
    )
    return WarningStats(
        scope=view.title,
        raised=view.count(raised),
        resolved=view.count(resolved),
        open=view.count(still_open),
        median_days_to_resolve=_median(days) if view.exact or _counted(days) >= SMALL else None,
        kinds=[
            WarningKind(
                kind=kind,
                label=WARNING_NAMES.get(kind, kind),
                raised=view.count(a),
                resolved=view.count(b),
                open=view.count(c),
            )
            for kind, a, b, c in kinds
        ],
        follow_ups_due=view.count(due),
        follow_ups_overdue=view.count(overdue),
    )


# --- 协作目标 ---------------------------------------------------------------------------------------------------


def agreement_out(row: AgreementRow) -> Agreement:
    return Agreement(
        id=row.id,
        title=row.title,
        jiangsu_city_code=row.jiangsu_city_code,
        jiangsu_city=JIANGSU_CITIES.get(row.jiangsu_city_code, row.jiangsu_city_code),
        partner_region_code=row.partner_region_code,
        partner_region=region_name(row.partner_region_code),
        year=row.year,
        signed_on=row.signed_on,
        targets=Targets(employed=row.target_employed, trained=row.target_trained, carried=row.target_carried),
        created_at=row.created_at,
    )


async def create_agreement(session: AsyncSession, caller: Principal, data: AgreementCreate) -> AgreementRow:
    require_role(caller, Role.admin)
    if data.jiangsu_city_code not in JIANGSU_CITIES:
        raise validation_problem("body.jiangsu_city_code", "unknown", "不是江苏省设区市代码")
    code = data.partner_region_code
    if code[:2] not in PROVINCES or code[:2] == "32" or (len(code) > 2 and division(code) is None):
        raise validation_problem(
            "body.partner_region_code", "unknown", "协作地区代码无法识别（应为江苏省外的省、市或县代码）"
        )
    row = AgreementRow(
        id=str(uuid.uuid4()),
        title=data.title,
        jiangsu_city_code=data.jiangsu_city_code,
        partner_region_code=code,
        year=data.year,
        signed_on=data.signed_on,
        target_employed=data.targets.employed,
        target_trained=data.targets.trained,
        target_carried=data.targets.carried,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def _visible_agreements(session: AsyncSession, caller: Principal) -> ColumnElement[bool]:
    require_role(caller, *READERS)
    if caller.role is Role.admin:
        return true()
    if caller.role is Role.bureau:
        return AgreementRow.jiangsu_city_code == caller.city_code
    if caller.role is Role.partner:
        return or_(*(AgreementRow.partner_region_code.startswith(code) for code in caller.provinces))
    assert caller.station_id is not None
    station = await repository.get_station(session, caller.station_id)
    if station is None:
        return AgreementRow.id.is_(None)
    return AgreementRow.partner_region_code.in_(
        [station.province_code, station.city_code, station.county_code]
    )


async def list_agreements(
    session: AsyncSession, caller: Principal, year: int | None
) -> Sequence[AgreementRow]:
    return await repository.list_agreements(session, await _visible_agreements(session, caller), year)


async def agreement_in_scope(session: AsyncSession, caller: Principal, agreement_id: str) -> AgreementRow:
    visible = await _visible_agreements(session, caller)
    rows = await repository.list_agreements(session, visible & (AgreementRow.id == agreement_id), None)
    if not rows:
        raise not_found("合作协议")
    return rows[0]


async def progress(
    session: AsyncSession, caller: Principal, agreement_id: str, on: date | None = None
) -> AgreementProgress:
    row = await agreement_in_scope(session, caller, agreement_id)
    return await agreement_progress(session, row, on or beijing_date(), exact=caller.role is Role.station)


async def agreement_progress(
    session: AsyncSession, row: AgreementRow, on: date, *, exact: bool
) -> AgreementProgress:
    """The year's progress up to `on` against the targets, and whether it keeps pace with the calendar."""
    first, last = date(row.year, 1, 1), date(row.year, 12, 31)
    days_in = max(0, (min(on, last) - first).days + 1)
    elapsed = days_in / ((last - first).days + 1)
    employed, trained, carried = await repository.agreement_progress(session, row, first, last, on)
    view = View(scope=Scope(), exact=exact, title="")

    def target(goal: int, actual: int) -> TargetProgress:
        expected = round(goal * elapsed)
        shown = view.count(actual)
        return TargetProgress(
            target=goal,
            actual=shown,
            share=round(actual / goal, 4) if goal and shown != "<5" else None,
            expected_by_now=expected,
            on_track=None if shown == "<5" else actual >= expected,
        )

    return AgreementProgress(
        agreement=agreement_out(row),
        on=min(on, last),
        year_elapsed=round(elapsed, 4),
        employed=target(row.target_employed, employed),
        trained=target(row.target_trained, trained),
        carried=target(row.target_carried, carried),
    )
