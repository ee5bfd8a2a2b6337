"""A matching replica started on a large read model (production operations, item 4): not ready until its index
is loaded, the event loop answering /healthz throughout the load (the index is built away from it), then ready
with every row in the index and its size and age on /metrics."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from eastwest.embedded import NatsServer
from eastwest.services import FACTORIES
from libs import migrations
from libs.db import create_engine
from libs.events.contracts import Benefits, Intention, JobPayload, PersonPayload
from services.matching import index, index_pages, index_rows
from services.matching.index import IndexHolder
from services.matching.models import JobView, WorkerView
from tests.harness import DatabaseFactory
from tests.integration.test_replicas import private_nats, service_settings, serving

__all__ = ["private_nats"]  # fixture

JOBS, WORKERS = 2000, 10_000
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def job_row(index: int) -> dict[str, object]:
    payload = JobPayload(
        id=f"job-{index:06d}", version=1, status="published", employer_id="employer-1", employer_name="某公司",
        employer_assistance_base=False, employer_caring=False, title=f"普工{index % 50}", description="流水线装配，长白班",
        occupation_code="6-31-01-09", industry="manufacturing", city_code="3205", headcount=5, headcount_left=5,
        salary_min=5000, salary_max=7000, age_min=None, age_max=50, education_min=None, skills=["装配"],
        certificates_required=[], benefits=Benefits(dormitory=True), shift=None, valid_until=None,
        public_welfare=False, contract_months=None, published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    row = {"id": payload.id, "version": 1, "employer_id": "employer-1", "status": "published", "headcount": 5}
    return {**row, "payload": payload.model_dump(mode="json"), "synced_at": NOW}


def worker_row(index: int) -> dict[str, object]:
    payload = PersonPayload(
        id=f"person-{index:06d}", version=1, station_id="station-1", province_code="61", gender="male",
        age=20 + index % 35, education=None, categories=["poverty_alleviated"], key_region=True, skills=["装配"],
        certificates=[], intention=Intention(occupation_codes=[], keywords="普工", city_codes=["3205"], min_salary=4000),
        status="seeking", status_since=date(2026, 1, 1), updated_at=NOW,
    )  # fmt: skip
    row = {"id": payload.id, "version": 1, "station_id": "station-1", "province_code": "61"}
    return {**row, "payload": payload.model_dump(mode="json"), "synced_at": NOW}


async def test_a_new_replica_is_ready_only_once_its_index_is_loaded(
    databases: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    settings = await service_settings(databases, private_nats.url, tmp_path, ["matching"])
    engine = create_engine(settings.database_urls["matching"])
    async with engine.begin() as connection:
        await connection.execute(insert(JobView), [job_row(index) for index in range(JOBS)])
        for start in range(0, WORKERS, 2000):
            await connection.execute(insert(WorkerView), [worker_row(i) for i in range(start, start + 2000)])
    await engine.dispose()

    app = FACTORIES["matching"](settings)
    async with serving(app) as matching:
        seen_not_ready = False
        slowest_health = 0.0
        deadline = time.monotonic() + 600  # a bound on a stuck load, not a timing assertion
        while True:
            started = time.monotonic()
            health = await matching.get("/healthz")
            slowest_health = max(slowest_health, time.monotonic() - started)
            assert health.status_code == 200
            ready = await matching.get("/readyz")
            if ready.status_code == 200:
                break
            assert ready.json()["checks"]["index"] is False
            seen_not_ready = True
            assert time.monotonic() < deadline, "the index never became ready"
            await asyncio.sleep(0.05)
        holder = app.state.index
        assert (
            seen_not_ready or holder.index.job_count == JOBS
        )  # a fast machine may load before the first look
        assert (holder.index.job_count, holder.index.worker_count) == (JOBS, WORKERS)
        metrics = (await matching.get("/metrics")).text
        sizes = {
            sample.labels["kind"]: sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == "ew_matching_index_size"
        }
        assert sizes == {"jobs": JOBS, "workers": WORKERS}
        print(f"slowest /healthz during the load: {slowest_health:.3f} s; seen not ready: {seen_not_ready}")


async def test_a_change_the_refresh_cannot_see_is_found_by_the_full_comparison(
    databases: DatabaseFactory,
) -> None:
    """A row stamped before the watermark (a transaction that committed late, a replica whose clock is behind)
    is never read by the refresh; the full comparison of versions applies it and counts it."""
    url = await databases.create("matching")
    await migrations.upgrade("matching", url)
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    holder = IndexHolder()
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(JobView), [job_row(index) for index in range(3)])
            await connection.execute(insert(WorkerView), [worker_row(index) for index in range(3)])
        await holder.refresh(sessions)
        assert (holder.index.job_count, holder.index.worker_count) == (3, 3)
        assert await holder.reconcile(sessions) == 0

        stamped_long_ago = datetime(2026, 1, 1, tzinfo=UTC)
        async with engine.begin() as connection:
            await connection.execute(insert(JobView), [{**job_row(3), "synced_at": stamped_long_ago}])
            employed = worker_row(1)
            employed["payload"]["status"] = "employed"  # type: ignore[index]
            await connection.execute(
                update(WorkerView)
                .where(WorkerView.id == employed["id"])
                .values(version=2, payload=employed["payload"], synced_at=stamped_long_ago)
            )
        await holder.refresh(sessions)
        assert not holder.index.has_job("job-000003") and holder.statuses["person-000001"] == "seeking"

        assert await holder.reconcile(sessions) == 2
        assert holder.index.has_job("job-000003") and holder.statuses["person-000001"] == "employed"
        assert await holder.reconcile(sessions) == 0
    finally:
        await engine.dispose()


async def test_a_restarted_replica_starts_from_its_kept_index_and_catches_up(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    """The index is kept on disk; a new holder (a restart) starts from it, applies what changed while it was
    down (a new job, a worker now employed, one erased), and is the index a full build would give."""
    url = await databases.create("matching")
    await migrations.upgrade("matching", url)
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    cache = tmp_path / "matching-index.pickle"
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(JobView), [job_row(index) for index in range(40)])
            await connection.execute(insert(WorkerView), [worker_row(index) for index in range(200)])
        first = IndexHolder(cache=cache)
        await first.refresh(sessions)
        await first.keep()
        assert cache.is_file() and not first.restored

        later = datetime.now(UTC)
        async with engine.begin() as connection:  # while no replica runs
            await connection.execute(insert(JobView), [{**job_row(40), "synced_at": later}])
            employed = worker_row(1)
            employed["payload"]["status"] = "employed"  # type: ignore[index]
            await connection.execute(
                update(WorkerView)
                .where(WorkerView.id == employed["id"])
                .values(version=2, payload=employed["payload"], synced_at=later)
            )
            await connection.execute(  # stamped before the watermark: only the full comparison sees it
                update(WorkerView)
                .where(WorkerView.id == "person-000002")
                .values(version=2, erased=True, synced_at=datetime(2026, 1, 1, tzinfo=UTC))
            )
        restarted = IndexHolder(cache=cache)
        await restarted.refresh(sessions)
        assert restarted.restored and restarted.warm
        assert (restarted.index.job_count, restarted.index.worker_count) == (41, 199)
        assert restarted.statuses["person-000001"] == "employed"
        built = IndexHolder()
        await built.refresh(sessions)
        restarted.index.maintain(force_refit=True)  # the idf: fitted on 40 jobs, refitted after 20 % more
        for person in ("person-000000", "person-000007"):
            assert restarted.index.recommend(person, 50, date(2026, 12, 1)) == built.index.recommend(
                person, 50, date(2026, 12, 1)
            )
        # a file from other code, or a torn one, is ignored: the index is built from the rows
        cache.write_bytes(b"not an index")
        fresh = IndexHolder(cache=cache)
        await fresh.refresh(sessions)
        assert not fresh.restored and fresh.index.job_count == 41
    finally:
        await engine.dispose()


async def test_a_large_load_made_ready_in_a_second_process_builds_the_index_one_process_builds(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full load of many rows parses and hashes its pages in a second process (a real one, spawned): the
    index it gives ranks as the one built in one process, with the same versions and statuses, closed jobs and
    erased workers left out."""
    url = await databases.create("matching")
    await migrations.upgrade("matching", url)
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    jobs = [job_row(index) for index in range(300)]
    jobs[5]["status"] = "closed"
    workers = [{**worker_row(index), "erased": index == 7} for index in range(600)]
    submitted: list[str] = []

    class Counted(ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn.__name__)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(index_pages, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(index_rows, "PAGE_ROWS", 100)  # several pages of each
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(JobView), jobs)
            await connection.execute(insert(WorkerView), workers)
        monkeypatch.setattr(index, "PAGES_APART_FROM", 0)
        apart = IndexHolder()
        await apart.refresh(sessions)
        assert {"ready_jobs", "ready_workers"} <= set(submitted)
        monkeypatch.setattr(index, "PAGES_APART_FROM", 10**9)
        submitted.clear()
        here = IndexHolder()
        await here.refresh(sessions)
        assert not submitted
        assert (apart.index.job_count, apart.index.worker_count) == (299, 599)
        assert apart._held.versions == here._held.versions and apart.statuses == here.statuses
        today = date(2026, 12, 1)
        for person in ("person-000000", "person-000031", "person-000599"):
            assert apart.index.recommend(person, 20, today) == here.index.recommend(person, 20, today)
        for job_id in ("job-000000", "job-000299"):
            assert apart.index.candidates(job_id, 20, today) == here.index.candidates(job_id, 20, today)
    finally:
        await engine.dispose()
