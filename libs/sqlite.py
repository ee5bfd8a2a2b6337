"""SQLite's one write lock, taken in turns: what the embedded mode needs to write from many tasks at once.

Every transaction takes the write lock up front (`BEGIN IMMEDIATE`, SQLAlchemy's documented recipe: otherwise a
read-then-write transaction can fail with SQLITE_BUSY whatever the busy timeout). The tasks of one process queue
for it on the event loop, first come first served (`WriteTurns`), so SQLite itself rarely waits: no polling, no
error raised and caught per try, and a p99 set by the queue rather than by SQLite's back-off sleeps.

Where SQLite does wait (another process writes: a CLI, a migration), it waits in spells of at most
SQLITE_BUSY_MS with the connection free in between. Waiting inside sqlite3_step holds the connection's mutex, and
anything touching that connection meanwhile blocks too, even a cursor the garbage collector finalises on the
event loop's thread: one BEGIN IMMEDIATE waiting out a 30 s busy timeout froze a whole process for 30 s.

All of it runs inside SQLAlchemy's greenlet, which can await (`await_only`).

`DRIVER`: SQLAlchemy's aiosqlite adapter, with a statement run in one trip to the connection's thread (open a
cursor, execute, fetch, close) instead of three or four, each a wait behind everything else ready on the event
loop; the transaction's BEGIN IMMEDIATE rides with its first statement, and a connection not in a transaction
gets no COMMIT or reset ROLLBACK. A write turn is that much shorter. No sqlite3 cursor ever leaves that thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections import deque
from typing import Any, cast

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

SQLITE_BUSY_MS = 200
SQLITE_WRITE_WAIT_SECONDS = 30.0
_TURN = "ew_write_turn"


class WriteTurns:
    """One engine's writers in one process, one at a time. The turn belongs to a DBAPI connection (its pool
    record's `info`) and ends with its transaction, or with the connection if it is reset, closed or invalidated
    without one (a session garbage-collected mid-transaction): a turn is never lost."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def take(self, info: dict[str, Any], seconds: float) -> None:
        loop = asyncio.get_running_loop()
        lock = self._lock(loop)
        try:
            async with asyncio.timeout(seconds):
                await lock.acquire()
        except TimeoutError:
            raise _locked() from None
        info[_TURN] = (loop, lock)

    def give_back(self, info: dict[str, Any]) -> None:
        taken = info.pop(_TURN, None)
        if taken is None:
            return
        loop, lock = taken
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            lock.release()
        elif not loop.is_closed():  # the garbage collector, on another thread
            loop.call_soon_threadsafe(lock.release)


