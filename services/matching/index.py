"""The in-memory ranking index of one matching process, kept in step with the read-model tables.

Consumers write the tables (one replica handles each event); every replica refreshes its own index from the
tables: rows synced since the last look, with an overlap so a transaction that committed late is not missed
(upserts are idempotent, versions decide)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import wait_event
from libs.db import beijing_date
from libs.observability import get_logger
from services.matching.features import JobFeatures, PriorityWeights, WorkerFeatures
from services.matching.models import JobView, WorkerView
from services.matching.ranker import MatchIndex

log = get_logger("ew.matching.index")
OVERLAP = timedelta(seconds=5)
EPOCH = datetime(2000, 1, 1).astimezone()


def job_features(row: JobView, today: date) -> JobFeatures:
    job: dict[str, Any] = row.payload
    benefits = job.get("benefits") or {}
    valid_until = date.fromisoformat(job["valid_until"]) if job.get("valid_until") else None
    headcount_left = int(job.get("headcount_left", 0))
    return JobFeatures(
        id=row.id,
        title=job["title"],
        description=job.get("description") or "",
        skills=tuple(job.get("skills") or ()),
        occupation_code=job.get("occupation_code"),
        city_code=job["city_code"],
        salary_min=int(job["salary_min"]),
        salary_max=int(job["salary_max"]),
        age_min=job.get("age_min"),
        age_max=job.get("age_max"),
        certificates_required=tuple(job.get("certificates_required") or ()),
        dormitory=bool(benefits.get("dormitory")),
        meals=bool(benefits.get("meals")),
        headcount_left=headcount_left,
        employer_assistance_base=bool(job.get("employer_assistance_base")),
        valid_until=valid_until,
        open=row.status == "published"
        and headcount_left > 0
        and (valid_until is None or valid_until >= today),
    )


def worker_features(row: WorkerView) -> WorkerFeatures:
    person: dict[str, Any] = row.payload
    intention = person.get("intention") or {}
    status = person.get("status")
    return WorkerFeatures(
        id=row.id,
        age=int(person["age"]),
        gender=person["gender"],
        education=person.get("education"),
        categories=tuple(person.get("categories") or ()),
        key_region=bool(person.get("key_region")),
        skills=tuple({*(person.get("skills") or ()), *row.trained_skills}),
        certificates=tuple(person.get("certificates") or ()),
        occupation_codes=tuple(intention.get("occupation_codes") or ()),
        keywords=intention.get("keywords") or "",
        city_codes=tuple(intention.get("city_codes") or ()),
        min_salary=intention.get("min_salary"),
        needs_dormitory=bool(intention.get("needs_dormitory")),
        available_from=date.fromisoformat(intention["available_from"])
        if intention.get("available_from")
        else None,
        trained_occupations=tuple(row.trained_occupations),
        unemployed_since=date.fromisoformat(person["status_since"]) if status == "unemployed" else None,
        province_code=row.province_code,
        station_id=row.station_id,
    )


class IndexHolder:
    """One MatchIndex and the watermark of what it has seen."""

    def __init__(self, weights: PriorityWeights | None = None) -> None:
        self.index = MatchIndex(weights) if weights is not None else MatchIndex()
        self.statuses: dict[str, str] = {}
        self._versions: dict[str, int] = {}  # what the index holds, so the overlap re-reads cost nothing
        self._jobs_seen = EPOCH
        self._workers_seen = EPOCH
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with self._lock:
            today = beijing_date()
            async with sessions() as session:
                jobs = (
                    await session.scalars(
                        select(JobView).where(JobView.synced_at > self._jobs_seen - OVERLAP)
                    )
                ).all()
                workers = (
                    await session.scalars(
                        select(WorkerView).where(WorkerView.synced_at > self._workers_seen - OVERLAP)
                    )
                ).all()
            open_jobs: list[JobFeatures] = []
            for job in jobs:
                self._jobs_seen = max(self._jobs_seen, job.synced_at)
                if self._versions.get(job.id) == job.version and job.status == "published":
                    continue
                self._versions[job.id] = job.version
                features = job_features(job, today)
                if features.open:
                    open_jobs.append(features)
                else:
                    self.index.remove_job(job.id)
            self.index.upsert_jobs(open_jobs)  # in one batch: a cold start loads every job at once
            current: list[WorkerFeatures] = []
            for worker in workers:
                self._workers_seen = max(self._workers_seen, worker.synced_at)
                marker = -1 if worker.erased else worker.version * 1000 + len(worker.trained_occupations)
                if self._versions.get(worker.id) == marker:
                    continue
                self._versions[worker.id] = marker
                if worker.erased:
                    self.index.remove_worker(worker.id)
                    self.statuses.pop(worker.id, None)
                else:
                    current.append(worker_features(worker))
                    self.statuses[worker.id] = str(worker.payload.get("status"))
            self.index.upsert_workers(current)
            if len(open_jobs) + len(current) > 10_000:
                self.index.maintain(snapshots=True)  # after a bulk load, not on the next request
            return len(jobs) + len(workers)

    async def run(self, sessions: async_sessionmaker[AsyncSession], every_seconds: float = 0.5) -> None:
        """Refresh after each local commit (woken) and at least every `every_seconds` (other replicas)."""
        while True:
            try:
                await self.refresh(sessions)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("index.refresh_failed", error=str(error))
            await wait_event(self._wake, every_seconds)
            self._wake.clear()
