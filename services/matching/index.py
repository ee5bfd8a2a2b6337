"""The in-memory ranking index of one matching process, kept in step with the read-model tables.

Consumers write the tables (one replica handles each event); every replica refreshes its own index from the
tables: rows synced since the last look, with an overlap so a transaction that committed late is not missed
(upserts are idempotent, versions decide). The first load builds from every row (`_build`, with a second process
for a large one), or restores the index kept at the last shutdown (`index_cache.py`) and catches up."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling, wait_event
from libs.db import beijing_date, utcnow
from libs.observability import MATCHING_EXPOSURE, MATCHING_INDEX_RECONCILED, get_logger
from services.matching import congestion, index_cache, index_rows, ranker
from services.matching.features import PriorityWeights, ScoreWeights
from services.matching.index_pages import (
    Pages,
    ReadyJobs,
    ReadyWorkers,
    job_pages_parts,
    ready_jobs,
    ready_workers,
    worker_pages_parts,
)
from services.matching.index_rows import JobRow, WorkerRow
from services.matching.models import JobView, WorkerView
from services.matching.ranker import MatchIndex

log = get_logger("ew.matching.index")
OVERLAP = timedelta(seconds=5)
KEEP_EVERY_SECONDS = 600.0
EPOCH = datetime(2000, 1, 1).astimezone()
PAGES_APART_FROM = 20_000  # rows from which a full load makes its pages ready in a second process
PAGES_AHEAD = 12  # pages read and not yet in the index, at most


def worker_marker(version: int, trainings: int, erased: bool) -> tuple[int, int]:
    """What says a worker row changed: its version and how many trainings it has taken in (erased: (-1, 0))."""
    return (-1, 0) if erased else (version, trainings)


@dataclass
class _Held:
    """What the holder serves from: the index and what it knows of each row."""

    index: MatchIndex
    statuses: dict[str, str] = field(default_factory=dict)
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)  # so the overlap re-reads cost nothing

    def apply_jobs(self, jobs: Sequence[JobRow], today: date) -> int:
        """Open jobs upserted in one batch, closed ones removed; the number upserted."""
        changed = [
            job for job in jobs if self.versions.get(job.id) != (job.version, 0) or job.status != "published"
        ]
        return self.apply_ready_jobs(
            changed, ready_jobs(*job_pages_parts(changed), today, self.index.n_features)
        )

    def apply_ready_jobs(self, jobs: Sequence[JobRow], ready: ReadyJobs) -> int:
        for job in jobs:
            self.versions[job.id] = (job.version, 0)
        for job_id in ready.closed:
            self.index.remove_job(job_id)
        self.index.write_jobs(ready.open)
        return len(ready.open.ids)

    def apply_workers(self, workers: Sequence[WorkerRow]) -> int:
        changed = [
            worker
            for worker in workers
            if self.versions.get(worker.id) != worker_marker(worker.version, worker.trainings, worker.erased)
        ]
        return self.apply_ready_workers(
            changed, ready_workers(*worker_pages_parts(changed), self.index.n_features)
        )

    def apply_ready_workers(self, workers: Sequence[WorkerRow], ready: ReadyWorkers) -> int:
        for worker in workers:
            self.versions[worker.id] = worker_marker(worker.version, worker.trainings, worker.erased)
        for person_id in ready.erased:
            self.index.remove_worker(person_id)
            self.statuses.pop(person_id, None)
        self.statuses.update(zip(ready.current.ids, ready.statuses, strict=True))
        self.index.write_workers(ready.current)
        return len(ready.current.ids)


class IndexHolder:
    """One MatchIndex and the watermark of what it has seen.

    The first load builds a fresh index away from the event loop (rows read in pages, features and index in
    a worker thread) and swaps it in at once: no request sees it half built, the loop keeps serving health
    checks, and readiness (`warm`) waits for it. Later refreshes are small and run on the loop."""

    def __init__(self, weights: PriorityWeights | None = None, cache: Path | None = None) -> None:
        self.weights = weights
        self.cache = cache  # where the index is kept between restarts (index_cache.py); None: nowhere
        self.hand_weights = ScoreWeights()
        self.score_weights = (
            self.hand_weights
        )  # the learned ones once a fit did better (services/matching/weights.py)
        self._held = _Held(self._new_index())
        self._jobs_seen = EPOCH
        self._workers_seen = EPOCH
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.warm = False
        self.refreshed_at: float | None = None  # time.monotonic() of the last refresh that worked
        self.restored = False  # the first load came from the kept index

    @property
    def index(self) -> MatchIndex:
        return self._held.index

    @property
    def statuses(self) -> dict[str, str]:
        return self._held.statuses

    def age_seconds(self) -> float:
        """Seconds since the index last caught up with the read models (0 before the first load)."""
        return time.monotonic() - self.refreshed_at if self.refreshed_at is not None else 0.0

    def _new_index(self) -> MatchIndex:
        return MatchIndex(self.weights, self.score_weights)

    def use_weights(self, weights: ScoreWeights) -> None:
        """Rank with these factor weights from now on, in this index and any built later."""
        self.score_weights = weights
        self._held.index.set_weights(weights)

    def wake(self) -> None:
        self._wake.set()

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with self._lock:
            if not self.warm:  # once per process: numba keeps what it compiled
                await asyncio.to_thread(ranker.compile_fused)
            count = await (self._catch_up(sessions) if self.warm else self._load(sessions))
            self.warm = True
            self.refreshed_at = time.monotonic()
            return count

    async def _load(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        kept = await asyncio.to_thread(index_cache.restore, self.cache) if self.cache else None
        if kept is not None:
            self._held, self._jobs_seen, self._workers_seen = kept.held, kept.jobs_seen, kept.workers_seen
            self._held.index.set_weights(self.score_weights)
            caught_up = await self._catch_up(sessions)
            missed = await self._reconcile(
                sessions, counted=False
            )  # whatever the watermarks cannot see, before saying ready
            self.restored = True
            log.info(
                "index.restored",
                jobs=self.index.job_count,
                workers=self.index.worker_count,
                caught_up=caught_up,
                reconciled=missed,
            )
            return caught_up + missed
        started = utcnow()
        held, jobs_seen, workers_seen, count = await _build(self._new_index(), sessions)
        self._held = held
        # A row changed while the pages were read is read again by the next refresh.
        self._jobs_seen, self._workers_seen = min(jobs_seen, started), min(workers_seen, started)
        log.info("index.loaded", jobs=held.index.job_count, workers=held.index.worker_count, rows=count)
        return count

    async def _catch_up(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            jobs = await index_rows.jobs_changed(session, self._jobs_seen - OVERLAP)
            workers = await index_rows.workers_changed(session, self._workers_seen - OVERLAP)
        for job in jobs:
            self._jobs_seen = max(self._jobs_seen, job.synced_at)
        for worker in workers:
            self._workers_seen = max(self._workers_seen, worker.synced_at)
        changed = self._held.apply_jobs(jobs, beijing_date()) + self._held.apply_workers(workers)
        if changed > 10_000:
            self._held.index.maintain(snapshots=True)  # after a bulk change, not on the next request
        return len(jobs) + len(workers)

    async def reconcile(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Every row whose version the index does not hold, applied now; how many there were.

        The refresh follows `synced_at`, stamped by whichever replica wrote the row before it committed: a
        transaction that commits later than the overlap allows, or a replica whose clock is behind, writes a
        row the refresh never reads again. This full comparison of (id, version) finds such rows whatever the
        commit order or the clocks, and `ew_matching_index_reconciled_total` counts them (0 when all is well)."""
        async with self._lock:
            if not self.warm:
                return 0
            return await self._reconcile(sessions)

    async def _reconcile(self, sessions: async_sessionmaker[AsyncSession], *, counted: bool = True) -> int:
        """`reconcile` with the lock held. `counted`: the rows found go to the metric (not after a restore,
        where rows changed while the replica was down are expected)."""
        held = self._held
        async with sessions() as session:
            job_versions = (await session.execute(select(JobView.id, JobView.version))).all()
            worker_markers = (
                await session.execute(
                    select(
                        WorkerView.id,
                        WorkerView.version,
                        WorkerView.erased,
                        WorkerView.trainings,
                    )
                )
            ).all()
            stale_jobs = [
                job_id for job_id, version in job_versions if held.versions.get(job_id) != (version, 0)
            ]
            stale_workers = [
                worker_id
                for worker_id, version, erased, trainings in worker_markers
                if held.versions.get(worker_id) != worker_marker(version, trainings, erased)
            ]
            jobs = await index_rows.jobs_by_id(session, stale_jobs)
            workers = await index_rows.workers_by_id(session, stale_workers)
        held.apply_jobs(jobs, beijing_date())
        held.apply_workers(workers)
        missed = len(jobs) + len(workers)
        if missed and counted:
            MATCHING_INDEX_RECONCILED.inc(missed)
            log.warning("index.reconciled", jobs=len(jobs), workers=len(workers))
        return missed

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        every_seconds: float = 0.5,
        reconcile_every_seconds: float = 60.0,
        spread_every_seconds: float = 0.0,
    ) -> None:
        """Refresh after each local commit (woken) and at least every `every_seconds` (other replicas); compare
        in full every `reconcile_every_seconds`; re-plan the spreading every `spread_every_seconds` (0: never)."""
        last_reconcile = last_kept = time.monotonic()
        last_spread: float | None = None
        kept = False
        while True:
            try:
                await self.refresh(sessions)
                if self.cache is not None and (
                    not kept or time.monotonic() - last_kept >= KEEP_EVERY_SECONDS
                ):
                    kept, last_kept = True, time.monotonic()
                    await self.keep()
                if time.monotonic() - last_reconcile >= reconcile_every_seconds:
                    last_reconcile = time.monotonic()
                    await self.reconcile(sessions)
                if spread_every_seconds > 0 and (
                    last_spread is None or time.monotonic() - last_spread >= spread_every_seconds
                ):
                    last_spread = time.monotonic()
                    await self.spread()
            except asyncio.CancelledError:
                if kept:  # shutting down: the next start begins from here
                    with contextlib.suppress(Exception):
                        await self.keep()
                raise
            except Exception as error:
                raise_if_cancelling(error)
                log.warning("index.refresh_failed", error=str(error))
            await wait_event(self._wake, every_seconds)
            self._wake.clear()

    async def keep(self) -> None:
        """Write the index to its cache file (in a thread; mutations wait, queries go on: nothing is left for
        them to fit or rebuild meanwhile)."""
        if self.cache is None:
            return
        async with self._lock:
            index = self._held.index
            index.maintain(snapshots=True)
            kept = index_cache.Kept(self._held, self._jobs_seen, self._workers_seen)
            size = await asyncio.to_thread(index_cache.save, self.cache, kept)
        log.info("index.kept", bytes=size, jobs=index.job_count, workers=index.worker_count)

    async def spread(self) -> congestion.Spread:
        """Plan how recommendations spread over jobs (in a thread: seconds at a province's scale) and apply it.
        The lock keeps every mutation out meanwhile; queries only read, and nothing is left for them to fit."""
        async with self._lock:
            index = self._held.index
            index.maintain(snapshots=True)
            planned = await asyncio.to_thread(congestion.spread, index, beijing_date())
            index.set_spread(planned.taken)
        for when, figures in (("before", planned.before), ("after", planned.after)):
            MATCHING_EXPOSURE.labels("gini", when).set(figures.gini)
            MATCHING_EXPOSURE.labels("excess", when).set(figures.excess)
        log.info(
            "index.spread",
            jobs=planned.after.jobs,
            moved_down=len(planned.taken),
            gini_before=round(planned.before.gini, 3),
            gini_after=round(planned.after.gini, 3),
        )
        return planned


