"""A page of read-model rows made ready for the index: payloads parsed and validated, mapped to features, texts
hashed. Pure and picklable, so that a full load can do it in a second process while the first reads the next
pages and writes the ready ones into the index: parsing and hashing are half of a build's CPU and hold the GIL,
so threads alone leave the second core idle.

`Pages` is where the work runs: a process of its own for a load of many rows (spawning one costs about a second),
a thread otherwise or when no process can be started.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from libs.events.contracts import JobPayload, PersonPayload
from services.matching.columns import JobColumns, WorkerColumns, job_columns, worker_columns
from services.matching.features import WorkerFeatures, job_features, worker_features

if TYPE_CHECKING:  # the second process imports only what making pages ready needs (it starts faster)
    from services.matching.index_rows import JobRow, WorkerRow
    from services.matching.models import WorkerView

T = TypeVar("T")
IN_POOL = (
    9  # pages in the second process at most; beyond, this one makes the next ready itself (so both work)
)


def job_of(status: str, payload: str) -> JobPayload:
    """As `JobView.job`: the row's status wins over the payload's."""
    job = JobPayload.model_validate_json(payload)
    return job if job.status == status else job.model_copy(update={"status": status})


def trained_lists(trained: str) -> tuple[list[str], list[str], list[str]]:
    """`WorkerRow.trained`: occupations, skills and certificates trained for."""
    occupations, skills, certificates = json.loads(trained)
    return occupations or [], skills or [], certificates or []


def worker_of(row: WorkerView | WorkerRow) -> tuple[WorkerFeatures, str]:
    """A worker's features (with what their trainings gave them) and their employment status."""
    return _worker(row.person(), row.trained_lists)


def _worker(
    person: PersonPayload, trained: tuple[list[str], list[str], list[str]]
) -> tuple[WorkerFeatures, str]:
    occupations, skills, certificates = trained
    features = worker_features(
        person,
        trained_occupations=tuple(occupations),
        trained_skills=tuple(skills),
        trained_certificates=tuple(certificates),
    )
    return features, person.status


@dataclass(frozen=True, slots=True)
class ReadyJobs:
    open: JobColumns
    closed: list[str]  # ids of the jobs no one can be hired for any more


@dataclass(frozen=True, slots=True)
class ReadyWorkers:
    current: WorkerColumns
    statuses: list[str]  # of `current`, in its order
    erased: list[str]


def job_pages_parts(rows: Sequence[JobRow]) -> tuple[list[str], list[str]]:
    """What `ready_jobs` needs of a page: lists of strings cross to another process far faster than rows."""
    return [row.status for row in rows], [row.payload for row in rows]


def ready_jobs(statuses: list[str], payloads: list[str], today: date, n_features: int) -> ReadyJobs:
    features = [job_features(job_of(*row), today) for row in zip(statuses, payloads, strict=True)]
    opened = list({job.id: job for job in features if job.open}.values())
    closed = [job.id for job in features if not job.open]
    return ReadyJobs(job_columns(opened, n_features), closed)


def worker_pages_parts(rows: Sequence[WorkerRow]) -> tuple[list[str], list[str | None], list[str]]:
    """As `job_pages_parts`; an erased worker's payload as None."""
    payloads = [None if row.erased else row.payload for row in rows]
    return [row.id for row in rows], payloads, [row.trained for row in rows]


def ready_workers(
    ids: list[str], payloads: list[str | None], trained: list[str], n_features: int
) -> ReadyWorkers:
    """A worker whose payload is None was erased."""
    current = list(
        {
            person_id: _worker(PersonPayload.model_validate_json(payload), trained_lists(training))
            for person_id, payload, training in zip(ids, payloads, trained, strict=True)
            if payload is not None
        }.values()
    )
    return ReadyWorkers(
        worker_columns([features for features, _ in current], n_features),
        [status for _, status in current],
        [person_id for person_id, payload in zip(ids, payloads, strict=True) if payload is None],
    )


class Pages:
    """Makes pages ready in a second process (`processes`) or in a thread; `close` when the load is over.
    `apart` counts the pages the second process made; `error` says why it stopped being used, if it did."""

    def __init__(self, processes: bool) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._in_pool = 0
        self.apart = 0
        self.error: str | None = None
        if processes:  # spawn: a fork of a process with an event loop and threads may inherit a held lock
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            except OSError as error:  # no semaphores (no /dev/shm, say): threads will do
                self.error = str(error)

    async def ready(self, make: Callable[..., T], *args: Any) -> T:
        """`make(*args)`, in the second process unless it has enough waiting: then here, in a thread, so that
        neither process waits for the other more than it must."""
        if self._pool is not None and self._in_pool < IN_POOL:
            self._in_pool += 1
            try:
                made = await asyncio.wrap_future(self._pool.submit(make, *args))
                self.apart += 1
                return made
            except (OSError, RuntimeError) as error:  # BrokenProcessPool is a RuntimeError
                self.error = str(error)
                self.close()
            finally:
                self._in_pool -= 1
        return await asyncio.to_thread(make, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
