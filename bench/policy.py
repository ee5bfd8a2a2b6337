"""Policy's eligibility assessment: what a condition costs, what a placement event costs, and how long the
sweep takes to assess every occasion again after the catalogue changes.

Three measurements, each against a baseline in the same run, interleaved round by round (so that a busy
moment of the machine falls on both), with wall and CPU seconds of this process:

1. `condition`: the seed's transport-subsidy condition evaluated by CEL (`services.policy.rules.evaluate`, the
   program compiled once), against the same rule written as a Python expression (the floor any evaluator pays
   for the facts' dictionaries).
2. `placement event`: `facts.confirm_placement`, one transaction per event (what the consumer does: store the
   fact and assess it against every placement item), against storing the same fact row alone.
3. `sweep`: after an admin changes one item, every placement is behind the catalogue's revision; the time for
   the sweep (batches of 200, one transaction each) to assess them all again, against a sweep with nothing
   behind (the queries that find nothing to do).

The database is SQLite (a file, WAL, as `make run` uses) migrated to policy's head; workers are seeded as
the person consumer leaves them. No assertions: it prints a table and writes JSON.

    .venv/bin/python -m bench.policy                      # 2,000 workers, 20,000 evaluations (about 1 min)
    .venv/bin/python -m bench.policy --workers 10000 --json /tmp/policy.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.runner import machine_info
from libs import migrations
from libs.db import beijing_date, create_engine, session_factory
from libs.events.contracts import PlacementConfirmed
from services.policy.eligibility import assessing, facts
from services.policy.eligibility.models import Placement, Station, Worker
from services.policy.models import PolicyRow, PolicyVersionRow
from services.policy.rules import OCCASIONS, evaluate

TRANSPORT = (
    'worker.categories.exists(c, c in ["poverty_alleviated", "registered_low_income", "rural_low_income"])'
    " && placement.cross_province && placement.months_employed >= 3"
)
POVERTY = {"poverty_alleviated", "registered_low_income", "rural_low_income"}


def python_rule(facts_: dict[str, Any]) -> bool:
    return (
        any(c in POVERTY for c in facts_["worker.categories"])
        and facts_["placement.cross_province"]
        and facts_["placement.months_employed"] >= 3
    )


class Clock:
    """Wall and CPU seconds of this process, added up over the rounds of one side."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def run(self, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu

    async def run_async(self, work: Callable[[], Awaitable[object]]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        await work()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def condition_bench(evaluations: int, rounds: int) -> dict[str, Any]:
    base = {fact.name: fact.example for fact in OCCASIONS["placement"].facts}
    samples = [
        {**base, "placement.months_employed": n % 7, "placement.cross_province": n % 5 != 0}
        for n in range(100)
    ]
    assert all(evaluate(TRANSPORT, s) == python_rule(s) for s in samples)
    cel, python = Clock(), Clock()
    per_round = max(1, evaluations // rounds)
    for _ in range(rounds):
        cel.run(lambda: [evaluate(TRANSPORT, samples[i % 100]) for i in range(per_round)])
        python.run(lambda: [python_rule(samples[i % 100]) for i in range(per_round)])
    n = per_round * rounds
    return {
        "evaluations": n,
        "cel": {"wall_s": cel.wall, "cpu_s": cel.cpu, "us_per_eval": cel.cpu / n * 1e6},
        "python": {"wall_s": python.wall, "cpu_s": python.cpu, "us_per_eval": python.cpu / n * 1e6},
    }


async def seed(sessions: async_sessionmaker[AsyncSession], workers: int) -> list[str]:
    station = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(workers)]
    async with sessions.begin() as session:
        session.add(
            Station(id=station, version=1, province_code="52", city_code="5206", county_code="520602")
        )
        for n, person in enumerate(ids):
            categories = ["poverty_alleviated"] if n % 4 else ["dibao"]
            session.add(
                Worker(
                    id=person,
                    version=1,
                    station_id=station,
                    province_code="52",
                    categories=categories,
                    key_region=n % 3 == 0,
                    age=30,
                    erased=False,
                )
            )
    return ids


def confirmed(person: str, start: date) -> PlacementConfirmed:
    return PlacementConfirmed(
        placement_id=str(uuid.uuid4()),
        person_id=person,
        job_id=str(uuid.uuid4()),
        start_date=start,
        employer_id="employer-1",
        city_code="3205",
    )


async def extend_all(sessions: async_sessionmaker[AsyncSession]) -> None:
    """An admin's change: every placement item runs to 2027 (a new version, so the catalogue's revision moves)."""
    async with sessions.begin() as session:
        for row in (await session.scalars(select(PolicyRow))).all():
            if row.item["occasion"] != "placement":
                continue
            row.item = {**row.item, "valid_to": "2027-12-31"}
            row.valid_to = date(2027, 12, 31)
            row.version += 1
            session.add(
                PolicyVersionRow(
                    code=row.code,
                    version=row.version,
                    item=row.item,
                    changed_by="bench",
                    changed_at=datetime.now(UTC),
                    note="bench",
                )
            )


async def sweep_all(sessions: async_sessionmaker[AsyncSession], today: date) -> int:
    done = 0
    while True:
        async with sessions.begin() as session:
            batch = await assessing.sweep(session, today, 200)
        done += batch
        if batch < 200:
            return done


async def platform_bench(workers: int, rounds: int, folder: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{folder / 'policy.db'}"
    await migrations.upgrade("policy", url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        people = await seed(sessions, workers)
        await extend_all(sessions)  # in force, so that assessments find claims
        today = beijing_date()
        assessed, stored = Clock(), Clock()
        per_round = max(1, len(people) // (2 * rounds))
        queue = list(people)

        async def events(batch: list[str], assess: bool) -> None:
            for n, person in enumerate(batch):
                event = confirmed(person, today - timedelta(days=30 + n % 150))
                async with sessions.begin() as session:
                    if assess:
                        await facts.confirm_placement(session, event)
                    else:
                        session.add(
                            Placement(
                                id=event.placement_id,
                                person_id=person,
                                job_id=event.job_id,
                                employer_id=event.employer_id,
                                city_code=event.city_code,
                                started_on=event.start_date,
                            )
                        )

        for _ in range(rounds):
            with_assessment, store_only = queue[:per_round], queue[per_round : 2 * per_round]
            queue = queue[2 * per_round :]
            await assessed.run_async(lambda b=with_assessment: events(b, True))
            await stored.run_async(lambda b=store_only: events(b, False))
        n_events = per_round * rounds

        idle, full = Clock(), Clock()
        await sweep_all(sessions, today)  # the stored-only placements assessed once (not measured)
        await idle.run_async(lambda: sweep_all(sessions, today))
        await extend_all(sessions)
        occasions: list[int] = []
        await full.run_async(lambda: _count(occasions, sweep_all(sessions, today)))
        await idle.run_async(lambda: sweep_all(sessions, today))
        return {
            "workers": workers,
            "placement_event": {
                "events": n_events,
                "assessed": {
                    "wall_s": assessed.wall,
                    "cpu_s": assessed.cpu,
                    "ms_per_event": assessed.wall / n_events * 1e3,
                },
                "stored_only": {
                    "wall_s": stored.wall,
                    "cpu_s": stored.cpu,
                    "ms_per_event": stored.wall / n_events * 1e3,
                },
            },
            "sweep": {
                "occasions": occasions[0],
                "after_change": {
                    "wall_s": full.wall,
                    "cpu_s": full.cpu,
                    "per_second": occasions[0] / full.wall,
                },
                "nothing_due": {"wall_s": idle.wall / 2, "cpu_s": idle.cpu / 2},
            },
        }
    finally:
        await engine.dispose()


async def _count(into: list[int], work: Awaitable[int]) -> None:
    into.append(await work)


def table(result: dict[str, Any]) -> str:
    c, p, s = result["condition"], result["platform"]["placement_event"], result["platform"]["sweep"]
    rows = [
        (
            "condition (CEL)",
            f"{c['cel']['us_per_eval']:.1f} µs CPU per evaluation",
            f"{c['cel']['wall_s']:.2f} s / {c['evaluations']}",
        ),
        (
            "condition (Python, baseline)",
            f"{c['python']['us_per_eval']:.1f} µs CPU per evaluation",
            f"{c['python']['wall_s']:.2f} s",
        ),
        (
            "placement event, assessed",
            f"{p['assessed']['ms_per_event']:.2f} ms per event",
            f"CPU {p['assessed']['cpu_s']:.2f} s / {p['events']}",
        ),
        (
            "placement event, stored only (baseline)",
            f"{p['stored_only']['ms_per_event']:.2f} ms per event",
            f"CPU {p['stored_only']['cpu_s']:.2f} s",
        ),
        (
            "sweep after a catalogue change",
            f"{s['after_change']['per_second']:.0f} occasions/s",
            f"{s['occasions']} in {s['after_change']['wall_s']:.2f} s, CPU {s['after_change']['cpu_s']:.2f} s",
        ),
        (
            "sweep with nothing due (baseline)",
            f"{s['nothing_due']['wall_s'] * 1e3:.1f} ms",
            f"CPU {s['nothing_due']['cpu_s'] * 1e3:.1f} ms",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {what:<36}  {extra}" for name, what, extra in rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2000)
    parser.add_argument("--evaluations", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("var/bench/policy.json"))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "condition": condition_bench(args.evaluations, args.rounds),
    }
    with tempfile.TemporaryDirectory(prefix="ew-bench-policy-") as folder:
        result["platform"] = asyncio.run(platform_bench(args.workers, args.rounds, Path(folder)))
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
