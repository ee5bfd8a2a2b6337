"""Waiting with a time limit that a cancellation always gets through.

On Python 3.11, `asyncio.wait_for` returns the result and drops a `cancel()` that arrives in the same loop
iteration as the awaited thing completing (python/cpython#86296, fixed in 3.12 by rebuilding it on
`asyncio.timeout`). A `while True` loop that waits for a wake-up that way can outlive its `cancel()` for ever,
and a shutdown that awaits it never ends. `asyncio.timeout` has no such race, so the project uses it and ruff
bans `asyncio.wait_for`. The same hang follows from `suppress(CancelledError)` around the wait for a helper task
one has just cancelled: a cancel of one's own arriving meanwhile is taken for the helper's (`cancel_and_wait`).
"""

from __future__ import annotations

import asyncio
from typing import Any


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """True if `event` is set within `seconds`; a cancellation meanwhile is raised, never lost."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel a helper task and wait until it has finished; its cancellation is absorbed, the caller's own (a
    cancel arriving while it waits) is raised."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


def raise_if_cancelling(error: BaseException) -> None:
    """In a loop's `except Exception`: if this task is being cancelled, `error` stands for the cancellation (a
    library's clean-up of the interrupted work failed in its place) and the loop must end, not retry or count
    it as the work's failure."""
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        raise asyncio.CancelledError from error


class Pulse:
    """Wakes everyone waiting at once each time something happened (a consumer committed an event, say);
    a waiter takes `current` before it looks, so a beat between its look and its wait is not missed."""

    def __init__(self) -> None:
        self.current = asyncio.Event()

    def beat(self) -> None:
        self.current.set()
        self.current = asyncio.Event()
