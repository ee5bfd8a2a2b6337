"""When a text message may go: quiet hours in Beijing time, a daily cap, opt-outs, backoff; what counts as
"回复TD退订"; templates that never carry more than their parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from libs.db import BEIJING
from libs.settings import Settings
from services.demand.notices.providers import LocalSink, opt_out_reply, provider_from_settings
from services.demand.notices.rules import decide, morning_after, retry_at
from services.demand.notices.templates import PARAM_LIMIT, TEMPLATES, params_of


def beijing(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


def go(now: datetime, *, urgent: bool = False, opted_out: bool = False, sent_today: int = 0) -> str:
    decision = decide(now=now, urgent=urgent, opted_out=opted_out, sent_today=sent_today, daily_cap=3)
    return decision.action


@pytest.mark.parametrize(
    ("hour", "minute", "action"),
    [
        (7, 59, "defer"),
        (8, 0, "send"),
        (12, 0, "send"),
        (20, 59, "send"),
        (21, 0, "defer"),
        (23, 30, "defer"),
        (0, 5, "defer"),
    ],
)
def test_quiet_hours_are_beijing_time(hour: int, minute: int, action: str) -> None:
    assert go(beijing(hour, minute)) == action
    assert go(beijing(hour, minute), urgent=True) == "send"


def test_a_deferred_message_goes_at_eight_the_next_morning() -> None:
    assert morning_after(beijing(22, 15)) == beijing(8, 0, day=8)
    assert morning_after(beijing(3, 0)) == beijing(8, 0, day=7)
    decision = decide(now=beijing(21, 30), urgent=False, opted_out=False, sent_today=0, daily_cap=3)
    assert decision.until == beijing(8, 0, day=8) and decision.reason == "quiet_hours"


def test_the_daily_cap_and_opt_outs() -> None:
    assert go(beijing(10), sent_today=2) == "send"
    cap = decide(now=beijing(10), urgent=False, opted_out=False, sent_today=3, daily_cap=3)
    assert (cap.action, cap.until, cap.reason) == ("defer", beijing(8, 0, day=8), "daily_cap")
    assert go(beijing(10), urgent=True, sent_today=9) == "send"  # a bus seat is not held back by the cap
    assert go(beijing(10), urgent=True, opted_out=True) == "suppress"  # but an opt-out stops everything


def test_backoff_doubles_up_to_an_hour() -> None:
    now = beijing(10)
    assert [retry_at(now, n) - now for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert retry_at(now, 20) - now == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "stops"),
    [
        ("TD", True),
        ("td", True),
        (" T D ", True),
        ("退订", True),
        ("好的", False),
        ("TDX", True),
        ("谢谢", False),
    ],
)
def test_what_counts_as_an_opt_out(text: str, stops: bool) -> None:
    assert opt_out_reply(text) is stops


def test_templates_take_only_their_parameters_within_the_limit() -> None:
    params = params_of("eligibility", {"policy": "跨" * 50, "phone": "13900000001"})
    assert params == {"policy": "跨" * PARAM_LIMIT}
    for template in TEMPLATES.values():
        assert template.text.endswith("回复TD退订")
        assert template.render({name: "x" for name in template.params})


@pytest.mark.parametrize(
    ("provider", "extra", "missing"),
    [
        ("tencent", {}, "EW_SMS_ACCESS_KEY_ID, EW_SMS_ACCESS_KEY_SECRET, EW_SMS_APP_ID"),
        ("alibaba", {"sms_access_key_id": SecretStr("id")}, "EW_SMS_ACCESS_KEY_SECRET"),
    ],
)
def test_a_provider_without_its_credentials_stops_the_start(
    provider: str, extra: dict[str, Any], missing: str
) -> None:
    with pytest.raises(RuntimeError, match=missing):
        provider_from_settings(Settings(sms_provider=provider, **extra))


def test_the_sink_is_the_default(tmp_path: Path) -> None:
    assert isinstance(provider_from_settings(Settings(data_dir=tmp_path)), LocalSink)
