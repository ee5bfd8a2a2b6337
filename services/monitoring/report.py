"""The monthly dispatch report (调度报表): every topic for one month in the caller's scope, as JSON or as a
printable workbook (one sheet per topic, the scope and month in each title), and its publication as an event at
the start of the next month."""

from __future__ import annotations

import asyncio
from datetime import date

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling
from libs.auth import Principal
from libs.db import beijing_date, utcnow
from libs.events.contracts import REPORT_PUBLISHED, ReportPublished
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.spreadsheets import Sheet, write_workbook
from services.monitoring import service
from services.monitoring.models import PublishedReport, platform
from services.monitoring.repository import Scope
from services.monitoring.schemas import Dimension, MonthlyReport
from services.monitoring.service import Period, View, month_bounds, shift_month

log = structlog.get_logger()

SECTIONS: dict[str, tuple[Dimension, str]] = {
    "by_province": ("province", "来源省份"),
    "by_jiangsu_city": ("jiangsu_city", "江苏就业城市"),
    "by_category": ("category", "人员类别"),
    "by_how": ("how", "就业方式"),
    "by_where": ("where", "就业地点"),
}


async def monthly_report(
    session: AsyncSession, caller: Principal, view: View, month: str, today: date
) -> MonthlyReport:
    """The month's figures: stocks at its last day (today for the current month), flows within it, the twelve
    months to it as the trend, and the agreements of its year as they stood at its end."""
    first, last = month_bounds(month)
    on = min(last, today)
    the_month = Period((month,), first, on)
    twelve = service.period(shift_month(month, -11), month, today)
    figures = await service.employment_by(
        session, view, on, twelve, [dimension for dimension, _ in SECTIONS.values()], today
    )
    employment = {name: figures[dimension].breakdown for name, (dimension, _) in SECTIONS.items()}
    series = next(iter(figures.values())).series  # the same in each
    agreements = [
        await service.agreement_progress(session, row, on, exact=view.exact)
        for row in await service.list_agreements(session, caller, int(month[:4]))
    ]
    return MonthlyReport(
        month=month,
        scope=view.title,
        on=on,
        generated_at=utcnow(),
        employment=employment,
        series=series,
        retention=await service.retention(session, view, twelve, today),
        funnel=await service.funnel(session, view, the_month, "channel", today),
        training=await service.training(session, view, the_month),
        bus=await service.bus(session, view, the_month, today),
        warnings=await service.warnings(session, view, the_month, on),
        agreements=agreements,
        policy=await service.policy(session, view, the_month),
    )


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _shown(value: object) -> object:
    return "—" if value is None else value