async def _build(
    index: MatchIndex, sessions: async_sessionmaker[AsyncSession]
) -> tuple[_Held, datetime, datetime, int]:
    """A fresh index from every row, the watermarks of what it read, and how many rows.

    The loop reads the pages; `Pages` makes each ready (parsed, mapped, hashed: in a second process for a large
    load), a few pages ahead; a worker thread writes the ready ones into the index in order, fits the idf once
    the last job is in (so the workers' rows are weighed with it when written, not weighed again) and builds
    the snapshots at the end."""
    held, today = _Held(index), beijing_date()
    n_jobs, n_workers = await index_rows.row_counts(sessions)
    index.reserve(n_jobs, n_workers)
    jobs_seen = workers_seen = EPOCH
    count = 0
    pages = Pages(processes=n_jobs + n_workers >= PAGES_APART_FROM)
    steps: deque[tuple[asyncio.Future[Any] | None, Callable[[Any], object]]] = deque()

    async def write_until(left: int) -> None:
        while len(steps) > left:
            page, write = steps.popleft()
            await asyncio.to_thread(write, await page if page is not None else None)

    try:
        async for jobs in index_rows.job_pages(sessions):
            jobs_seen = max(jobs_seen, *(job.synced_at for job in jobs))
            made = pages.ready(ready_jobs, *job_pages_parts(jobs), today, index.n_features)
            steps.append((asyncio.ensure_future(made), functools.partial(held.apply_ready_jobs, jobs)))
            count += len(jobs)
            await write_until(PAGES_AHEAD)
        steps.append((None, lambda _: index.maintain(force_refit=True, snapshots=True)))
        async for workers in index_rows.worker_pages(sessions):
            workers_seen = max(workers_seen, *(worker.synced_at for worker in workers))
            ready = pages.ready(ready_workers, *worker_pages_parts(workers), index.n_features)
            steps.append((asyncio.ensure_future(ready), functools.partial(held.apply_ready_workers, workers)))
            count += len(workers)
            await write_until(PAGES_AHEAD)
        await write_until(0)
    finally:
        for page, _ in steps:
            if page is not None:
                page.cancel()
        pages.close()
    await asyncio.to_thread(index.maintain, snapshots=True)
    if pages.error is not None:
        log.warning("index.pages_in_thread", error=pages.error, made_apart=pages.apart)
    return held, jobs_seen, workers_seen, count
