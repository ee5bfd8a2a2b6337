"""Monitoring's HTTP routes: the figures (scoped by the caller, small counts hidden) and the agreements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from libs.api.problems import validation_problem
from libs.api.routing import (
    XLSX,
    Caller,
    IdempotencyKey,
    Session,
    file_content,
    idempotent_create,
    service_router,
)
from libs.db import beijing_date
from services.monitoring import report, service
from services.monitoring.models import platform
from services.monitoring.schemas import (
    Agreement,
    AgreementCreate,
    AgreementList,
    AgreementProgress,
    BusStats,
    Dimension,
    EmploymentStats,
    FunnelGroup,
    FunnelStats,
    MonthlyReport,
    PolicyStats,
    RetentionStats,
    TrainingStats,
    WarningStats,
)
from services.monitoring.service import Period, View

router = service_router("monitoring")

MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"  # 2000-01 to 2099-12


@dataclass(frozen=True)
class Asked:
    """What every figure is asked for: the caller's view narrowed by filters, the period, and the day."""

    view: View
    period: Period
    on: date
    today: date


async def asked(
    session: Session,
    caller: Caller,
    start: Annotated[
        str | None, Query(alias="from", pattern=MONTH, description="起始月份 YYYY-MM（默认 11 个月前）")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", pattern=MONTH, description="截止月份 YYYY-MM（默认本月）")
    ] = None,
    on: Annotated[date | None, Query(description="统计日（默认今天）")] = None,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$", description="来源省份")] = None,
    station_id: Annotated[str | None, Query(min_length=1, max_length=36, description="联络站")] = None,
    city_code: Annotated[str | None, Query(pattern=r"^32\d{2}$", description="江苏就业城市")] = None,
) -> Asked:
    today = beijing_date()
    if on is not None and on > today:
        raise validation_problem("query.on", "in_future", "统计日不能晚于今天")
    view = await service.view_of(
        session, caller, province_code=province_code, station_id=station_id, city_code=city_code
    )
    return Asked(view=view, period=service.period(start, end, today), on=on or today, today=today)


Asking = Annotated[Asked, Depends(asked)]


@router.get("/stats/employment", response_model=EmploymentStats)
async def employment_stats(
    session: Session,
    ask: Asking,
    by: Annotated[
        Dimension,
        Query(
            description="分组：来源省/市/县、联络站、江苏城市、人员类别、重点帮扶县、行业、职业中类、就业地点、就业方式"
        ),
    ] = "province",
) -> EmploymentStats:
    """就业规模: employed on the day, by one dimension, and the month-end series with changes."""
    return await service.employment(session, ask.view, ask.on, ask.period, by, ask.today)


@router.get("/stats/retention", response_model=RetentionStats)
async def retention_stats(session: Session, ask: Asking) -> RetentionStats:
    """稳定就业: cohorts by start month, tenure, job losses and re-employment."""
    return await service.retention(session, ask.view, ask.period, ask.today)


@router.get("/stats/funnel", response_model=FunnelStats)
async def funnel_stats(
    session: Session,
    ask: Asking,
    by: Annotated[FunnelGroup, Query(description="按渠道或联络站分组")] = "channel",
) -> FunnelStats:
    """服务漏斗: registered, applied, offered, accepted, placed, still employed at 90 days."""
    return await service.funnel(session, ask.view, ask.period, by, ask.today)


@router.get("/stats/training", response_model=TrainingStats)
async def training_stats(session: Session, ask: Asking) -> TrainingStats:
    """培训: enrolled, completed, employed within six months of completing, per programme."""
    return await service.training(session, ask.view, ask.period)


@router.get("/stats/policy", response_model=PolicyStats)
async def policy_stats(session: Session, ask: Asking) -> PolicyStats:
    """政策落实: per item and region, claims arisen and grants made in the period, and claims still waiting."""
    return await service.policy(session, ask.view, ask.period)


@router.get("/stats/bus", response_model=BusStats)
async def bus_stats(session: Session, ask: Asking) -> BusStats:
    """直通车: trips, seats, occupancy, workers carried, unserved."""
    return await service.bus(session, ask.view, ask.period, ask.today)


@router.get("/stats/warnings", response_model=WarningStats)
async def warning_stats(session: Session, ask: Asking) -> WarningStats:
    """预警: raised, resolved, open, days to resolve; follow-up visits overdue."""
    return await service.warnings(session, ask.view, ask.period, ask.on)


@router.post("/agreements", status_code=201, response_model=Agreement)
async def create_agreement(
    request: Request, data: AgreementCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    """An agreement between a Jiangsu city and a partner region, with its year's targets (admins)."""

    async def create() -> tuple[int, dict[str, object]]:
        row = await service.create_agreement(session, caller, data)
        return 201, service.agreement_out(row).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/agreements", response_model=AgreementList)
async def list_agreements(
    session: Session, caller: Caller, year: Annotated[int | None, Query(ge=2016, le=2100)] = None
) -> AgreementList:
    rows = await service.list_agreements(session, caller, year)
    return AgreementList(items=[service.agreement_out(row) for row in rows])


@router.get("/agreements/{agreement_id}", response_model=Agreement)
async def get_agreement(agreement_id: str, session: Session, caller: Caller) -> Agreement:
    return service.agreement_out(await service.agreement_in_scope(session, caller, agreement_id))


@router.get("/agreements/{agreement_id}/progress", response_model=AgreementProgress)
async def agreement_progress(agreement_id: str, session: Session, caller: Caller) -> AgreementProgress:
    """Progress of the year against the targets, and whether it keeps pace with the calendar."""
    return await service.progress(session, caller, agreement_id)


@router.get(
    "/reports/monthly",
    response_model=MonthlyReport,
    responses={200: {"content": file_content(XLSX)}},
)
async def monthly_report(
    session: Session,
    caller: Caller,
    month: Annotated[str | None, Query(pattern=MONTH, description="月份 YYYY-MM（默认上月）")] = None,
    format: Annotated[
        Literal["json", "xlsx"], Query(description="json | xlsx（每个主题一张表，可打印）")
    ] = "json",
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$", description="来源省份")] = None,
    station_id: Annotated[str | None, Query(min_length=1, max_length=36, description="联络站")] = None,
    city_code: Annotated[str | None, Query(pattern=r"^32\d{2}$", description="江苏就业城市")] = None,
) -> Response:
    """调度报表: every topic for the month in the caller's scope, the scope in each sheet's title."""
    today = beijing_date()
    month = month or service.shift_month(today.strftime("%Y-%m"), -1)
    if month > today.strftime("%Y-%m"):
        raise validation_problem("query.month", "in_future", "月份不能晚于本月")
    view = await service.view_of(
        session, caller, province_code=province_code, station_id=station_id, city_code=city_code
    )
    figures = await report.monthly_report(session, caller, view, month, today)
    headers = {"Cache-Control": "no-store"}
    if format == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="{report.filename(figures)}"'
        return Response(await report.xlsx(figures), media_type=XLSX, headers=headers)
    return Response(figures.model_dump_json(), media_type="application/json", headers=headers)
