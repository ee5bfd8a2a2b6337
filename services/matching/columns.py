"""What the index stores of a job or a worker, as columns made from their features by pure functions: a full load
makes them in a second process (`index_pages.py`) and the index only writes them into its slots. The index's
vocabularies (cities, occupations, certificates, stations, provinces) stay with the index, so the columns carry
the strings; everything else (the texts hashed, day numbers, age limits, priority flags) is made here.

No numba and no index here: a process that only makes columns starts in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from libs.reference.occupations import OCCUPATIONS

from .features import JobFeatures, WorkerFeatures
from .ngrams import hashed_counts

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Legal working age for a labour contract: 16 (劳动法 第十五条: no employment under 16) to the statutory
# retirement age, which this table keeps at the pre-2025 ages (men 60, women workers 55 as most of these jobs are
# manual work; women cadres would be 55 too). The 2025 gradual raise (全国人大常委会 2024-09-13 决定: men to 63,
# women to 55/58 over 15 years, by months of birth) is not modelled: update this table, not the code.
LEGAL_WORKING_AGE: dict[str, tuple[int, int]] = {"male": (16, 60), "female": (16, 55)}
LEGAL_AGE_UNKNOWN_GENDER = (16, 55)  # the stricter bound when gender is missing
MAX_INTENDED_OCCUPATIONS = 10  # IntentionIn allows 10
MAX_TRAINED_OCCUPATIONS = 8
NEVER = np.iinfo(np.int32).max  # "no end date" / "not unemployed"
ALWAYS = 0  # "available now"

CATEGORY_REASONS: dict[str, tuple[str, str]] = {
    "registered_low_income": ("priority_registered_low_income", "原建档立卡低收入人口优先"),
    "poverty_alleviated": ("priority_poverty_alleviated", "脱贫人口优先"),
    "rural_low_income": ("priority_rural_low_income", "农村低收入人口优先"),
    "dibao": ("priority_dibao", "低保对象优先"),
}
CATEGORY_BIT = {code: 1 << i for i, code in enumerate(CATEGORY_REASONS)}
KEY_REGION_BIT = 1 << len(CATEGORY_REASONS)


def _occupation_name(code: str) -> str:
    occupation = OCCUPATIONS.get(code)
    return occupation.name if occupation else ""


def job_text(job: JobFeatures) -> str:
    """The title counts twice: it is what the job is; the description is mostly shifts and perks."""
    return " ".join((job.title, job.title, " ".join(job.skills), job.description))


def worker_text(worker: WorkerFeatures) -> str:
    """What they want, what they can do and what they did: the occupations done count like those wanted."""
    codes = (*worker.occupation_codes, *worker.trained_occupations, *worker.past_occupations)
    names = [_occupation_name(code) for code in codes]
    return " ".join((worker.keywords, " ".join(worker.skills), " ".join(names), worker.history))


def day_number(day: date | None, default: int) -> int:
    return default if day is None else day.toordinal()


def legal_age_range(gender: str) -> tuple[int, int]:
    return LEGAL_WORKING_AGE.get(gender, LEGAL_AGE_UNKNOWN_GENDER)


@dataclass(frozen=True, slots=True)
class JobColumns:
    """Jobs with distinct ids, column by column; `counts` is the CSR of their hashed texts, in their order."""

    ids: list[str]
    open: Bool  # open with headcount left
    city_codes: list[str]
    occupation_codes: list[str | None]
    pay_min: I64
    pay_max: I64
    age_min: I64  # 0 when the job sets none
    age_max: I64  # 999 when the job sets none
    valid: I64  # day number of the last day (NEVER: no end)
    dormitory: Bool
    assistance_base: Bool
    headcount: I64  # left, never negative
    certificates: list[list[str]]  # required
    counts: Any


@dataclass(frozen=True, slots=True)
class WorkerColumns:
    """Workers with distinct ids, column by column, as `JobColumns`."""

    ids: list[str]
    age: I64
    legal: Bool  # of legal working age
    city_codes: list[tuple[str, ...]]  # acceptable cities; none: any
    occupation_codes: list[tuple[str, ...]]  # wanted
    trained_occupations: list[tuple[str, ...]]
    min_salary: F64  # 0 when none asked
    has_min_salary: Bool
    dormitory: Bool  # needs one
    available: I64  # day number (ALWAYS: now)
    unemployed: I64  # day number since when (NEVER: not unemployed)
    flags: I64  # CATEGORY_BIT of each category, KEY_REGION_BIT
    certificates: list[list[str]]
    seeking: Bool
    station_ids: list[str]
    province_codes: list[str]
    counts: Any


def job_columns(jobs: Sequence[JobFeatures], n_features: int) -> JobColumns:
    return JobColumns(
        ids=[job.id for job in jobs],
        open=np.array([job.open and job.headcount_left > 0 for job in jobs], dtype=np.bool_),
        city_codes=[job.city_code for job in jobs],
        occupation_codes=[job.occupation_code for job in jobs],
        pay_min=np.array([job.salary_min for job in jobs], dtype=np.int64),
        pay_max=np.array([job.salary_max for job in jobs], dtype=np.int64),
        age_min=np.array([job.age_min if job.age_min is not None else 0 for job in jobs], dtype=np.int64),
        age_max=np.array([job.age_max if job.age_max is not None else 999 for job in jobs], dtype=np.int64),
        valid=np.array([day_number(job.valid_until, NEVER) for job in jobs], dtype=np.int64),
        dormitory=np.array([job.dormitory for job in jobs], dtype=np.bool_),
        assistance_base=np.array([job.employer_assistance_base for job in jobs], dtype=np.bool_),
        headcount=np.array([max(0, job.headcount_left) for job in jobs], dtype=np.int64),
        certificates=[[c.strip() for c in job.certificates_required] for job in jobs],
        counts=hashed_counts([job_text(job) for job in jobs], n_features),
    )


def _legal(worker: WorkerFeatures) -> bool:
    low, high = legal_age_range(worker.gender)
    return low <= worker.age <= high


def _flags(worker: WorkerFeatures) -> int:
    categories = sum(CATEGORY_BIT.get(c, 0) for c in set(worker.categories))
    return categories | (KEY_REGION_BIT if worker.key_region else 0)


def worker_columns(workers: Sequence[WorkerFeatures], n_features: int) -> WorkerColumns:
    return WorkerColumns(
        ids=[w.id for w in workers],
        age=np.array([w.age for w in workers], dtype=np.int64),
        legal=np.array([_legal(w) for w in workers], dtype=np.bool_),
        city_codes=[w.city_codes for w in workers],
        occupation_codes=[w.occupation_codes for w in workers],
        trained_occupations=[w.trained_occupations for w in workers],
        min_salary=np.array([w.min_salary or 0 for w in workers], dtype=np.float64),
        has_min_salary=np.array([w.min_salary is not None for w in workers], dtype=np.bool_),
        dormitory=np.array([w.needs_dormitory for w in workers], dtype=np.bool_),
        available=np.array([day_number(w.available_from, ALWAYS) for w in workers], dtype=np.int64),
        unemployed=np.array([day_number(w.unemployed_since, NEVER) for w in workers], dtype=np.int64),
        flags=np.array([_flags(w) for w in workers], dtype=np.int64),
        certificates=[[c.strip() for c in w.certificates] for w in workers],
        seeking=np.array([w.seeking for w in workers], dtype=np.bool_),
        station_ids=[w.station_id for w in workers],
        province_codes=[w.province_code for w in workers],
        counts=hashed_counts([worker_text(w) for w in workers], n_features),
    )
