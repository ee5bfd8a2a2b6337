"""The change hub's bookkeeping, without I/O: what it takes from a read and what it serves from memory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.feed import streaming
from services.feed.models import FeedChange
from services.feed.service import ChangeSignal
from services.feed.streaming import ChangeHub, contiguous


def rows(*seqs: int) -> list[FeedChange]:
    now = datetime.now(UTC)
    return [
        FeedChange(
            seq=seq, job_id=f"j{seq}", kind="job.published", city_code="3205", payload={}, created_at=now
        )
        for seq in seqs
    ]


def hub(head: int) -> ChangeHub:
    made = ChangeHub(runtime=Any, signal=ChangeSignal(), refreshers=[])  # type: ignore[arg-type]
    made.head = head
    return made


def test_contiguous_stops_at_the_first_gap_until_it_expires() -> None:
    assert contiguous(10, [11, 12, 13], gap_expired=False) == 3
    assert contiguous(10, [11, 13, 14], gap_expired=False) == 1
    assert contiguous(10, [12, 13], gap_expired=False) == 0
    assert contiguous(10, [12, 13], gap_expired=True) == 2
    assert contiguous(10, [], gap_expired=False) == 0


def test_a_gap_holds_the_hub_back_until_it_fills() -> None:
    h = hub(10)
    assert h._take(rows(11, 13)) is True and h.head == 11  # 12 not committed yet
    assert h._take(rows(12, 13)) is True and h.head == 13  # it filled
    assert [change.seq for change in h.after(10) or []] == [11, 12, 13]


def test_a_gap_that_never_fills_is_stepped_over_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(streaming.time, "monotonic", lambda: clock[0])
    h = hub(10)
    assert h._take(rows(12)) is False and h.head == 10
    clock[0] += streaming.GAP_GRACE_SECONDS / 2
    assert h._take(rows(12)) is False and h.head == 10
    clock[0] += streaming.GAP_GRACE_SECONDS
    assert h._take(rows(12, 13)) is True and h.head == 13
    assert h._gap_since is None


def test_streams_behind_the_tail_or_before_the_first_read_go_to_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert hub(0).after(0) == []
    fresh = ChangeHub(runtime=Any, signal=ChangeSignal(), refreshers=[])  # type: ignore[arg-type]
    assert fresh.after(0) is None
    monkeypatch.setattr(streaming, "TAIL", 3)
    h = hub(100)
    assert h.after(99) is None  # older than what the hub has seen
    for seq in range(101, 109):
        h._take(rows(seq))
    assert len(h._seqs) <= 2 * streaming.TAIL
    floor = h._seqs[0] - 1
    assert h.after(floor - 1) is None
    assert [change.seq for change in h.after(floor) or []] == h._seqs
    assert [change.seq for change in h.after(106) or []] == [107, 108]
    assert h.after(108) == [] and h.after(500) == []


def test_the_hub_counts_its_streams() -> None:
    h = hub(5)
    with h.listening():
        with h.listening():
            assert h.streams == 2 and h._listened.is_set()
        assert h.streams == 1
    assert h.streams == 0
