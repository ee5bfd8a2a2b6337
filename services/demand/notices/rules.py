"""When a notice may go: no messages in quiet hours (21:00-08:00 Beijing time) unless urgent, at most a few a
day to one person, never to someone who has opted out, and failed sends tried again later, less and less often.
No I/O: the sender asks these with what it has read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from libs.db import BEIJING

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "defer", "suppress"]
    until: datetime | None = None  # for "defer": not before this instant
    reason: str = ""


def morning_after(now: datetime) -> datetime:
    """08:00 Beijing time at the end of the quiet hours `now` is in (today's if before 08:00)."""
    local = now.astimezone(BEIJING)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, BEIJING)


def quiet(now: datetime) -> bool:
    local = now.astimezone(BEIJING).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def decide(*, now: datetime, urgent: bool, opted_out: bool, sent_today: int, daily_cap: int) -> Decision:
    if opted_out:
        return Decision("suppress", reason="opted_out")
    if not urgent and quiet(now):
        return Decision("defer", morning_after(now), "quiet_hours")
    if not urgent and sent_today >= daily_cap:
        tomorrow = datetime.combine(now.astimezone(BEIJING).date() + timedelta(days=1), QUIET_UNTIL, BEIJING)
        return Decision("defer", tomorrow, "daily_cap")
    return Decision("send")


def retry_at(
    now: datetime, attempts: int, *, base_seconds: float = 30, longest_seconds: float = 3600
) -> datetime:
    """Exponential backoff after the `attempts`-th failure: 30 s, 60 s, 120 s ... at most an hour."""
    return now + timedelta(seconds=min(longest_seconds, base_seconds * 2 ** max(0, attempts - 1)))
