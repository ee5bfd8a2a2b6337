"""Province editions: the feed ordered by how many of a partner province's registered workers fit each job.

The fit rule (one job, one worker) — all of these must hold:

1. the worker is looking: status `seeking`, `unemployed` or `training` (not `employed`, not `inactive`);
2. city: the worker named no city, or the job's city is one they named;
3. occupation: the worker named no occupation, or the job's occupation is in the same 小类 (minor group,
   the first three parts of the 大典 code: 6-29-01-04 and 6-29-01-05 are both 6-29-01) as one they named;
   a job without an occupation code fits only workers who named none;
4. pay: the worker named no minimum, or the job's `salary_max` reaches it;
5. dormitory: the worker does not need one, or the job provides one;
6. age: within the job's `age_min`/`age_max` where the job sets them.

Gender is kept in the read model (matching's payload carries it) but is never matched on: postings may not
restrict it. Counts come from an in-memory index per province, rebuilt when the province's revision in the
database moves (every replica sees the same revision, whichever replica consumed the event): workers sit
in buckets by (city or any, minor group or any), so one job looks at four buckets, each a few numpy arrays,
and each distinct job profile is counted once per revision.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import utcnow
from libs.events.contracts import PersonPayload
from libs.events.projection import Projection
from services.feed import repository
from services.feed.models import DemandWorker

LOOKING = ("seeking", "unemployed", "training")
ANY = "*"


def minor_group(code: str) -> str:
    """ "6-29-01-04" -> "6-29-01" (大典 大类-中类-小类-细类)."""
    return "-".join(code.split("-")[:3])


@dataclass(frozen=True)
class WorkerProfile:
    city_codes: frozenset[str]
    occupation_codes: frozenset[str]
    min_salary: int | None
    needs_dormitory: bool
    age: int | None
    status: str = "seeking"


@dataclass(frozen=True)
class JobProfile:
    city_code: str
    occupation_code: str | None
    salary_max: int
    dormitory: bool
    age_min: int | None
    age_max: int | None


def fits(job: JobProfile, worker: WorkerProfile) -> bool:
    """The rule above, one pair at a time: the reference the index is tested against."""
    if worker.status not in LOOKING:
        return False
    if worker.city_codes and job.city_code not in worker.city_codes:
        return False
    if worker.occupation_codes:
        if job.occupation_code is None:
            return False
        wanted = {minor_group(code) for code in worker.occupation_codes}
        if minor_group(job.occupation_code) not in wanted:
            return False
    if worker.min_salary is not None and job.salary_max < worker.min_salary:
        return False
    if worker.needs_dormitory and not job.dormitory:
        return False
    if worker.age is not None:
        if job.age_min is not None and worker.age < job.age_min:
            return False
        if job.age_max is not None and worker.age > job.age_max:
            return False
    return True


@dataclass
class _Bucket:
    salaries: list[int] = field(default_factory=list)
    ages: list[float] = field(default_factory=list)
    dormitory: list[bool] = field(default_factory=list)


class _Arrays:
    __slots__ = ("ages", "dormitory", "salaries")

    def __init__(self, bucket: _Bucket) -> None:
        self.salaries: NDArray[np.int64] = np.asarray(bucket.salaries, dtype=np.int64)
        self.ages: NDArray[np.float64] = np.asarray(bucket.ages, dtype=np.float64)  # NaN: age unknown
        self.dormitory: NDArray[np.bool_] = np.asarray(bucket.dormitory, dtype=np.bool_)

    def count(self, job: JobProfile) -> int:
        mask = self.salaries <= job.salary_max
        if not job.dormitory:
            mask &= ~self.dormitory
        if job.age_min is not None:
            mask &= ~(self.ages < job.age_min)  # NaN compares False: an unknown age passes
        if job.age_max is not None:
            mask &= ~(self.ages > job.age_max)
        return int(np.count_nonzero(mask))


class ProvinceIndex:
    """Fit counts for one province's looking workers; `count` is memoised per job profile."""

    def __init__(self, workers: Iterable[WorkerProfile]) -> None:
        buckets: dict[tuple[str, str], _Bucket] = defaultdict(_Bucket)
        self.workers = 0
        for worker in workers:
            if worker.status not in LOOKING:
                continue
            self.workers += 1
            cities = sorted(worker.city_codes) or [ANY]
            groups = sorted({minor_group(code) for code in worker.occupation_codes}) or [ANY]
            age = float(worker.age) if worker.age is not None else float("nan")
            for city in cities:
                for group in groups:
                    bucket = buckets[(city, group)]
                    bucket.salaries.append(worker.min_salary or 0)
                    bucket.ages.append(age)
                    bucket.dormitory.append(worker.needs_dormitory)
        self._buckets = {key: _Arrays(bucket) for key, bucket in buckets.items()}
        self._counts: dict[JobProfile, int] = {}

    def count(self, job: JobProfile) -> int:
        cached = self._counts.get(job)
        if cached is not None:
            return cached
        groups = [ANY] if job.occupation_code is None else [minor_group(job.occupation_code), ANY]
        total = 0
        for city in (job.city_code, ANY):
            for group in groups:
                bucket = self._buckets.get((city, group))
                if bucket is not None:
                    total += bucket.count(job)
        self._counts[job] = total
        return total