def _locked() -> OperationalError:
    """What SQLite says when its lock stays taken: `libs.db.unavailable` reads it as a moment's unavailability."""
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def tune_sqlite(engine: AsyncEngine) -> None:
    """For an engine made with `module=DRIVER` (libs.db.create_engine)."""
    turns = WriteTurns()
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        deadline = time.monotonic() + SQLITE_WRITE_WAIT_SECONDS
        await_only(turns.take(conn.connection.info, SQLITE_WRITE_WAIT_SECONDS))
        driver_connection: _Connection = conn.connection.dbapi_connection
        driver_connection.begin_by = deadline  # BEGIN IMMEDIATE goes with the first statement

    def _transaction_over(conn: Any) -> None:
        if (
            conn.invalidated
        ):  # a statement cancelled or failed mid-way: the pool's invalidate gave the turn back
            return
        turns.give_back(conn.connection.info)

    def _connection_over(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        turns.give_back(record.info)

    def _reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        turns.give_back(record.info)

    # After the transaction's end is handed to the driver: the next writer's BEGIN may wait a moment in SQLite.
    event.listen(sync_engine, "commit", _transaction_over)
    event.listen(sync_engine, "rollback", _transaction_over)
    event.listen(sync_engine.pool, "reset", _reset)
    for name in ("checkin", "close", "invalidate", "soft_invalidate", "detach"):
        event.listen(sync_engine.pool, name, _connection_over)


# ------------------------------------------------------------------------------------------------- the driver


_LOCKED = object()  # what a trip answers when its BEGIN IMMEDIATE found another process writing


def _begin(connection: aiosqlite.Connection) -> bool:
    try:
        connection._conn.execute("BEGIN IMMEDIATE").close()
    except sqlite3.OperationalError as error:
        if "database is locked" in str(error):
            return False
        raise
    return True


def _statement(connection: aiosqlite.Connection, operation: str, parameters: Any, begin: bool) -> Any:
    """In the connection's thread: the transaction's BEGIN if it is still to come, then the whole statement, its
    rows fetched, its cursor closed."""
    if begin and not _begin(connection):
        return _LOCKED
    cursor = connection._conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, (), cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _statements(connection: aiosqlite.Connection, operation: str, parameters: Any, begin: bool) -> Any:
    if begin and not _begin(connection):
        return _LOCKED
    cursor = connection._conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _nothing(_connection: aiosqlite.Connection, begin: bool) -> Any:
    return _LOCKED if begin and not _begin(_connection) else None


class _Cursor(AsyncAdapt_aiosqlite_cursor):  # type: ignore[misc]
    __slots__ = ()

    def _trip(self, function: Any, *args: Any) -> Any:
        connection = cast(_Connection, self._adapt_connection)
        return connection.trip(function, *args)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        description, rows, rowcount, lastrowid = self._trip(_statement, operation, parameters)
        self.description = description
        self._rows = deque(rows)
        self.rowcount, self.lastrowid = rowcount, lastrowid

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        rowcount, lastrowid = self._trip(_statements, operation, seq_of_parameters)
        self.description = None
        self.rowcount, self.lastrowid = rowcount, lastrowid


class _ServerSideCursor(AsyncAdapt_aiosqlite_ss_cursor):  # type: ignore[misc]
    """SQLAlchemy's streaming cursor, trips and all; a pending BEGIN goes first, alone (SQLAlchemy makes this
    cursor before it begins the transaction, so the check is at execute)."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        connection = cast(_Connection, self._adapt_connection)
        if connection.begin_by is not None:
            connection.trip(_nothing)
        super().execute(operation, parameters)


class _Connection(AsyncAdapt_aiosqlite_connection):  # type: ignore[misc]
    """`begin_by`: a transaction has begun (its turn taken), and its BEGIN IMMEDIATE goes with the first
    statement, one trip fewer; another process's writer may keep it waiting until then."""

    __slots__ = ("begin_by",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.begin_by: float | None = None

    def trip(self, function: Any, *args: Any) -> Any:
        """`function(connection, *args, begin)` in the connection's thread, the pending BEGIN with it."""
        while True:
            begin_by, self.begin_by = self.begin_by, None
            try:
                answer = self.await_(
                    self._connection._execute(function, self._connection, *args, begin_by is not None)
                )
            except Exception as error:
                self._handle_exception(error)
                raise  # _handle_exception raises the DBAPI's own error; this is never reached
            if answer is not _LOCKED:
                return answer
            self.begin_by = begin_by
            if begin_by is not None and time.monotonic() > begin_by:
                self._handle_exception(sqlite3.OperationalError("database is locked"))
            self.await_(asyncio.sleep(0.001))

    def cursor(self, server_side: bool = False) -> Any:
        return _ServerSideCursor(self) if server_side else _Cursor(self)

    def _in_transaction(self) -> bool:
        """Read on the loop's thread without a trip (a field of the connection, no lock); the connection's own
        thread is idle: its owner awaits every trip. A closed connection says yes, and the driver answers."""
        try:
            return bool(self._connection._conn.in_transaction)
        except ValueError:
            return True

    def commit(self) -> None:
        self.begin_by = None  # nothing ran: nothing to commit
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        """Also the pool's reset of every connection it takes back, mostly after a commit: no trip then."""
        self.begin_by = None
        if self._in_transaction():
            super().rollback()


class _Driver(AsyncAdapt_aiosqlite_dbapi):  # type: ignore[misc]
    def connect(self, *args: Any, **kwargs: Any) -> _Connection:
        return _Connection(self, super().connect(*args, **kwargs)._connection)


DRIVER = _Driver(aiosqlite, sqlite3)
