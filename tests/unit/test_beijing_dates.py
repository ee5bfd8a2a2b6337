"""A day is a Beijing day. At 01:00 Beijing time (17:00 UTC the day before) a server in UTC still says
yesterday: a job that closed yesterday must not rank as open, nor be accepted as closing "today"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from pydantic import ValidationError

from libs.db import beijing_date
from services.matching.ranker import MatchIndex
from services.supply.schemas import JobCreate
from tests.unit.test_matching_ranker import job, worker

ONE_AM_IN_BEIJING = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 2026-12-07 01:00 in Beijing
BEIJING_TODAY = date(2026, 12, 7)


@pytest.fixture
def one_am_in_beijing() -> Iterator[None]:
    with time_machine.travel(ONE_AM_IN_BEIJING, tick=False):
        assert date.today() == BEIJING_TODAY - timedelta(days=1)  # what a server in UTC says  # noqa: DTZ011
        yield


def test_the_day_is_the_beijing_day(one_am_in_beijing: None) -> None:
    assert beijing_date() == BEIJING_TODAY
    assert beijing_date(datetime(2026, 12, 7, 15, 59, tzinfo=UTC)) == BEIJING_TODAY
    assert beijing_date(datetime(2026, 12, 7, 16, 0, tzinfo=UTC)) == BEIJING_TODAY + timedelta(days=1)


def test_a_job_that_closed_yesterday_is_not_recommended_at_one_am(one_am_in_beijing: None) -> None:
    index = MatchIndex()
    index.upsert_jobs(
        [
            job("closed-yesterday", valid_until=BEIJING_TODAY - timedelta(days=1)),
            job("closes-today", valid_until=BEIJING_TODAY),
        ]
    )
    index.upsert_workers([worker("person-1")])
    assert [match.job_id for match in index.recommend("person-1")] == ["closes-today"]
    assert [match.person_id for match in index.candidates("closed-yesterday")] == []


def test_a_closing_date_of_yesterday_is_refused_at_one_am(one_am_in_beijing: None) -> None:
    body = {
        "employer_id": "employer-1",
        "title": "电焊工",
        "occupation_code": "6-18-02-04",
        "city_code": "3205",
        "headcount": 3,
        "salary_min": 6000,
        "salary_max": 8000,
    }
    JobCreate.model_validate({**body, "valid_until": BEIJING_TODAY.isoformat()})
    with pytest.raises(ValidationError, match="有效期不能早于今天"):
        JobCreate.model_validate({**body, "valid_until": (BEIJING_TODAY - timedelta(days=1)).isoformat()})
