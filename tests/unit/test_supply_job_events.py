"""What readers hear of a job's status change: one rule for create, update, close and placements."""

from __future__ import annotations

import pytest

from libs.events.contracts import JOB_CLOSED, JOB_PUBLISHED, JOB_UPDATED
from services.supply.service import job_event


@pytest.mark.parametrize(
    ("before", "after", "event"),
    [
        (None, "published", JOB_PUBLISHED),  # created clean
        (None, "flagged", None),  # created with compliance issues: readers never hear of it
        ("flagged", "published", JOB_PUBLISHED),  # fixed
        ("published", "published", JOB_UPDATED),  # edited, or a seat filled
        ("published", "flagged", JOB_UPDATED),  # now flagged: readers that had it drop it
        ("flagged", "flagged", None),
        ("published", "closed", JOB_CLOSED),  # closed by the recruiter or by its last seat
        ("flagged", "closed", JOB_CLOSED),
        ("closed", "closed", None),  # a seat freed on a closed job
    ],
)
def test_job_event(before: str | None, after: str, event: str | None) -> None:
    assert job_event(before, after) == event
