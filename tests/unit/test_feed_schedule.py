"""The snapshot schedule: periodic slots on the epoch grid, the daily one in Beijing time, and EW_FEED_*."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.feed.settings import FeedEnvironment, FeedSettings
from services.feed.snapshots import next_slot, slot_key


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_hourly_slots_are_on_the_hour() -> None:
    settings = FeedSettings(snapshot_every_seconds=3600, snapshot_daily_at=None)
    assert next_slot(at("2026-12-01T10:17:03+08:00"), settings) == at("2026-12-01T11:00:00+08:00")
    assert next_slot(at("2026-12-01T11:00:00+08:00"), settings) == at("2026-12-01T12:00:00+08:00")


def test_daily_slot_is_beijing_time_and_coincides_with_the_hourly_one() -> None:
    daily = FeedSettings(snapshot_every_seconds=0, snapshot_daily_at=time(8, 0))
    assert next_slot(at("2026-12-01T07:59:00+08:00"), daily) == at("2026-12-01T08:00:00+08:00")
    assert next_slot(at("2026-12-01T08:00:00+08:00"), daily) == at("2026-12-02T08:00:00+08:00")
    assert next_slot(at("2026-11-30T23:30:00+00:00"), daily) == at("2026-12-01T08:00:00+08:00")
    assert next_slot(at("2026-12-01T00:30:00+00:00"), daily) == at("2026-12-02T08:00:00+08:00")
    both = FeedSettings()
    slot = next_slot(at("2026-12-01T07:30:00+08:00"), both)
    assert slot == at("2026-12-01T08:00:00+08:00")
    assert slot is not None and slot_key(slot) == "2026-12-01T08:00:00+08:00"
    assert next_slot(at("2026-12-01T07:30:00+08:00"), FeedSettings(0, None)) is None


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EW_FEED_SNAPSHOT_EVERY_SECONDS", "900")
    monkeypatch.setenv("EW_FEED_SNAPSHOT_DAILY_AT", "07:30")
    monkeypatch.setenv("EW_FEED_WEBHOOK_MAX_ATTEMPTS", "5")
    settings = FeedEnvironment().feed_settings()
    assert settings.snapshot_every_seconds == 900 and settings.snapshot_daily_at == time(7, 30)
    assert settings.webhook_max_attempts == 5 and settings.webhook_backoff_seconds == 2.0
    monkeypatch.setenv("EW_FEED_SNAPSHOT_DAILY_AT", "")
    assert FeedEnvironment().feed_settings().snapshot_daily_at is None
    monkeypatch.setenv("EW_FEED_SNAPSHOT_DAILY_AT", "8am")
    with pytest.raises(ValueError, match="HH:MM"):
        FeedEnvironment()


def test_defaults() -> None:
    settings = FeedSettings()
    assert settings.snapshot_every_seconds == 3600 and settings.snapshot_daily_at == time(8, 0)
