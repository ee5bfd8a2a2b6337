"""Readiness means "can serve": the database counts as available until it has been down for the grace period
in a row; it must have answered once first."""

from __future__ import annotations

from libs.api.readiness import SustainedOutage


def test_not_available_before_the_first_answer() -> None:
    outage = SustainedOutage(grace_seconds=30)
    assert outage.observe(False, now=0) is False
    assert outage.observe(False, now=100) is False
    assert outage.observe(True, now=101) is True


def test_a_short_outage_keeps_it_available_a_sustained_one_does_not() -> None:
    outage = SustainedOutage(grace_seconds=30)
    assert outage.observe(True, now=0)
    assert outage.observe(False, now=10)  # a slow ping in a burst, a failover's first seconds
    assert outage.observe(False, now=39.9)
    assert not outage.observe(False, now=40)  # down for 30 s in a row
    assert outage.observe(True, now=41)


def test_the_grace_counts_from_the_first_failure_of_a_run_not_the_first_ever() -> None:
    outage = SustainedOutage(grace_seconds=30)
    outage.observe(True, now=0)
    outage.observe(False, now=10)
    outage.observe(True, now=20)  # back: the next outage starts its own count
    assert outage.observe(False, now=45)
    assert outage.observe(False, now=74)
    assert not outage.observe(False, now=75)


def test_no_grace_means_out_at_the_first_failure() -> None:
    outage = SustainedOutage(grace_seconds=0)
    outage.observe(True, now=0)
    assert not outage.observe(False, now=0)


async def test_a_held_event_loop_is_measured_and_fails_liveness() -> None:
    """A loop held by CPU work or a blocking call runs its timers late by as long as it is held."""
    import asyncio
    import time

    from libs.api.readiness import LoopLag

    lag = LoopLag(limit_seconds=0.1, tick_seconds=0.01)
    monitor = asyncio.create_task(lag.run())
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 (the point: a loop held by a blocking call)
        await asyncio.sleep(0.05)
        assert lag.worst() >= 0.25
        assert not lag.healthy()
    finally:
        monitor.cancel()


def test_the_lag_window_forgets_after_a_minute() -> None:
    from libs.api.readiness import LoopLag

    lag = LoopLag(limit_seconds=5, window=[(0.0, 40.0), (30.0, 1.0)])
    assert lag.worst(now=59.0) == 40.0
    assert lag.worst(now=61.0) == 1.0