@dataclass(frozen=True)
class Ranked:
    """One job's place in an edition: sorted by (fitting_workers, listed_seq) descending."""

    fitting_workers: int
    listed_seq: int
    job_id: str


@dataclass(frozen=True)
class Edition:
    province_code: str
    revision: int
    workers: int  # the province's looking workers
    ranked: Sequence[Ranked]

    def page(self, after: tuple[int, int] | None, limit: int) -> Sequence[Ranked]:
        start = 0
        if after is not None:
            # Keys descend; find the first one strictly below the cursor.
            keys = [(-entry.fitting_workers, -entry.listed_seq) for entry in self.ranked]
            start = bisect.bisect_right(keys, (-after[0], -after[1]))
        return self.ranked[start : start + limit]


class DemandIndex:
    """Per-process cache of province indexes and of ranked editions, keyed by what they depend on."""

    def __init__(self, max_editions: int = 32) -> None:
        self._provinces: dict[str, tuple[int, ProvinceIndex]] = {}
        self._editions: OrderedDict[tuple[Any, ...], Edition] = OrderedDict()
        self._max_editions = max_editions

    async def province(self, session: AsyncSession, province_code: str) -> tuple[int, ProvinceIndex]:
        revision = await repository.demand_revision(session, province_code)
        cached = self._provinces.get(province_code)
        if cached is not None and cached[0] == revision:
            return cached
        rows = await repository.province_workers(session, province_code, LOOKING)
        index = ProvinceIndex(
            WorkerProfile(
                city_codes=frozenset(row.city_codes or ()),
                occupation_codes=frozenset(row.occupation_codes or ()),
                min_salary=row.min_salary,
                needs_dormitory=row.needs_dormitory,
                age=row.age,
            )
            for row in rows
        )
        self._provinces[province_code] = (revision, index)
        return revision, index

    async def edition(
        self,
        session: AsyncSession,
        province_code: str,
        feed_filter: repository.FeedFilter,
        *,
        feed_version: int,
        today: date,
    ) -> Edition:
        revision, index = await self.province(session, province_code)
        key = (province_code, revision, feed_version, feed_filter, today)
        cached = self._editions.get(key)
        if cached is not None:
            self._editions.move_to_end(key)
            return cached
        rows = await repository.edition_jobs(session, feed_filter, today=today)
        ranked = [
            Ranked(
                fitting_workers=index.count(
                    JobProfile(
                        city_code=row.city_code,
                        occupation_code=row.occupation_code,
                        salary_max=row.salary_max,
                        dormitory=row.dormitory,
                        age_min=row.age_min,
                        age_max=row.age_max,
                    )
                ),
                listed_seq=row.listed_seq,
                job_id=row.job_id,
            )
            for row in rows
        ]
        ranked.sort(key=lambda entry: (entry.fitting_workers, entry.listed_seq), reverse=True)
        edition = Edition(province_code, revision, index.workers, ranked)
        self._editions[key] = edition
        while len(self._editions) > self._max_editions:
            self._editions.popitem(last=False)
        return edition


# --- the read model -----------------------------------------------------------------------------------------


def _fit_fields(row: DemandWorker) -> tuple[Any, ...]:
    return (
        row.province_code,
        row.status,
        sorted(row.city_codes),
        sorted(row.occupation_codes),
        row.min_salary,
        row.needs_dormitory,
        row.age,
        row.erased,
    )


# What the demand figures count of a worker: no identity, only what fits them to jobs.
WORKERS = Projection[PersonPayload, DemandWorker](
    DemandWorker,
    lambda person: {
        "province_code": person.province_code,
        "status": person.status,
        "city_codes": sorted(set(person.intention.city_codes)),
        "occupation_codes": sorted(set(person.intention.occupation_codes)),
        "min_salary": person.intention.min_salary,
        "needs_dormitory": person.intention.needs_dormitory,
        "age": person.age,
        "gender": person.gender,
        "updated_at": utcnow(),
    },
    erasable=True,
)


async def apply_person(session: AsyncSession, person: PersonPayload) -> None:
    """Versions make this order-proof; the province's revision moves only when something a count reads did."""
    known = await repository.get_worker(session, person.id)
    before = _fit_fields(known) if known is not None else None
    row = await WORKERS.apply(session, person)
    if row is not None and before != _fit_fields(row):
        now = utcnow()
        for province in {person.province_code, *([before[0]] if before else [])}:
            await repository.bump_demand_revision(session, province, now)


async def erase_person(session: AsyncSession, person_id: str) -> None:
    """A tombstone with nothing but the id (a later, older event cannot bring the worker back)."""
    row = await repository.get_worker(session, person_id)
    now = utcnow()
    if row is not None and not row.erased and row.province_code:
        await repository.bump_demand_revision(session, row.province_code, now)
    await WORKERS.erase(
        session,
        person_id,
        unseen={"province_code": ""},
        cleared={
            "status": "erased",
            "city_codes": [],
            "occupation_codes": [],
            "min_salary": None,
            "needs_dormitory": False,
            "age": None,
            "gender": None,
            "updated_at": now,
        },
    )
