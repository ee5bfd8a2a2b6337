"""SQLite's one write lock: a writer waits its turn on the event loop, never inside SQLite for long.

A connection waiting for the lock inside sqlite3_step holds its mutex; anything touching that connection from
the event loop's thread meanwhile (the garbage collector finalising one of its cursors, say) froze the whole
process until the wait ended. These run on real SQLite files, two engines as two writers."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from libs import sqlite
from libs.db import create_engine, unavailable


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}"
    first, second = create_engine(url), create_engine(url)
    async with first.begin() as connection:
        await connection.execute(text("CREATE TABLE marks (n INTEGER)"))
    yield first, second
    await first.dispose()
    await second.dispose()


async def _holder(engine: AsyncEngine, seconds: float) -> asyncio.Task[None]:
    """Another process's writer, as far as `engine`'s peer can tell: it holds the write lock `seconds`."""
    holding = asyncio.Event()

    async def hold() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (1)"))
            holding.set()
            await asyncio.sleep(seconds)

    task = asyncio.create_task(hold())
    await holding.wait()
    return task


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM marks"))).scalar_one())


async def test_a_waiting_writer_gets_its_turn_when_the_lock_is_free(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = engines
    holder = await _holder(first, 1.0)
    async with second.begin() as connection:  # waits out the holder, several SQLite spells long
        await connection.execute(text("INSERT INTO marks VALUES (2)"))
    assert holder.done()
    assert await _count(second) == 2


async def test_a_writer_that_waits_too_long_is_told_the_database_is_busy(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = engines
    monkeypatch.setattr(sqlite, "SQLITE_WRITE_WAIT_SECONDS", 0.3)
    holder = await _holder(first, 1.5)
    with pytest.raises(Exception) as raised:
        async with second.begin() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (2)"))
    assert unavailable(raised.value), raised.value  # an API answers 503, a consumer pauses
    await holder
    async with second.begin() as connection:  # the same engine writes again once the lock is free
        await connection.execute(text("INSERT INTO marks VALUES (3)"))
    assert await _count(second) == 2


async def test_touching_a_waiting_connection_does_not_freeze_the_event_loop(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = engines
    holder = await _holder(first, 5.0)
    async with second.connect() as connection:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        sqlite_connection = raw._conn  # the sqlite3 connection aiosqlite's thread works on
        waiter = asyncio.create_task(connection.execute(text("INSERT INTO marks VALUES (2)")))
        await asyncio.sleep(0.3)  # the waiter's thread is inside SQLite by now
        assert not waiter.done()
        started = time.monotonic()
        sqlite_connection.execute("SELECT 1").close()  # takes the connection's mutex, on the loop's thread
        blocked = time.monotonic() - started
        # Waiting inside SQLite for the whole 5 s would hold the mutex that long; a spell holds it 0.2 s.
        assert blocked < 2.5, f"the event loop's thread was blocked {blocked:.1f}s"
        await holder
        await waiter
        await connection.rollback()


async def test_writers_of_one_process_take_turns_without_sqlite_waiting(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, _ = engines
    busy: list[BaseException] = []
    event.listen(first.sync_engine, "handle_error", lambda context: busy.append(context.original_exception))

    async def write(n: int) -> None:
        async with first.begin() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.005)  # the turn is held across awaits, as a request's is

    await asyncio.gather(*(write(n) for n in range(30)))
    async with first.connect() as connection:
        written = sorted(row[0] for row in await connection.execute(text("SELECT n FROM marks")))
    assert written == list(range(30))
    assert busy == []  # they queued on the event loop: SQLite never had to say "database is locked"


async def test_a_session_dropped_mid_transaction_gives_its_turn_back(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = engines
    monkeypatch.setattr(sqlite, "SQLITE_WRITE_WAIT_SECONDS", 10.0)

    async def abandon() -> None:
        connection = await first.connect()
        await connection.execute(text("INSERT INTO marks VALUES (1)"))  # holds the turn, never closed

    await abandon()
    gc.collect()
    async with first.begin() as connection:  # would wait 10 s and fail if the turn were lost
        await connection.execute(text("INSERT INTO marks VALUES (2)"))
    assert await _count(first) == 1  # the dropped transaction rolled back


async def test_a_transaction_cancelled_mid_statement_raises_the_cancellation_and_gives_its_turn_back(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping a relay or a consumer cancels its task wherever it is, often inside a statement: SQLAlchemy then
    invalidates the connection, and the turn's give-back must neither raise in its place (a loop catching
    errors would carry on, cancelled, forever) nor keep the turn."""
    first, _ = engines
    monkeypatch.setattr(sqlite, "SQLITE_WRITE_WAIT_SECONDS", 10.0)
    started = threading.Event()

    @event.listens_for(first.sync_engine, "connect")
    def _started_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("started", 0, lambda: started.set() or 1)

    await first.dispose()  # every connection from here on has the function
    sessions = async_sessionmaker(first)
    slow = text(
        "WITH RECURSIVE c(x) AS (SELECT started() UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT count(*) FROM c"
    )

    async def counting() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO marks VALUES (1)"))
            await session.execute(slow)

    task = asyncio.create_task(counting())
    async with asyncio.timeout(30):
        while not started.is_set():  # the statement runs in the connection's thread
            assert not task.done(), task
            await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with sessions() as session, session.begin():  # would wait 10 s and fail if the turn were kept
        await session.execute(text("INSERT INTO marks VALUES (2)"))
    assert await _count(first) == 1  # the cancelled transaction rolled back
