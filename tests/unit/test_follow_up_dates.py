"""When a follow-up visit is due: the same day some months later, or that month's last day."""

from __future__ import annotations

from datetime import date

from libs.db import months_after


def test_months_after() -> None:
    assert months_after(date(2026, 11, 20), 1) == date(2026, 12, 20)
    assert months_after(date(2026, 11, 20), 3) == date(2027, 2, 20)
    assert months_after(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert months_after(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert months_after(date(2026, 8, 31), 12) == date(2027, 8, 31)
