"""Waiting with a time limit that a cancellation always gets through.

On Python 3.11, `asyncio.wait_for` returns the result and drops a `cancel()` that arrives in the same loop
iteration as the awaited thing completing (python/cpython#86296, fixed in 3.12 by rebuilding it on
`asyncio.timeout`). A `while True` loop that waits for a wake-up that way can outlive its `cancel()` for ever,
and a shutdown that awaits it never ends. `asyncio.timeout` has no such race, so the project uses it and ruff
bans `asyncio.wait_for`.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """True if `event` is set within `seconds`; a cancellation meanwhile is raised, never lost."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


class Pulse:
    """Wakes everyone waiting at once each time something happened (a consumer committed an event, say);
    a waiter takes `current` before it looks, so a beat between its look and its wait is not missed."""

    def __init__(self) -> None:
        self.current = asyncio.Event()

    def beat(self) -> None:
        self.current.set()
        self.current = asyncio.Event()
