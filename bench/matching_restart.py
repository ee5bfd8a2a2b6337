"""Matching's start: how long a replica takes to be ready on a large read model, built from the rows (a first
start, or a cache from other code) against restored from the index it kept (a restart).

Writes `--workers` workers and `--jobs` jobs (synthetic, services/matching/synthetic.py, as the consumers leave
them) into a fresh SQLite file migrated to head, then, interleaved over `--rounds`: a holder with no cache loads
from the rows (`IndexHolder.refresh`), keeps its index (`IndexHolder.keep`), and a second holder restores from
it, catches up and compares every row's version. Wall and CPU seconds of each step (the CPU of a build's second
process included), the cache's size and the process's peak memory. No assertions.

    .venv/bin/python -m bench.matching_restart                                  # 100k workers x 200k jobs
    .venv/bin/python -m bench.matching_restart --workers 20000 --jobs 20000 --json /tmp/restart.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/matching_restart.py`
    sys.path.insert(0, str(ROOT))

from bench.runner import machine_info  # noqa: E402
from libs import migrations  # noqa: E402
from libs.db import create_engine  # noqa: E402
from libs.observability import configure_logging  # noqa: E402
from services.matching.features import JobFeatures, WorkerFeatures  # noqa: E402
from services.matching.index import IndexHolder  # noqa: E402
from services.matching.models import JobView, WorkerView  # noqa: E402
from services.matching.synthetic import make_jobs, make_workers  # noqa: E402

console = Console()
if not console.is_terminal:
    console.width = 160
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
BATCH = 5000


def job_row(job: JobFeatures, synced_at: datetime) -> dict[str, Any]:
    payload = {
        "id": job.id, "version": 1, "status": "published", "employer_id": "employer-1", "employer_name": "某公司",
        "employer_assistance_base": job.employer_assistance_base, "employer_caring": False, "title": job.title,
        "description": job.description, "occupation_code": job.occupation_code, "industry": "manufacturing",
        "city_code": job.city_code, "headcount": max(1, job.headcount_left), "headcount_left": job.headcount_left,
        "salary_min": job.salary_min, "salary_max": job.salary_max, "age_min": job.age_min, "age_max": job.age_max,
        "education_min": None, "skills": list(job.skills), "certificates_required": list(job.certificates_required),
        "benefits": {"dormitory": job.dormitory, "meals": job.meals}, "shift": None,
        "valid_until": job.valid_until.isoformat() if job.valid_until else None, "public_welfare": False,
        "contract_months": None, "published_at": NOW.isoformat(), "updated_at": NOW.isoformat(),
    }  # fmt: skip
    row = {"id": job.id, "version": 1, "employer_id": "employer-1", "status": "published"}
    return {**row, "headcount": payload["headcount"], "payload": payload, "synced_at": synced_at}


def worker_row(worker: WorkerFeatures, synced_at: datetime) -> dict[str, Any]:
    payload = {
        "id": worker.id, "version": 1, "station_id": worker.station_id, "province_code": worker.province_code,
        "gender": worker.gender, "age": worker.age, "education": None, "categories": list(worker.categories),
        "key_region": worker.key_region, "skills": list(worker.skills), "certificates": list(worker.certificates),
        "speciality": worker.history or None, "intention": {
            "occupation_codes": list(worker.occupation_codes), "keywords": worker.keywords,
            "city_codes": list(worker.city_codes), "min_salary": worker.min_salary,
            "needs_dormitory": worker.needs_dormitory,
            "available_from": worker.available_from.isoformat() if worker.available_from else None,
        },
        "status": "seeking", "status_since": "2026-01-01", "updated_at": NOW.isoformat(),
    }  # fmt: skip
    row = {
        "id": worker.id,
        "version": 1,
        "station_id": worker.station_id,
        "province_code": worker.province_code,
    }
    return {**row, "payload": payload, "synced_at": synced_at}


def _at(second: int) -> datetime:
    return NOW + timedelta(seconds=second)


async def seed(url: str, n_workers: int, n_jobs: int) -> None:
    await migrations.upgrade("matching", url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        jobs = make_jobs(n_jobs, seed=3, today=TODAY)
        # rows arrived over time, a second apart (the refresh re-reads only the last few seconds' after a restart)
        for start in range(0, n_jobs, BATCH):
            batch = jobs[start : start + BATCH]
            await connection.execute(
                insert(JobView), [job_row(j, _at(start + i)) for i, j in enumerate(batch)]
            )
        workers = make_workers(n_workers, seed=3, today=TODAY)
        for start in range(0, n_workers, BATCH):
            people = workers[start : start + BATCH]
            rows = [worker_row(w, _at(n_jobs + start + i)) for i, w in enumerate(people)]
            await connection.execute(insert(WorkerView), rows)
    await engine.dispose()


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (a build's second process)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


async def timed(step: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), _cpu()
    result = await step
    wall = time.perf_counter() - wall
    for (
        child
    ) in multiprocessing.active_children():  # a build's second process, waited for (reaped) off the wall
        await asyncio.to_thread(child.join)
    return wall, _cpu() - cpu, result


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{workdir / 'matching.db'}"
    console.print(f"[dim]seeding {args.workers:,} workers and {args.jobs:,} jobs[/]")
    await seed(url, args.workers, args.jobs)
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    cache = workdir / "matching-index.pickle"
    steps: dict[str, list[tuple[float, float]]] = {"build from the rows": [], "keep": [], "restore": []}
    try:
        for round_number in range(args.rounds):
            cache.unlink(missing_ok=True)
            cold = IndexHolder(cache=cache)
            wall, cpu, _ = await timed(cold.refresh(sessions))
            steps["build from the rows"].append((wall, cpu))
            wall, cpu, _ = await timed(cold.keep())
            steps["keep"].append((wall, cpu))
            size = cache.stat().st_size
            del cold
            warm = IndexHolder(cache=cache)
            wall, cpu, _ = await timed(warm.refresh(sessions))
            steps["restore"].append((wall, cpu))
            assert warm.restored and warm.index.worker_count == args.workers
            console.print(f"[dim]round {round_number + 1} done[/]")
            del warm
    finally:
        await engine.dispose()
    table = Table(
        title=f"matching start: {args.workers:,} workers x {args.jobs:,} jobs", title_justify="left"
    )
    for name in ("step", "best wall s", "best CPU s"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for name, values in steps.items():
        table.add_row(name, f"{min(w for w, _ in values):.1f}", f"{min(c for _, c in values):.1f}")
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"kept index: {size / 2**20:,.0f} MiB; peak memory of the process: {peak:,.0f} MiB")
    return {
        "benchmark": "matching_restart",
        "at": datetime.now(UTC).isoformat(),
        "machine": machine_info(),
        "workers": args.workers,
        "jobs": args.jobs,
        "steps": steps,
        "cache_bytes": size,
        "peak_rss_mib": peak,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="ew-matching-restart-"))
    try:
        report = asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        console.print(f"results: {args.json}")


if __name__ == "__main__":
    main()
