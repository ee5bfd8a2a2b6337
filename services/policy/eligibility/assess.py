"""Who meets an item, and since when: the facts of an occasion on a given day, and the first day they met the
item's condition while the item was in force. No I/O: the service layer loads the rows and stores the answer.

The answer does not depend on the day it is computed. An occasion is looked at on its milestones (the day it
began, each month after while it lasted, the day it ended, the day an item came into force), each no later
than today, and the first milestone on which the item was in force and its condition held is the day the
claim arose. So an item that has expired produces nothing new (no milestone after its end counts), while what
was earned before its end stays earned, however late the facts arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from libs.db import months_after
from services.policy import rules

AFTER_TRAINING_DAYS = 90  # "培训后就业": a job started within 90 days of completing the training
LONGEST_MONTHS = 60  # months of a placement looked at one by one (no item asks for more than five years)
POVERTY = frozenset({"poverty_alleviated", "registered_low_income", "rural_low_income"})


@dataclass(frozen=True)
class Item:
    code: str
    version: int
    occasion: str
    condition: str
    valid_from: date
    valid_to: date | None

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class WorkerFacts:
    categories: tuple[str, ...]
    key_region: bool
    province_code: str
    county_code: str
    age: int

    def facts(self) -> dict[str, Any]:
        return {
            "worker.categories": list(self.categories),
            "worker.key_region": self.key_region,
            "worker.province_code": self.province_code,
            "worker.county_code": self.county_code,
            "worker.age": self.age,
        }


@dataclass(frozen=True)
class Job:
    """A placement as the conditions see it."""

    id: str
    employer_id: str | None
    city_code: str | None
    agency_id: str | None
    started_on: date
    ended_on: date | None
    cross_province: bool
    assistance_base: bool = False
    caring: bool = False

    def months_employed(self, on: date) -> int:
        last = min(on, self.ended_on) if self.ended_on else on
        return whole_months(self.started_on, last)

    def employed(self, on: date) -> bool:
        return self.started_on <= on and (self.ended_on is None or on < self.ended_on)


@dataclass(frozen=True)
class Course:
    """A training as the conditions see it."""

    id: str
    enrolled_on: date
    completed_on: date | None
    order_employer_id: str | None


@dataclass(frozen=True)
class Hire:
    """One of an employer's placements in a year, for the year's counts."""

    started_on: date
    ended_on: date | None
    categories: tuple[str, ...]
    cross_province: bool


@dataclass(frozen=True)
class Found:
    """A claim: the day it arose and the facts on that day."""

    on: date
    facts: dict[str, Any]


def whole_months(start: date, end: date) -> int:
    """Whole months from `start` to `end` (31 Jan to 28 Feb is one)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if months_after(start, months) <= end else months - 1


class FactsByDay:
    """An occasion's facts on each milestone, built (and nested for CEL) once for all the items."""

    def __init__(self, facts_on: Callable[[date], dict[str, Any]]) -> None:
        self._facts_on = facts_on
        self._days: dict[date, tuple[dict[str, Any], dict[str, Any]]] = {}

    def on(self, day: date) -> tuple[dict[str, Any], dict[str, Any]]:
        if day not in self._days:
            facts = self._facts_on(day)
            self._days[day] = (facts, rules.context(facts))
        return self._days[day]


def first_met(item: Item, milestones: Iterable[date], facts: FactsByDay) -> Found | None:
    """The first milestone on which the item was in force and its condition held, with that day's facts."""
    for day in sorted(set(milestones)):
        if item.in_force(day):
            flat, nested = facts.on(day)
            if rules.holds(item.condition, nested):
                return Found(day, flat)
    return None


def item_starts(items: Sequence[Item], first: date, last: date) -> set[date]:
    """The days items came into force within [first, last]: a claim whose conditions were met before an item
    began arises on its first day."""
    return {item.valid_from for item in items if first <= item.valid_from <= last}


def next_start(items: Sequence[Item], today: date) -> date | None:
    return min((item.valid_from for item in items if item.valid_from > today), default=None)


def earliest(*days: date | None) -> date | None:
    return min((day for day in days if day is not None), default=None)


# --- a placement ---------------------------------------------------------------------------------------------


