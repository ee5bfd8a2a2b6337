"""A loop that waits for a wake-up ends when it is cancelled, even when the wake-up comes in the same moment:
on Python 3.11 `asyncio.wait_for` dropped such a cancellation and a shutdown waiting for the loop hung."""

from __future__ import annotations

import asyncio
from typing import Any

from libs.aio import wait_event
from services.matching.index import IndexHolder


async def test_wait_event_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def woken_and_cancelled_together(event: asyncio.Event, task: asyncio.Task[Any]) -> None:
    for _ in range(3):  # let the loop reach its wait
        await asyncio.sleep(0)
    event.set()  # the wait completes ...
    task.cancel()  # ... in the same loop iteration as the cancel
    # Waited for without awaiting it: awaiting under a time limit would cancel it a second time.
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task}, "the loop went on after its cancel()"
    assert task.cancelled()
    task.cancel()  # (a loop that went on: end it now)


async def test_a_wake_up_loop_ends_when_cancelled_as_it_is_woken() -> None:
    event = asyncio.Event()
    turns = 0

    async def wake_up_loop() -> None:
        nonlocal turns
        while True:
            turns += 1
            await wait_event(event, 0.5)
            event.clear()

    await woken_and_cancelled_together(event, asyncio.create_task(wake_up_loop()))
    assert turns == 1


async def test_the_matching_index_loop_ends_when_cancelled_as_it_is_woken() -> None:
    def no_database() -> Any:
        raise ConnectionRefusedError("no database in a unit test")  # refresh fails, is logged, the loop waits

    holder = IndexHolder()
    task = asyncio.create_task(holder.run(no_database, every_seconds=0.5))  # type: ignore[arg-type]
    await woken_and_cancelled_together(holder._wake, task)
