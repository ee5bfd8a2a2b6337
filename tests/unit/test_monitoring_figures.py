"""Monitoring's arithmetic without a database: stocks from day histograms, medians from histograms, the funnel's
first rows, the report's index, and the column SQLite is told to scan."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from services.monitoring.facts import APPLICATION_FIRSTS, _chain
from services.monitoring.models import REPORT_BREAKDOWNS, Spell, previous
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


def test_the_rows_first_in_a_range_count_each_worker_once_in_every_scope() -> None:
    """facts._chain's previous days make "workers who applied (were offered) in a range" a count of rows: in all,
    per channel, within a Jiangsu city (a bureau keeps only the rows of work there) and per channel in it."""
    rng = random.Random(5)
    rows: list[SimpleNamespace] = []
    for person in range(60):
        mine = []
        for n in range(rng.randint(1, 6)):
            submitted = START + timedelta(days=rng.randint(0, 300))
            mine.append(
                SimpleNamespace(
                    id=f"{person}-{n}",
                    person=person,
                    channel=rng.choice(["station", "online", "livestream"]),
                    jiangsu_city_code=rng.choice(["3205", "3202", None]),
                    submitted_on=submitted,
                    offered_on=submitted if rng.random() < 0.5 else None,
                    accepted_on=None,
                )
            )
        _chain(mine, "submitted_on", APPLICATION_FIRSTS)
        rows.extend(mine)
    first, last = START + timedelta(days=100), START + timedelta(days=200)
    in_range = [row for row in rows if first <= row.submitted_on <= last]
    for city in (None, "3205"):  # all, and a bureau's rows
        kept = [row for row in in_range if city is None or row.jiangsu_city_code == city]
        within, in_channel = ("", "in_channel_") if city is None else ("in_city_", "in_city_channel_")
        for step in ("", "offered_"):
            assert _firsts(kept, step, within, first) == _workers(kept, step)
            for channel in ("station", "online", "livestream"):
                mine = [row for row in kept if row.channel == channel]
                assert _firsts(mine, step, in_channel, first) == _workers(mine, step)


def _reached(row: SimpleNamespace, step: str) -> bool:
    return step == "" or row.offered_on is not None


def _firsts(rows: list[SimpleNamespace], step: str, within: str, first: date) -> int:
    before = [getattr(row, previous(step, within)) for row in rows if _reached(row, step)]
    return sum(day is None or day < first for day in before)


def _workers(rows: list[SimpleNamespace], step: str) -> int:
    return len({row.person for row in rows if _reached(row, step)})