def placement_milestones(job: Job, items: Sequence[Item], today: date) -> tuple[list[date], date | None]:
    """The days to look at (up to today) and the next day to look again (None when time changes nothing)."""
    last = min(job.ended_on, today) if job.ended_on else today
    months = [months_after(job.started_on, k) for k in range(LONGEST_MONTHS + 1)]
    end = job.ended_on or date.max
    days = [day for day in months if day <= last]
    if job.ended_on and job.ended_on <= today:
        days.append(job.ended_on)
    days += item_starts(items, job.started_on, last)
    upcoming = next((day for day in months if today < day <= end), None)
    return [day for day in days if day >= job.started_on], earliest(upcoming, next_start(items, today))


def placement_facts(worker: WorkerFacts, job: Job, courses: Sequence[Course], on: date) -> dict[str, Any]:
    return {
        "as_of": on.isoformat(),
        **worker.facts(),
        "placement.started_on": job.started_on.isoformat(),
        "placement.ended_on": job.ended_on.isoformat() if job.ended_on and job.ended_on <= on else "",
        "placement.employed": job.employed(on),
        "placement.months_employed": job.months_employed(on),
        "placement.cross_province": job.cross_province,
        "placement.city_code": job.city_code or "",
        "placement.after_training": any(
            course.completed_on is not None
            and course.completed_on
            <= job.started_on
            <= course.completed_on + timedelta(days=AFTER_TRAINING_DAYS)
            for course in courses
        ),
        "placement.agency_id": job.agency_id or "",
        "employer.assistance_base": job.assistance_base,
        "employer.caring": job.caring,
    }


# --- a training ----------------------------------------------------------------------------------------------


def _jobs_after(course: Course, jobs: Sequence[Job]) -> list[Job]:
    if course.completed_on is None:
        return []
    window_end = course.completed_on + timedelta(days=AFTER_TRAINING_DAYS)
    return [job for job in jobs if course.completed_on <= job.started_on <= window_end]


def training_milestones(
    course: Course, jobs: Sequence[Job], items: Sequence[Item], today: date
) -> tuple[list[date], date | None]:
    days = [course.enrolled_on]
    if course.completed_on is not None:
        days.append(course.completed_on)
    days += [job.started_on for job in _jobs_after(course, jobs)]
    days += item_starts(items, course.enrolled_on, today)
    return [day for day in days if day <= today], next_start(items, today)


def training_facts(worker: WorkerFacts, course: Course, jobs: Sequence[Job], on: date) -> dict[str, Any]:
    completed = course.completed_on is not None and course.completed_on <= on
    after = [job for job in _jobs_after(course, jobs) if job.started_on <= on]
    return {
        "as_of": on.isoformat(),
        **worker.facts(),
        "training.enrolled_on": course.enrolled_on.isoformat(),
        "training.completed": completed,
        "training.completed_on": course.completed_on.isoformat() if completed and course.completed_on else "",
        "training.order": course.order_employer_id is not None,
        "training.employed_after": bool(after),
        "training.employed_by_order_employer": course.order_employer_id is not None
        and any(job.employer_id == course.order_employer_id for job in after),
    }


# --- an employer's year ----------------------------------------------------------------------------------------


def year_milestones(
    year: int, hires: Sequence[Hire], items: Sequence[Item], today: date
) -> tuple[list[date], date | None]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    candidates = {hire.started_on for hire in hires} | {months_after(hire.started_on, 6) for hire in hires}
    candidates |= item_starts(items, first, last)
    in_year = sorted(day for day in candidates if first <= day <= last)
    upcoming = next((day for day in in_year if day > today), None)
    return [day for day in in_year if day <= today], earliest(upcoming, next_start(items, today))


def year_facts(
    assistance_base: bool, caring: bool, year: int, hires: Sequence[Hire], on: date
) -> dict[str, Any]:
    counted = [
        hire
        for hire in hires
        if date(year, 1, 1) <= hire.started_on <= on and POVERTY.intersection(hire.categories)
    ]
    return {
        "as_of": on.isoformat(),
        "employer.assistance_base": assistance_base,
        "employer.caring": caring,
        "year.hired": len(counted),
        "year.kept_6_months": sum(
            1
            for hire in counted
            if whole_months(hire.started_on, min(on, hire.ended_on) if hire.ended_on else on) >= 6
        ),
        "year.cross_province_hired": sum(1 for hire in counted if hire.cross_province),
    }
