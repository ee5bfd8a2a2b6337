"""The one mapping from stored payloads to what the ranker sees, as the index applies it to read-model rows (as
`index_rows` reads them).

Matching once had two mappers that disagreed; these pin the decisions taken when they became one:
- a job is open only when published, with headcount left and not past its last day (a Beijing date);
- a worker seeking work is on the unemployment clock from `status_since`, as one who lost their job is;
- a completed training's certificate counts as the worker's certificate, and a second training is seen even when
  it repeats the first one's occupation."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from libs.events.contracts import Benefits, Intention, JobPayload, PersonPayload
from services.matching.features import job_features
from services.matching.index import _Held
from services.matching.index_rows import JobRow, WorkerRow
from services.matching.ranker import MatchIndex

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def job_payload(**changes: Any) -> JobPayload:
    job = JobPayload(
        id="j1", version=1, status="published", employer_id="e", employer_name="某公司", employer_assistance_base=False,
        employer_caring=False, title="电焊工", description="电焊", occupation_code="6-18-02-04", industry=None,
        city_code="3205", headcount=5, headcount_left=2, salary_min=6000, salary_max=8000, age_min=None, age_max=None,
        education_min=None, skills=["电焊"], certificates_required=[], benefits=Benefits(), shift=None,
        valid_until=None, public_welfare=False, contract_months=None, published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return job.model_copy(update=changes)


def person_payload(**changes: Any) -> PersonPayload:
    person = PersonPayload(
        id="p1", version=1, station_id="s", province_code="52", gender="male", age=35, education=None,
        categories=["poverty_alleviated"], key_region=False, skills=["电焊"], certificates=[],
        intention=Intention(occupation_codes=["6-18-02-04"], keywords="电焊", city_codes=[]),
        status="seeking", status_since=date(2026, 1, 5), updated_at=NOW,
    )  # fmt: skip
    return person.model_copy(update=changes)


def job_row(job: JobPayload, status: str | None = None) -> JobRow:
    """As the index reads a row of matching's job table."""
    return JobRow(job.id, job.version, status or job.status, job.model_dump_json(), NOW)


def worker_row(person: PersonPayload, **training: Any) -> WorkerRow:
    lists = [training.get(f"trained_{kind}", []) for kind in ("occupations", "skills", "certificates")]
    return WorkerRow(
        person.id,
        person.version,
        False,
        training.get("trainings", 0),
        person.model_dump_json(),
        json.dumps(lists),
        NOW,
    )


def held() -> _Held:
    return _Held(MatchIndex())


def test_open_needs_headcount_left_and_a_valid_date() -> None:
    assert job_features(job_payload(), TODAY).open
    assert not job_features(job_payload(headcount_left=0), TODAY).open
    assert not job_features(job_payload(valid_until=TODAY - timedelta(days=1)), TODAY).open
    assert job_features(job_payload(valid_until=TODAY), TODAY).open
    assert not job_features(job_payload(status="flagged"), TODAY).open


def test_the_index_takes_in_only_open_jobs_and_drops_a_job_that_fills() -> None:
    h = held()
    h.apply_jobs([job_row(job_payload(id="open")), job_row(job_payload(id="full", headcount_left=0))], TODAY)
    assert h.index.job_count == 1
    h.apply_jobs([job_row(job_payload(id="open", version=2, headcount_left=0))], TODAY)
    assert h.index.job_count == 0
    h.apply_jobs([job_row(job_payload(id="late", valid_until=TODAY - timedelta(days=1)))], TODAY)
    assert h.index.job_count == 0


def test_a_closed_tombstone_is_not_open_whatever_its_last_payload_said() -> None:
    h = held()
    h.apply_jobs([job_row(job_payload(), status="closed")], TODAY)
    assert h.index.job_count == 0


def test_a_worker_seeking_work_is_on_the_unemployment_clock() -> None:
    h = held()
    h.apply_workers([worker_row(person_payload())])
    assert h.statuses["p1"] == "seeking"
    h.apply_jobs([job_row(job_payload())], TODAY)
    (match,) = h.index.recommend("p1", 1, TODAY)
    assert "priority_long_unemployed" in {reason.code for reason in match.reasons}


def test_an_employed_worker_is_not() -> None:
    h = held()
    h.apply_jobs([job_row(job_payload())], TODAY)
    h.apply_workers([worker_row(person_payload(status="training"))])
    (match,) = h.index.recommend("p1", 1, TODAY)
    assert "priority_long_unemployed" not in {reason.code for reason in match.reasons}


def test_a_training_certificate_meets_a_job_that_requires_it() -> None:
    h = held()
    h.apply_jobs([job_row(job_payload(certificates_required=["焊工证"]))], TODAY)
    h.apply_workers([worker_row(person_payload())])
    assert h.index.recommend("p1", 1, TODAY) == []
    h.apply_workers([worker_row(person_payload(), trained_certificates=["焊工证"], trainings=1)])
    assert [m.job_id for m in h.index.recommend("p1", 1, TODAY)] == ["j1"]


def test_a_second_training_in_the_same_occupation_is_taken_in() -> None:
    h = held()
    h.apply_jobs([job_row(job_payload(certificates_required=["高级焊工证"]))], TODAY)
    first = {"trained_occupations": ["6-18-02-04"], "trained_certificates": ["焊工证"], "trainings": 1}
    h.apply_workers([worker_row(person_payload(), **first)])
    assert h.index.recommend("p1", 1, TODAY) == []
    second = {**first, "trained_certificates": ["焊工证", "高级焊工证"], "trainings": 2}
    h.apply_workers([worker_row(person_payload(), **second)])
    assert [m.job_id for m in h.index.recommend("p1", 1, TODAY)] == ["j1"]
