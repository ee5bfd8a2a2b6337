"""What the ranker sees of a job and of a worker, what it answers, and the weights it answers with.

Pure data: `job_features` and `worker_features` are the one mapping from the event payloads (`JobPayload`,
`PersonPayload` plus completed trainings) to these, used by the index and by the tests alike. The ranker never sees
anything that identifies a person: a worker is a random id plus the features below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from libs.events.contracts import JobPayload, PersonPayload

# Demand's category codes (services/demand/schemas.py `Category`), in the order priority is usually given.
CATEGORIES: tuple[str, ...] = ("registered_low_income", "poverty_alleviated", "rural_low_income", "dibao")

# Statuses in which a worker is looking for work (or finishing a training) and is a candidate for jobs.
SEEKING_STATUSES: frozenset[str] = frozenset({"seeking", "unemployed", "training"})
# Statuses in which a worker is without work; their `status_since` starts the unemployment clock.
UNEMPLOYED_STATUSES: frozenset[str] = frozenset({"seeking", "unemployed"})


@dataclass(frozen=True, slots=True)
class JobFeatures:
    id: str
    title: str
    description: str
    skills: tuple[str, ...]
    occupation_code: str | None
    city_code: str
    salary_min: int
    salary_max: int
    age_min: int | None
    age_max: int | None
    certificates_required: tuple[str, ...]
    dormitory: bool
    meals: bool
    headcount_left: int
    employer_assistance_base: bool
    valid_until: date | None
    open: bool


@dataclass(frozen=True, slots=True)
class WorkerFeatures:
    id: str
    age: int
    gender: str  # "male" | "female" (derived from the ID number by demand)
    education: str | None
    categories: tuple[str, ...]
    key_region: bool
    skills: tuple[str, ...]
    certificates: tuple[str, ...]
    occupation_codes: tuple[str, ...]
    keywords: str
    city_codes: tuple[str, ...]  # acceptable Jiangsu cities; empty = any of the 13
    min_salary: int | None
    needs_dormitory: bool
    available_from: date | None
    trained_occupations: tuple[str, ...]
    unemployed_since: date | None
    province_code: str
    station_id: str
    # 技能特长, past training and work history as one text (workplaces, occupations, what they did)
    history: str = ""
    past_occupations: tuple[str, ...] = ()
    seeking: bool = True  # a candidate for jobs (SEEKING_STATUSES); recommendations are given either way


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor of a score: `weight` is what it added (negative: what it cost), `label` is read out to people."""

    code: str
    label: str
    weight: float


@dataclass(frozen=True, slots=True)
class Match:
    """A worker-job fit. `score` is the sum of all factors; `reasons` lists them, largest first."""

    person_id: str
    job_id: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """Policy boosts (苏人社发〔2021〕82号: low-income and poverty-alleviated people first, key regions, the long
    unemployed, assistance-base employers). Added to the score and always listed as reasons, never hidden.

    Categories overlap (the registered low-income are rural low-income too), so a worker gets the largest of their
    category boosts, not the sum; key region and long unemployment add to it."""

    registered_low_income: float = 0.12
    poverty_alleviated: float = 0.10
    rural_low_income: float = 0.06
    dibao: float = 0.05
    key_region: float = 0.05
    long_unemployed: float = 0.05
    long_unemployed_days: int = 180
    assistance_base: float = 0.03

    def category(self, code: str) -> float:
        return {
            "registered_low_income": self.registered_low_income,
            "poverty_alleviated": self.poverty_alleviated,
            "rural_low_income": self.rural_low_income,
            "dibao": self.dibao,
        }.get(code, 0.0)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Soft-score weights: the fit part of a score is at most text + occupation + pay/2 + dormitory + training.

    `pay` is spread over ±pay/2 as the job's mid pay goes from `pay_span` below the worker's minimum to
    `pay_span` above it (no minimum given: 0). `dormitory` is added when a needed dormitory is offered and taken
    away when it is not."""

    text: float = 0.35
    occupation: float = 0.35
    pay: float = 0.15
    pay_span: float = 2000.0
    dormitory: float = 0.05
    training: float = 0.10
    min_reason_weight: float = 0.005  # smaller factors still count in the score but are not listed


def job_features(job: JobPayload, today: date) -> JobFeatures:
    """A job as the ranker sees it. Open means someone can still be hired for it on `today` (a Beijing date):
    published (not flagged or closed), with headcount left, and not past its `valid_until`."""
    return JobFeatures(
        id=job.id,
        title=job.title,
        description=job.description or "",
        skills=tuple(job.skills),
        occupation_code=job.occupation_code,
        city_code=job.city_code,
        salary_min=job.salary_min,
        salary_max=job.salary_max,
        age_min=job.age_min,
        age_max=job.age_max,
        certificates_required=tuple(job.certificates_required),
        dormitory=job.benefits.dormitory,
        meals=job.benefits.meals,
        headcount_left=job.headcount_left,
        employer_assistance_base=job.employer_assistance_base,
        valid_until=job.valid_until,
        open=job.status == "published"
        and job.headcount_left > 0
        and (job.valid_until is None or job.valid_until >= today),
    )


def worker_features(
    person: PersonPayload,
    trained_occupations: tuple[str, ...] = (),
    trained_skills: tuple[str, ...] = (),
    trained_certificates: tuple[str, ...] = (),
) -> WorkerFeatures:
    """A worker as the ranker sees it, with what their completed trainings (`training.completed`) added: the
    occupation trained for, its skills and the certificate it gave. The unemployment clock (for the long-unemployed
    boost) runs from `status_since` for a worker seeking work as for one who lost it: both are without work."""
    intention = person.intention
    return WorkerFeatures(
        id=person.id,
        age=person.age,
        gender=person.gender,
        education=person.education,
        categories=tuple(person.categories),
        key_region=person.key_region,
        skills=tuple(dict.fromkeys([*person.skills, *trained_skills])),
        certificates=tuple(dict.fromkeys([*person.certificates, *trained_certificates])),
        occupation_codes=tuple(intention.occupation_codes),
        keywords=intention.keywords or "",
        city_codes=tuple(intention.city_codes),
        min_salary=intention.min_salary,
        needs_dormitory=intention.needs_dormitory,
        available_from=intention.available_from,
        trained_occupations=tuple(dict.fromkeys(trained_occupations)),
        unemployed_since=person.status_since if person.status in UNEMPLOYED_STATUSES else None,
        province_code=person.province_code,
        station_id=person.station_id,
        history="\n".join(
            part
            for part in (
                person.speciality,
                person.past_training,
                *(
                    " ".join(filter(None, (spell.workplace_kind, spell.duties)))
                    for spell in person.work_history
                ),
            )
            if part
        ),
        past_occupations=tuple(
            dict.fromkeys(spell.occupation_code for spell in person.work_history if spell.occupation_code)
        ),
        seeking=person.status in SEEKING_STATUSES,
    )
