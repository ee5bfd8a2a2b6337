"""The platform's SQLite driver (libs/sqlite.py DRIVER): a statement is one trip to the connection's thread, and
everything SQLAlchemy reads from a cursor is as the stock aiosqlite adapter gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db import create_engine

metadata = MetaData()
marks = Table(
    "marks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(20), unique=True, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    created = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with created.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield created
    await created.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function sent to an aiosqlite connection's thread, by name."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_a_transaction_is_one_trip_a_statement_and_one_to_commit(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as connection:  # BEGIN IMMEDIATE goes with the first statement
        await connection.execute(insert(marks).values(name="a"))
        rows = [tuple(row) for row in await connection.execute(select(marks.c.name))]
    assert rows == [("a",)]
    assert trips == ["_statement", "_statement", "commit"]  # no cursor trips, no reset after the commit
    trips.clear()
    async with engine.begin():  # nothing ran: nothing to begin, commit or reset
        pass
    assert trips == []


async def test_a_streamed_first_statement_runs_inside_the_transaction(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(marks).values(name="a"))
    async with engine.connect() as connection:
        streamed = await connection.stream(select(marks.c.name))  # SQLAlchemy's server-side cursor, first
        assert [row.name async for row in streamed] == ["a"]
        raw: Any = (await connection.get_raw_connection()).driver_connection
        assert raw._conn.in_transaction  # its BEGIN went first, alone
        await connection.execute(insert(marks).values(name="b"))
        await connection.rollback()
    assert (await _names(engine)) == ["a"]


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return [row.name for row in await connection.execute(select(marks.c.name).order_by(marks.c.seq))]


async def test_rows_counts_and_ids_are_what_sqlalchemy_expects(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(insert(marks).values(name="a"))
        assert first.inserted_primary_key == (1,)  # from the cursor's lastrowid
        await connection.execute(insert(marks), [{"name": "b"}, {"name": "c"}])  # executemany
        changed = await connection.execute(
            update(marks).where(marks.c.name != "a").values(name=marks.c.name + "!")
        )
        assert changed.rowcount == 2
        assert (await connection.execute(text("SELECT count(*) FROM marks"))).scalar_one() == 3
        streamed = await connection.stream(select(marks.c.name).order_by(marks.c.seq))  # a server-side cursor
        assert [row.name async for row in streamed] == ["a", "b!", "c!"]


async def test_a_broken_constraint_is_the_dbapis_error_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(marks).values(name="a"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(marks).values(name="a"))
    async with engine.begin() as connection:
        await connection.execute(insert(marks).values(name="b"))
        assert (await connection.execute(text("SELECT count(*) FROM marks"))).scalar_one() == 2
