"""Province editions: the fit rule, and the bucketed index that counts with it, checked against each other."""

from __future__ import annotations

import random

from services.feed.editions import (
    Edition,
    JobProfile,
    ProvinceIndex,
    Ranked,
    WorkerProfile,
    fits,
    minor_group,
)

CITIES = ["3201", "3202", "3205", "3206", "3211"]
OCCUPATIONS = [
    "6-29-01-01",
    "6-29-01-03",
    "6-29-01-04",
    "6-25-04-07",
    "4-02-07-08",
    "4-02-07-09",
    "4-10-01-06",
]


def worker(**fields: object) -> WorkerProfile:
    values: dict[str, object] = {
        "city_codes": frozenset(),
        "occupation_codes": frozenset(),
        "min_salary": None,
        "needs_dormitory": False,
        "age": 30,
        "status": "seeking",
    }
    values.update(fields)
    return WorkerProfile(**values)  # type: ignore[arg-type]


def job(**fields: object) -> JobProfile:
    values: dict[str, object] = {
        "city_code": "3205",
        "occupation_code": "6-25-04-07",
        "salary_max": 6000,
        "dormitory": True,
        "age_min": 18,
        "age_max": 45,
    }
    values.update(fields)
    return JobProfile(**values)  # type: ignore[arg-type]


def test_minor_group_is_the_first_three_parts() -> None:
    assert minor_group("6-29-01-04") == "6-29-01" == minor_group("6-29-01-03")
    assert minor_group("6-29-02-08") != minor_group("6-29-01-04")


def test_each_part_of_the_rule() -> None:
    assert fits(job(), worker())
    for status in ("seeking", "unemployed", "training"):
        assert fits(job(), worker(status=status))
    for status in ("employed", "inactive"):
        assert not fits(job(), worker(status=status))
    assert fits(job(), worker(city_codes=frozenset({"3205", "3202"})))
    assert not fits(job(), worker(city_codes=frozenset({"3202"})))
    assert fits(job(occupation_code="6-29-01-03"), worker(occupation_codes=frozenset({"6-29-01-04"})))
    assert not fits(job(occupation_code="6-29-02-08"), worker(occupation_codes=frozenset({"6-29-01-04"})))
    assert not fits(job(occupation_code=None), worker(occupation_codes=frozenset({"6-29-01-04"})))
    assert fits(job(occupation_code=None), worker())
    assert fits(job(salary_max=6000), worker(min_salary=6000))
    assert not fits(job(salary_max=5999), worker(min_salary=6000))
    assert not fits(job(dormitory=False), worker(needs_dormitory=True))
    assert fits(job(dormitory=False), worker(needs_dormitory=False))
    assert not fits(job(age_max=29), worker(age=30)) and not fits(job(age_min=31), worker(age=30))
    assert fits(job(age_min=None, age_max=None), worker(age=70)) and fits(job(), worker(age=None))


def random_worker(rng: random.Random) -> WorkerProfile:
    return worker(
        city_codes=frozenset(rng.sample(CITIES, rng.choice([0, 0, 1, 2]))),
        occupation_codes=frozenset(rng.sample(OCCUPATIONS, rng.choice([0, 1, 1, 2]))),
        min_salary=rng.choice([None, 3000, 4500, 6000, 8000]),
        needs_dormitory=rng.random() < 0.5,
        age=rng.choice([None, *range(17, 60)]),
        status=rng.choice(["seeking", "seeking", "unemployed", "training", "employed", "inactive"]),
    )


def random_job(rng: random.Random) -> JobProfile:
    age_min = rng.choice([None, 16, 18, 25])
    return job(
        city_code=rng.choice(CITIES),
        occupation_code=rng.choice([None, *OCCUPATIONS]),
        salary_max=rng.choice([3500, 5000, 6000, 7200, 9000]),
        dormitory=rng.random() < 0.5,
        age_min=age_min,
        age_max=rng.choice([None, 35, 45, 55]),
    )


def test_the_index_counts_exactly_what_the_rule_says() -> None:
    rng = random.Random(20261128)
    workers = [random_worker(rng) for _ in range(1500)]
    index = ProvinceIndex(workers)
    assert index.workers == sum(1 for w in workers if w.status in ("seeking", "unemployed", "training"))
    for _ in range(300):
        candidate = random_job(rng)
        assert index.count(candidate) == sum(1 for w in workers if fits(candidate, w)), candidate


def test_edition_pages_continue_after_the_cursor() -> None:
    ranked = [Ranked(5, 9, "a"), Ranked(5, 4, "b"), Ranked(2, 8, "c"), Ranked(0, 7, "d"), Ranked(0, 1, "e")]
    edition = Edition("61", 1, 5, ranked)
    assert [entry.job_id for entry in edition.page(None, 2)] == ["a", "b"]
    assert [entry.job_id for entry in edition.page((5, 4), 2)] == ["c", "d"]
    assert [entry.job_id for entry in edition.page((0, 7), 2)] == ["e"]
    assert list(edition.page((0, 1), 2)) == []
