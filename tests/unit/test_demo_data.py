"""Demo data must be valid input for the platform it demonstrates."""

from datetime import date

import pytest
from stdnum.cn import uscc

from eastwest.demo_data import demo_employers, demo_jobs
from libs.reference.minimum_wage import minimum_monthly_wage
from libs.reference.occupations import INDUSTRIES, is_occupation_code
from libs.reference.regions import JIANGSU_CITIES
from services.supply.compliance import check_posting

EMPLOYERS = demo_employers()
IDS = {str(employer["credit_code"]): f"employer-{n}" for n, employer in enumerate(EMPLOYERS)}
JOBS = demo_jobs(IDS)
ON = date(2026, 11, 1)


def test_sizes() -> None:
    assert 10 <= len(EMPLOYERS) <= 15
    assert 35 <= len(JOBS) <= 45


def test_employer_fields() -> None:
    for employer in EMPLOYERS:
        assert set(employer) == {"name", "credit_code", "city_code", "assistance_base", "caring_employer"}
        assert isinstance(employer["assistance_base"], bool)
        assert isinstance(employer["caring_employer"], bool)
        assert str(employer["name"]).endswith("有限公司")


def test_every_credit_code_is_valid_and_in_its_city() -> None:
    for employer in EMPLOYERS:
        code = str(employer["credit_code"])
        assert uscc.validate(code) == code
        assert code.startswith("91")
        assert code[2:6] == employer["city_code"]
        assert employer["city_code"] in JIANGSU_CITIES


def test_unique_employers_across_several_cities() -> None:
    assert len({e["credit_code"] for e in EMPLOYERS}) == len(EMPLOYERS)
    assert len({e["name"] for e in EMPLOYERS}) == len(EMPLOYERS)
    assert len({e["city_code"] for e in EMPLOYERS}) >= 8


@pytest.mark.parametrize("job", JOBS, ids=[str(job["title"]) for job in JOBS])
def test_job_is_publishable(job: dict[str, object]) -> None:
    skills, salary_min = job["skills"], job["salary_min"]
    assert isinstance(skills, list) and isinstance(salary_min, int)
    texts = [str(job["title"]), str(job["description"]), *map(str, skills)]
    assert check_posting(texts=texts, salary_min=salary_min, city_code=str(job["city_code"]), on=ON) == []


@pytest.mark.parametrize("job", JOBS, ids=[str(job["title"]) for job in JOBS])
def test_job_fields(job: dict[str, object]) -> None:
    assert str(job["city_code"]) in JIANGSU_CITIES
    assert is_occupation_code(str(job["occupation_code"]))
    assert job["industry"] in INDUSTRIES
    headcount, salary_min, salary_max = job["headcount"], job["salary_min"], job["salary_max"]
    age_min, age_max, months = job["age_min"], job["age_max"], job["contract_months"]
    assert isinstance(headcount, int) and 1 <= headcount <= 50
    assert isinstance(salary_min, int) and isinstance(salary_max, int)
    assert 3000 <= salary_min < salary_max <= 20000
    wage = minimum_monthly_wage(str(job["city_code"]), ON)
    assert wage is not None and salary_min > wage.monthly_yuan
    assert isinstance(age_min, int) and isinstance(age_max, int)
    assert 16 <= age_min < age_max <= 60
    assert months in {12, 24, 36}
    assert isinstance(job["skills"], list) and job["skills"]
    assert isinstance(job["certificates_required"], list)
    benefits = job["benefits"]
    assert isinstance(benefits, dict) and benefits.keys() == {"dormitory", "meals", "social_insurance"}
    assert all(isinstance(value, bool) for value in benefits.values())
    assert isinstance(job["shift"], str) and job["shift"]


def test_jobs_sit_in_their_employers_city() -> None:
    city_by_id = {IDS[str(e["credit_code"])]: e["city_code"] for e in EMPLOYERS}
    for job in JOBS:
        assert job["city_code"] == city_by_id[str(job["employer_id"])]


def test_certificates_for_licensed_work() -> None:
    by_occupation: dict[str, list[object]] = {}
    for job in JOBS:
        certificates = job["certificates_required"]
        assert isinstance(certificates, list)
        by_occupation.setdefault(str(job["occupation_code"]), []).extend(certificates)
    assert "特种作业操作证（低压电工）" in by_occupation["6-31-01-03"]
    assert "保安员证" in by_occupation["4-07-05-01"]


def test_covers_the_policy_industries() -> None:
    industries = {job["industry"] for job in JOBS}
    assert {
        "manufacturing",
        "construction",
        "housekeeping",
        "logistics",
        "security",
        "catering",
    } <= industries


def test_deterministic_and_not_shared() -> None:
    first = demo_jobs(IDS)
    assert first == demo_jobs(IDS)
    assert demo_employers() == demo_employers()
    skills = first[0]["skills"]
    assert isinstance(skills, list)
    skills.append("changed")
    assert demo_jobs(IDS)[0]["skills"] != skills


def test_missing_employer_is_an_error() -> None:
    with pytest.raises(KeyError):
        demo_jobs({})