def workbook(report: MonthlyReport) -> bytes:
    """The report as XLSX, one sheet per topic; built off the event loop by the caller."""
    title = f"{report.scope} · {report.month} 调度报表"
    latest = report.series[-1] if report.series else None
    cohorts = [cohort for cohort in report.retention.cohorts if cohort.retained_3_months is not None]
    summary = [
        ("月末在岗人数", _shown(latest.employed if latest else None)),
        ("本月新增就业", _shown(latest.started if latest else None)),
        ("比上月增减", _shown(latest.change_on_previous_month if latest else None)),
        ("比去年同月增减", _shown(latest.change_on_last_year if latest else None)),
        ("稳岗率（最近一批上岗满 3 个月）", _share(cohorts[-1].retained_3_months if cohorts else None)),
        ("培训后就业率", _share(report.training.employment_rate)),
        ("直通车运送人数", _shown(report.bus.carried)),
        ("未处理预警", _shown(report.warnings.open)),
        ("逾期未回访", _shown(report.warnings.follow_ups_overdue)),
    ]
    sheets = [
        Sheet("概要", ["指标", "数值"], summary, heading=f"{title}（截至 {report.on}）"),
        Sheet(
            "就业规模",
            ["分组", "代码", "名称", "月末在岗人数"],
            [
                (SECTIONS[name][1], cell.key or "", cell.label, cell.count)
                for name, cells in report.employment.items()
                for cell in cells
            ],
            heading=f"{title} · 就业规模（{report.on}）",
            text_headers=("代码",),
        ),
        Sheet(
            "就业趋势",
            ["月份", "月末在岗", "本月新增", "比上月", "比去年同月"],
            [
                (
                    p.month,
                    p.employed,
                    p.started,
                    _shown(p.change_on_previous_month),
                    _shown(p.change_on_last_year),
                )
                for p in report.series
            ],
            heading=f"{title} · 近 12 个月趋势",
        ),
        Sheet(
            "稳定就业",
            ["上岗月份", "上岗人数", "3 个月在岗率", "6 个月在岗率", "12 个月在岗率"],
            [
                *(
                    (
                        c.month,
                        c.placed,
                        _share(c.retained_3_months),
                        _share(c.retained_6_months),
                        _share(c.retained_12_months),
                    )
                    for c in report.retention.cohorts
                ),
                (
                    "离岗人次",
                    report.retention.ended,
                    "在岗天数中位数",
                    _shown(report.retention.median_tenure_days),
                    "",
                ),
                ("就业转失业", report.retention.job_losses, "已再就业", report.retention.re_employed, ""),
                ("再就业天数中位数", _shown(report.retention.median_days_to_re_employment), "", "", ""),
            ],
            heading=f"{title} · 稳定就业（上岗批次）",
        ),
        Sheet(
            "服务漏斗",
            ["渠道", *(step.label for step in report.funnel.total)],
            [
                ("合计", *(_shown(step.count) for step in report.funnel.total)),
                *(
                    (group.label, *(_shown(step.count) for step in group.steps))
                    for group in report.funnel.groups
                ),
            ],
            heading=f"{title} · 服务漏斗（登记、推荐不分渠道）",
        ),
        Sheet(
            "培训",
            ["培训基地", "培训班", "报名", "结业", "结业后 6 个月内就业", "培训后就业率"],
            [
                (
                    "合计",
                    "",
                    report.training.enrolled,
                    report.training.completed,
                    report.training.employed_within_6_months,
                    _share(report.training.employment_rate),
                ),
                *(
                    (
                        p.base_id,
                        p.programme_id,
                        p.enrolled,
                        p.completed,
                        p.employed_within_6_months,
                        _share(p.employment_rate),
                    )
                    for p in report.training.programmes
                ),
            ],
            heading=f"{title} · 培训",
        ),
        Sheet(
            "直通车",
            ["指标", "数值"],
            [
                ("发车班次", report.bus.trips),
                ("座位", report.bus.seats),
                ("已确认座位", report.bus.seats_taken),
                ("上座率", _share(report.bus.occupancy)),
                ("运送人数", report.bus.carried),
                ("未能安排", report.bus.unserved),
                ("候补中", report.bus.waitlisted),
            ],
            heading=f"{title} · 就业帮扶直通车",
        ),
        Sheet(
            "预警",
            ["预警类型", "新增", "已处理", "未处理"],
            [
                ("合计", report.warnings.raised, report.warnings.resolved, report.warnings.open),
                *((kind.label, kind.raised, kind.resolved, kind.open) for kind in report.warnings.kinds),
                ("处理天数中位数", _shown(report.warnings.median_days_to_resolve), "", ""),
                ("应回访 / 逾期", report.warnings.follow_ups_due, report.warnings.follow_ups_overdue, ""),
            ],
            heading=f"{title} · 预警与回访",
        ),
        Sheet(
            "协作目标",
            [
                "协议",
                "江苏城市",
                "协作地区",
                "指标",
                "年度目标",
                "完成",
                "完成比例",
                "时间进度应完成",
                "是否达到进度",
            ],
            [
                (
                    progress.agreement.title,
                    progress.agreement.jiangsu_city,
                    progress.agreement.partner_region,
                    label,
                    figure.target,
                    figure.actual,
                    _share(figure.share),
                    figure.expected_by_now,
                    "—" if figure.on_track is None else "是" if figure.on_track else "否",
                )
                for progress in report.agreements
                for label, figure in (
                    ("来苏就业", progress.employed),
                    ("培训", progress.trained),
                    ("直通车运送", progress.carried),
                )
            ],
            heading=f"{title} · 协作目标进度",
        ),
        Sheet(
            "政策落实",
            ["政策项目", "地区代码", "地区", "新增符合条件", "本月发放", "发放金额（元）", "待办"],
            [
                (
                    line.policy_name,
                    line.region_code or "",
                    line.region_name,
                    line.eligible,
                    line.granted,
                    _shown(line.granted_amount),
                    line.pending,
                )
                for line in report.policy.items
            ],
            heading=f"{title} · 政策落实（拟享受政策对象清单）",
            text_headers=("地区代码",),
        ),
    ]
    notes = [
        ("统计范围", report.scope),
        ("小数保护", "少于 5 人的数字显示为“<5”（所属联络站本站查看时除外），相关比例不显示"),
        ("生成时间", report.generated_at.isoformat(timespec="seconds")),
    ]
    return write_workbook(sheets, notes)


async def xlsx(report: MonthlyReport) -> bytes:
    return await asyncio.to_thread(workbook, report)


# --- publication ------------------------------------------------------------------------------------------------


async def publish_due(session: AsyncSession, today: date) -> str | None:
    """Last month's report, published once (the month's row is the guard across replicas): its event carries
    where to read it and the platform-wide headline figures. The month published, or None."""
    month = shift_month(today.strftime("%Y-%m"), -1)
    if await session.get(PublishedReport, month) is not None:
        return None
    view = View(scope=Scope(), exact=False, title="全部")
    first, last = month_bounds(month)
    span = Period((month,), first, last)
    figures = await service.employment(session, view, last, span, "province", today)
    funnel = await service.funnel(session, view, span, "channel", today)
    warnings = await service.warnings(session, view, span, last)
    placed = next(step.count for step in funnel.total if step.step == "placed")
    session.add(PublishedReport(month=month, published_at=utcnow()))
    await session.flush()
    payload = ReportPublished(
        month=month,
        url=f"/v1/reports/monthly?month={month}",
        employed=figures.employed,
        started=figures.series[-1].started,
        placed=placed if placed is not None else 0,
        warnings_open=warnings.open,
        published_at=utcnow(),
    )
    await add_event(
        session,
        platform.outbox,
        new_event("monitoring", REPORT_PUBLISHED, month, payload.model_dump(mode="json")),
    )
    return month


async def run_publication(sessions: async_sessionmaker[AsyncSession], every_seconds: float) -> None:
    """Looks every `every_seconds` whether last month's report is out; publishes it when not."""
    while True:
        try:
            async with sessions.begin() as session:
                month = await publish_due(session, beijing_date())
            if month:
                log.info("monitoring.report_published", month=month)
        except asyncio.CancelledError:
            raise
        except IntegrityError:
            pass  # another replica published it first
        except Exception as error:  # the database away for a moment: look again next time
            raise_if_cancelling(error)
            log.warning("monitoring.report_publication_failed", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(every_seconds)


def filename(report: MonthlyReport) -> str:
    return f"eastwest-monthly-report-{report.month}.xlsx"
