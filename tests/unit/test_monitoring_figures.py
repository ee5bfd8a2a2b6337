"""Monitoring's arithmetic without a database: stocks from day histograms, medians from histograms, the report's
index, and the column SQLite is told to scan."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from services.monitoring.models import REPORT_BREAKDOWNS, Spell
from services.monitoring.report import SECTIONS
from services.monitoring.repository import DIMENSIONS, _running, unindexed
from services.monitoring.service import _median

START = date(2025, 1, 1)


def test_the_stock_on_a_day_is_starts_less_ends_by_then() -> None:
    rng = random.Random(7)
    spells: list[tuple[date, date | None]] = []
    for _ in range(500):
        started = START + timedelta(days=rng.randint(0, 400))
        ended = started + timedelta(days=rng.randint(1, 200)) if rng.random() < 0.6 else None
        spells.append((started, ended))
    starts = sorted(Counter(started for started, _ in spells).items())
    ends = sorted(Counter(ended for _, ended in spells if ended).items())
    days = sorted({START + timedelta(days=rng.randint(-10, 700)) for _ in range(60)})
    stock = [a - b for a, b in zip(_running(starts, days), _running(ends, days), strict=True)]
    truth = [sum(s <= day and (e is None or e > day) for s, e in spells) for day in days]
    assert stock == truth
    assert _running([], days) == [0] * len(days)


def test_a_median_from_a_histogram_is_the_median_of_its_values() -> None:
    rng = random.Random(11)
    for size in (1, 2, 3, 10, 101):
        values = [rng.randint(0, 30) for _ in range(size)]
        histogram: list[tuple[int | None, int]] = list(Counter(values).items())
        histogram.append((None, 4))  # counted elsewhere (no next job yet), not in the median
        rng.shuffle(histogram)
        assert _median(histogram) == statistics.median(values)
    assert _median([(None, 3)]) is None
    assert _median([]) is None


def test_the_report_index_holds_the_report_breakdowns() -> None:
    """The monthly report counts its breakdowns in one pass over `ix_spells_report`, in its order."""
    columns = [DIMENSIONS[dimension].key for dimension, _ in SECTIONS.values()]
    assert tuple(columns) == REPORT_BREAKDOWNS
    index = next(index for index in Spell.__table__.indexes if index.name == "ix_spells_report")
    assert [column.name for column in index.columns][: len(columns)] == columns


def test_sqlite_is_told_to_scan_the_column_and_postgresql_sees_it_plainly() -> None:
    query = select(Spell.id).where(unindexed(Spell.started_on) <= date(2026, 1, 1))
    assert "+spells.started_on <=" in str(query.compile(dialect=sqlite.dialect()))
    assert "WHERE spells.started_on <=" in str(query.compile(dialect=postgresql.dialect()))
