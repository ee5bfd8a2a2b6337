"""What the index reads of matching's read models: light rows, the payload as its JSON text.

A full load reads every job and worker: as ORM objects that cost the event loop a JSON decode and an instance
each (about half of a 300,000-row load), and then a second pass to validate the payload. Here the loop only
fetches tuples with the payload cast to text, and the worker thread that builds the index parses and validates
each payload in one pass (`model_validate_json`, pydantic's own parser). The same rows serve the full load, the
catch-up and the full comparison, so every path applies rows the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.events.contracts import JobPayload, PersonPayload
from services.matching.index_pages import job_of, trained_lists
from services.matching.models import JobView, WorkerView

PAGE_ROWS = 5000


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    version: int
    status: str
    payload: str
    synced_at: datetime

    def job(self) -> JobPayload:
        return job_of(self.status, self.payload)


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str
    version: int
    erased: bool
    trainings: int
    payload: str | None  # none once erased
    trained: str  # the three trained_* lists as one JSON array of arrays
    synced_at: datetime

    def person(self) -> PersonPayload:
        """The payload as the contract it was written from (not for an erased worker: it holds none)."""
        assert self.payload is not None, self.id
        return PersonPayload.model_validate_json(self.payload)

    @property
    def trained_lists(self) -> tuple[list[str], list[str], list[str]]:
        return trained_lists(self.trained)


def _jobs() -> Select[Any]:
    return select(JobView.id, JobView.version, JobView.status, cast(JobView.payload, Text), JobView.synced_at)


def _workers() -> Select[Any]:
    return select(
        WorkerView.id,
        WorkerView.version,
        WorkerView.erased,
        WorkerView.trainings,
        cast(WorkerView.payload, Text),
        cast(WorkerView.trained_occupations, Text),
        cast(WorkerView.trained_skills, Text),
        cast(WorkerView.trained_certificates, Text),
        WorkerView.synced_at,
    )


def _job_rows(result: Any) -> list[JobRow]:
    return [JobRow(*row) for row in result]


def _worker_rows(result: Any) -> list[WorkerRow]:
    return [
        WorkerRow(
            id_,
            version,
            erased,
            trainings or 0,
            payload,
            f"[{occ or '[]'},{skills or '[]'},{certs or '[]'}]",
            at,
        )
        for id_, version, erased, trainings, payload, occ, skills, certs, at in result
    ]


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """How many jobs and workers the tables hold (what a full load makes room for up front)."""
    async with sessions() as session:
        jobs = await session.scalar(select(func.count()).select_from(JobView))
        workers = await session.scalar(select(func.count()).select_from(WorkerView))
    return jobs or 0, workers or 0


async def job_pages(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[JobRow]]:
    """Every job, a page at a time in id order, each page in a short session of its own."""
    after = ""
    while True:
        async with sessions() as session:
            query = _jobs().where(JobView.id > after).order_by(JobView.id).limit(PAGE_ROWS)
            page = _job_rows(await (await session.connection()).execute(query))
        if not page:
            return
        yield page
        after = page[-1].id


async def worker_pages(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[WorkerRow]]:
    after = ""
    while True:
        async with sessions() as session:
            query = _workers().where(WorkerView.id > after).order_by(WorkerView.id).limit(PAGE_ROWS)
            page = _worker_rows(await (await session.connection()).execute(query))
        if not page:
            return
        yield page
        after = page[-1].id


async def jobs_changed(session: AsyncSession, since: datetime) -> list[JobRow]:
    return _job_rows(await session.execute(_jobs().where(JobView.synced_at > since)))


async def workers_changed(session: AsyncSession, since: datetime) -> list[WorkerRow]:
    return _worker_rows(await session.execute(_workers().where(WorkerView.synced_at > since)))


async def jobs_by_id(session: AsyncSession, ids: Sequence[str]) -> list[JobRow]:
    found: list[JobRow] = []
    for start in range(0, len(ids), 500):  # within every database's limit on bound parameters
        found += _job_rows(await session.execute(_jobs().where(JobView.id.in_(ids[start : start + 500]))))
    return found


async def workers_by_id(session: AsyncSession, ids: Sequence[str]) -> list[WorkerRow]:
    found: list[WorkerRow] = []
    for start in range(0, len(ids), 500):
        query = _workers().where(WorkerView.id.in_(ids[start : start + 500]))
        found += _worker_rows(await session.execute(query))
    return found
