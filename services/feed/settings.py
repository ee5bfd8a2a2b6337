"""Feed's own settings: the snapshot schedule and the webhook delivery policy, from `EW_FEED_*` variables.

The platform-wide `libs.settings.Settings` stays as it is; these are read by the feed's `create_app` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class FeedSettings:
    """Snapshots every `snapshot_every_seconds` (aligned to the epoch, so 3600 is on the hour; 0 turns it
    off) and daily at `snapshot_daily_at` Beijing time (None turns it off); the content of the latest
    `snapshot_keep` snapshots is kept (0: all), older ones answer 410 Gone. Webhook deliveries are retried
    after `webhook_backoff_seconds` * 2^(attempt-1) up to `webhook_max_attempts` attempts.

    A job without a closing date (`valid_until`) is shown until the end of its publication day (Beijing time)
    plus `posting_lifetime_days`; every `expiry_check_seconds` the feed takes the jobs past their last day out
    (a `job.closed` change, so streams, webhooks and change polling see it too)."""

    snapshot_every_seconds: float = 3600
    snapshot_daily_at: time | None = time(8, 0)
    snapshot_keep: int = 168
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 2.0
    webhook_timeout_seconds: float = 5.0
    webhook_poll_seconds: float = 1.0
    webhook_concurrency: int = 8
    webhook_lease_seconds: float = 60.0
    posting_lifetime_days: int = 90
    expiry_check_seconds: float = 60.0


class FeedEnvironment(BaseSettings):
    """`EW_FEED_SNAPSHOT_EVERY_SECONDS=900`, `EW_FEED_SNAPSHOT_DAILY_AT=08:00` (empty: no daily snapshot), …"""

    model_config = SettingsConfigDict(env_prefix="EW_FEED_", extra="ignore")

    snapshot_every_seconds: float = FeedSettings.snapshot_every_seconds
    snapshot_daily_at: str = "08:00"
    snapshot_keep: int = FeedSettings.snapshot_keep
    webhook_max_attempts: int = FeedSettings.webhook_max_attempts
    webhook_backoff_seconds: float = FeedSettings.webhook_backoff_seconds
    webhook_timeout_seconds: float = FeedSettings.webhook_timeout_seconds
    webhook_poll_seconds: float = FeedSettings.webhook_poll_seconds
    webhook_concurrency: int = FeedSettings.webhook_concurrency
    webhook_lease_seconds: float = FeedSettings.webhook_lease_seconds
    posting_lifetime_days: int = FeedSettings.posting_lifetime_days
    expiry_check_seconds: float = FeedSettings.expiry_check_seconds

    @field_validator("snapshot_daily_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        value = value.strip()
        if value and not _CLOCK.match(value):
            raise ValueError("EW_FEED_SNAPSHOT_DAILY_AT must be HH:MM (Beijing time) or empty")
        return value

    @field_validator("snapshot_every_seconds", "webhook_backoff_seconds", "webhook_poll_seconds")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("snapshot_keep")
    @classmethod
    def _keep(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative (0 keeps every snapshot)")
        return value

    @field_validator("expiry_check_seconds")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @field_validator("webhook_max_attempts", "webhook_concurrency", "posting_lifetime_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    def feed_settings(self) -> FeedSettings:
        daily = None
        if self.snapshot_daily_at:
            hours, minutes = self.snapshot_daily_at.split(":")
            daily = time(int(hours), int(minutes))
        return FeedSettings(
            snapshot_every_seconds=self.snapshot_every_seconds,
            snapshot_daily_at=daily,
            snapshot_keep=self.snapshot_keep,
            webhook_max_attempts=self.webhook_max_attempts,
            webhook_backoff_seconds=self.webhook_backoff_seconds,
            webhook_timeout_seconds=self.webhook_timeout_seconds,
            webhook_poll_seconds=self.webhook_poll_seconds,
            webhook_concurrency=self.webhook_concurrency,
            webhook_lease_seconds=self.webhook_lease_seconds,
            posting_lifetime_days=self.posting_lifetime_days,
            expiry_check_seconds=self.expiry_check_seconds,
        )


def feed_settings_from_environment() -> FeedSettings:
    return FeedEnvironment().feed_settings()
