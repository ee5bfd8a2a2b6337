"""The figures as the service computes them, and the cases (figure x caller) the run times."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.monitoring.baselines import (
    Context,
    Db,
    SqlScope,
    Statement,
    bus_assemble,
    bus_numbers,
    bus_raw,
    employment_assemble,
    employment_numbers,
    employment_raw,
    funnel_assemble,
    funnel_numbers,
    funnel_raw,
    progress_assemble,
    progress_numbers,
    progress_raw,
    report_assemble,
    report_numbers,
    report_raw,
    retention_assemble,
    retention_numbers,
    retention_raw,
    training_assemble,
    training_numbers,
    training_raw,
    warnings_assemble,
    warnings_numbers,
    warnings_raw,
)
from bench.monitoring.common import VARIANTS
from libs.auth import Principal
from services.monitoring import report, service
from services.monitoring.schemas import Dimension
from services.monitoring.service import View

# ---------------------------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Figure:
    name: str
    call: Callable[[AsyncSession, View, Principal, Context], Awaitable[Any]]  # the service
    raw: Callable[[Db, SqlScope, Context], Any]  # the baseline's numbers
    assemble: Callable[[View, Context, Any], Any]  # ... shown as the service shows them (small counts hidden)
    numbers: Callable[[Any], Any]  # the service's answer, in the same shape


async def _employment(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.employment(
        session, view, ctx.on, ctx.span, cast(Dimension, ctx.dimension), ctx.today
    )


async def _retention(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.retention(session, view, ctx.span, ctx.today)


async def _funnel(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.funnel(session, view, ctx.span, "channel", ctx.today)


async def _training(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.training(session, view, ctx.span)


async def _bus(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.bus(session, view, ctx.span, ctx.today)


async def _warnings(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.warnings(session, view, ctx.span, ctx.on)


async def _progress(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    return await service.progress(session, caller, ctx.agreement_id, ctx.today)


async def _report(session: AsyncSession, view: View, caller: Principal, ctx: Context) -> Any:
    month = service.shift_month(ctx.today.strftime("%Y-%m"), -1)
    return await report.monthly_report(session, caller, view, month, ctx.today)


REPORT = "monthly_report"
FIGURES = {
    figure.name: figure
    for figure in (
        Figure("employment", _employment, employment_raw, employment_assemble, employment_numbers),
        Figure("retention", _retention, retention_raw, retention_assemble, retention_numbers),
        Figure("funnel", _funnel, funnel_raw, funnel_assemble, funnel_numbers),
        Figure("training", _training, training_raw, training_assemble, training_numbers),
        Figure("bus", _bus, bus_raw, bus_assemble, bus_numbers),
        Figure("warnings", _warnings, warnings_raw, warnings_assemble, warnings_numbers),
        Figure("progress", _progress, progress_raw, progress_assemble, progress_numbers),
        Figure(REPORT, _report, report_raw, report_assemble, report_numbers),
    )
}


@dataclass(frozen=True)
class Caller:
    label: str
    principal: Principal
    scope: SqlScope
    view: View  # as service.view_of gives it (for hiding small counts the service's way)


@dataclass
class Case:
    figure: str
    caller: Caller
    runs: dict[str, Callable[[], Awaitable[Any]]]
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    # per variant, CPU seconds used so far by the processes that do its work besides this one (the server)
    other_cpu: dict[str, Callable[[], float]] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    baseline_statements: list[Statement] = field(default_factory=list)
    spent: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.figure} / {self.caller.label}"

    @property
    def variants(self) -> list[str]:
        return [variant for variant in VARIANTS if variant in self.runs]


def make_case(
    figure: Figure,
    caller: Caller,
    sessions: async_sessionmaker[AsyncSession],
    dbs: dict[str, Db],
    ctx: Context,
    postgres: PostgresService | None = None,
) -> Case:
    def on(sessions: async_sessionmaker[AsyncSession]) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            async with sessions() as session, session.begin():
                view = await service.view_of(session, caller.principal)  # as the route asks for it
                answer = await figure.call(session, view, caller.principal, ctx)
            return figure.numbers(answer)

        return call

    def baseline(db: Db) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            raw = figure.raw(db, caller.scope, ctx)
            return raw, figure.assemble(caller.view, ctx, raw)

        return call

    runs = {"service": on(sessions), "sqlite": baseline(dbs["sqlite"]), "duckdb": baseline(dbs["duckdb"])}
    case = Case(figure.name, caller, runs)
    if postgres is not None:
        case.runs["postgres"] = on(postgres.sessions)
        case.other_cpu["postgres"] = postgres.server_cpu
    return case


@dataclass(frozen=True)
class PostgresService:
    """The service's sessions on the PostgreSQL copy, and the server's CPU seconds so far."""

    sessions: async_sessionmaker[AsyncSession]
    server_cpu: Callable[[], float]
