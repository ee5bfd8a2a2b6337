"""Timing, memory, the service's statements and their plans, and the DuckDB copy."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sqlite3
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlalchemy import Boolean, Date, Integer, event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.monitoring.baselines import SqliteDb, Statement
from bench.monitoring.common import err
from bench.monitoring.figures import Case
from bench.monitoring.history import FACT_TABLES, quoted
from services.monitoring.models import Base

# ---------------------------------------------------------------------------------------------- measuring


def _status_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Resets VmHWM to the current RSS (Linux 4.0+); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


async def memory_of(call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    gc.collect()
    before = _status_kb("VmRSS")
    peak_rss: float | None = None
    if reset_peak_rss():
        await call()
        peak_rss = max(0, _status_kb("VmHWM") - before) / 1024
    tracemalloc.start()
    try:
        await call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"rss_peak_mb": -1.0 if peak_rss is None else peak_rss, "python_peak_mb": peak / 2**20}


@contextlib.contextmanager
def recording(engine: AsyncEngine, into: list[Statement]) -> Iterator[None]:
    """The service's statements, with their time (execute and fetch in aiosqlite's thread)."""

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        started = conn.info["bench_started"].pop()
        into.append(Statement(statement, list(parameters or ()), (time.perf_counter() - started) * 1000, -1))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


def check_same(case: Case, answers: dict[str, Any]) -> None:
    """The service's figures equal the baselines' (hidden the same way); the two baselines' numbers agree."""
    service_numbers = answers["service"]
    sqlite_raw, sqlite_shown = answers["sqlite"]
    duckdb_raw, duckdb_shown = answers["duckdb"]
    problems = []
    if "postgres" in answers and answers["postgres"] != service_numbers:
        problems.append(f"service {service_numbers!r}\n   on PostgreSQL {answers['postgres']!r}")
    if service_numbers != sqlite_shown:
        problems.append(f"service {service_numbers!r}\n   sqlite {sqlite_shown!r}")
    if sqlite_raw != duckdb_raw:
        problems.append(f"sqlite raw {sqlite_raw!r}\n   duckdb raw {duckdb_raw!r}")
    if sqlite_shown != duckdb_shown:
        problems.append(f"sqlite {sqlite_shown!r}\n   duckdb {duckdb_shown!r}")
    if problems:
        raise AssertionError(f"{case.label}: the figures differ\n" + "\n".join(p[:3000] for p in problems))


async def prepare(case: Case, engine: AsyncEngine, sqlite_db: SqliteDb) -> None:
    """A warm-up call of each variant (their answers compared), calls with the statements recorded (service
    twice, SQLite once; with EXPLAIN QUERY PLAN), and the calls that measure memory."""
    answers = {variant: await run() for variant, run in case.runs.items()}
    check_same(case, answers)
    calls: list[list[Statement]] = [[], []]
    for statements in calls:  # twice: each statement's faster time of the two (one call is noisy)
        with recording(engine, statements):
            await case.runs["service"]()
    case.statements = calls[0]
    if [s.sql for s in calls[0]] == [s.sql for s in calls[1]]:
        for first, second in zip(*calls, strict=True):
            first.ms = min(first.ms, second.ms)
    sqlite_db.recorded = case.baseline_statements
    try:
        await case.runs["sqlite"]()
    finally:
        sqlite_db.recorded = None
    for statement in [*case.statements, *case.baseline_statements]:
        statement.plan = sqlite_db.plan(statement.sql, statement.params)
    for variant, run in case.runs.items():
        case.memory[variant] = await memory_of(run)


async def measure(cases: list[Case], args: argparse.Namespace) -> None:
    for round_index in range(args.repeats):
        active = [
            case
            for case in cases
            if len(case.samples["service"]) < args.min_repeats or case.spent < args.budget
        ]
        if not active:
            break
        started = time.perf_counter()
        for case in active:
            variants = case.variants
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                other = case.other_cpu.get(variant)
                before = other() if other else 0.0
                _, wall, cpu = await timed(case.runs[variant])
                case.samples[variant].append((wall, cpu + (other() - before if other else 0.0)))
                case.spent += wall
        err.print(
            f"[dim]  round {round_index + 1}/{args.repeats}: {len(active)} figures, "
            f"{time.perf_counter() - started:.1f} s[/]"
        )


# ---------------------------------------------------------------------------------------------- DuckDB copy


def duckdb_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, Date):
        return "DATE"
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    if isinstance(kind, Integer):
        return "INTEGER"
    return "VARCHAR"


def load_duckdb(path: Path, threads: int | None) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """Every table of the SQLite file copied into an in-memory DuckDB, through numpy object arrays (no
    extension, no pandas or pyarrow; duckdb scans a dict of numpy arrays natively)."""
    started = time.perf_counter()
    rss_before = _status_kb("VmRSS")
    connection = duckdb.connect(":memory:")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    source = sqlite3.connect(path)
    try:
        for name in (*FACT_TABLES, "recommendations", "workers", "trips", "stations", "jobs", "agreements"):
            table = Base.metadata.tables[name]
            columns = list(table.columns)
            types = [duckdb_type(column) for column in columns]
            connection.execute(
                f"CREATE TABLE {name} ("
                + ", ".join(f"{quoted(c.name)} {t}" for c, t in zip(columns, types, strict=True))
                + ")"
            )
            cursor = source.execute(f"SELECT {', '.join(quoted(c.name) for c in columns)} FROM {name}")
            while chunk := cursor.fetchmany(200_000):
                arrays = {
                    f"c{i}": np.array(values, dtype=object)
                    for i, values in enumerate(zip(*chunk, strict=True))
                }
                connection.register("chunk", arrays)
                connection.execute(
                    f"INSERT INTO {name} SELECT "
                    + ", ".join(f"CAST(c{i} AS {t})" for i, t in enumerate(types))
                    + " FROM chunk"
                )
                connection.unregister("chunk")
    finally:
        source.close()
    gc.collect()
    memory: float | None = None
    with contextlib.suppress(duckdb.Error):
        found = connection.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        memory = None if found is None or found[0] is None else float(found[0]) / 2**20
    threads_used = connection.execute("SELECT current_setting('threads')").fetchone()
    info = {
        "seconds": time.perf_counter() - started,
        "duckdb_memory_mb": memory,
        "rss_growth_mb": (_status_kb("VmRSS") - rss_before) / 1024,
        "threads": None if threads_used is None else threads_used[0],
        "how": "sqlite3 fetchmany -> numpy object arrays -> INSERT ... SELECT CAST(...) FROM a registered dict "
        "(the sqlite scanner extension would be downloaded at run time; not used)",
    }
    return connection, info
