"""Which feed version a change poll may hand out (pure logic)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from libs.db import utcnow
from services.feed.settings import FeedEnvironment
from services.feed.snapshots import SETTLE_SECONDS, settled_version

NOW = utcnow()
OLD = NOW - timedelta(seconds=SETTLE_SECONDS * 10)
YOUNG = NOW - timedelta(seconds=SETTLE_SECONDS / 10)


def test_an_empty_log_is_version_zero() -> None:
    assert settled_version([], NOW) == 0


def test_without_holes_the_newest_change_is_the_version() -> None:
    assert settled_version([(12, YOUNG), (11, OLD), (10, OLD)], NOW) == 12


def test_a_young_hole_is_not_stepped_over() -> None:
    # 11 may still be committing (PostgreSQL hands out numbers before commit): stop at 10
    assert settled_version([(13, YOUNG), (12, YOUNG), (10, OLD)], NOW) == 10


def test_an_old_hole_is_a_number_that_never_fills() -> None:
    # a rolled-back transaction's number: after the grace it no longer holds the version back
    assert settled_version([(13, YOUNG), (12, OLD), (10, OLD)], NOW) == 13


def test_the_lowest_young_hole_bounds_the_version() -> None:
    # 16 and 19 missing, both young: the walk stops below the first
    assert settled_version([(20, YOUNG), (18, YOUNG), (17, YOUNG), (15, YOUNG), (14, OLD)], NOW) == 15


@pytest.mark.parametrize("days", ["0", "-3"])
def test_the_posting_lifetime_is_at_least_a_day(monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    monkeypatch.setenv("EW_FEED_POSTING_LIFETIME_DAYS", days)
    with pytest.raises(ValueError, match="at least 1"):
        FeedEnvironment()


def test_the_posting_lifetime_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EW_FEED_POSTING_LIFETIME_DAYS", "30")
    monkeypatch.setenv("EW_FEED_EXPIRY_CHECK_SECONDS", "15")
    settings = FeedEnvironment().feed_settings()
    assert (settings.posting_lifetime_days, settings.expiry_check_seconds) == (30, 15)
