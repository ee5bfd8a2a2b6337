"""A loop that waits for a wake-up ends when it is cancelled, even when the wake-up comes in the same moment:
on Python 3.11 `asyncio.wait_for` dropped such a cancellation and a shutdown waiting for the loop hung."""

from __future__ import annotations

import asyncio
from typing import Any

from libs.aio import cancel_and_wait, raise_if_cancelling, wait_event
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


async def test_cancel_and_wait_absorbs_the_helpers_cancellation_not_the_callers() -> None:
    cleaning = asyncio.Event()

    async def helper(running: asyncio.Event) -> None:
        running.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaning.set()
            await asyncio.sleep(0.05)  # a helper that takes a moment to clean up

    async def owner() -> None:
        running = asyncio.Event()
        helper_task = asyncio.create_task(helper(running))
        await running.wait()
        await cancel_and_wait(helper_task)
        await asyncio.sleep(60)  # went on after its own cancel

    first = asyncio.Event()
    helper_task = asyncio.create_task(helper(first))
    await first.wait()
    await cancel_and_wait(helper_task)  # the helper's cancellation: absorbed
    assert helper_task.cancelled()
    cleaning.clear()

    task = asyncio.create_task(owner())
    async with asyncio.timeout(5):
        await cleaning.wait()
    task.cancel()  # while the owner waits for the helper's clean-up
    done, _ = await asyncio.wait([task], timeout=5)
    if not done:
        task.cancel()
    assert done == {task} and task.cancelled(), "the owner's cancel was taken for the helper's"


async def test_an_error_raised_in_place_of_a_cancellation_ends_the_loop() -> None:
    """SQLAlchemy's clean-up of a statement cancelled mid-way can raise its own error instead of the cancellation;
    a loop that retries on errors would go on, cancelled, for ever."""
    rounds = 0

    async def work() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("clean-up of the interrupted work failed") from None

    async def loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            try:
                await work()
            except Exception as error:
                raise_if_cancelling(error)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    if not done:
        task.cancel()
    assert done == {task} and task.cancelled() and rounds == 1
