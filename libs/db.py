"""Async SQLAlchemy engines for SQLite and PostgreSQL, and the declarative base every service extends."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, DateTime, MetaData, TypeDecorator, and_, event, or_, true
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction

from libs.sqlite import DRIVER as SQLITE_DRIVER
from libs.sqlite import SQLITE_BUSY_MS, tune_sqlite

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Dates people write here (start dates, departures, completion) are Beijing dates; China has no daylight saving.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


# SQLSTATEs of a PostgreSQL that is away or cannot take the work for a moment: connection exceptions (08...), a
# server shutting down or starting (57P01-57P03), a standby that is read-only during a switchover (25006), no
# connection slot left (53300), a password just rotated and this pod not yet restarted (28P01, 28000).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "25006", "53300", "28P01", "28000")
_UNAVAILABLE_TEXTS = ("database is locked", "too many clients", "too many connections")


def unavailable(error: BaseException) -> bool:
    """The database away, failing over or too busy for a moment, through no fault of the request or event at
    hand: an API answers 503 with Retry-After, a consumer pauses and retries the same event (never counted
    towards dead-lettering). A bad statement or a broken constraint is not this."""
    if isinstance(error, PoolTimeout | DisconnectionError):  # no pooled connection in time
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        cause = error.orig
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if any(text in str(cause).lower() for text in _UNAVAILABLE_TEXTS):
            return True
        return isinstance(cause, OSError | TimeoutError) or isinstance(
            getattr(cause, "__cause__", None), OSError | TimeoutError
        )
    # refused or timed out while connecting, before SQLAlchemy had a DBAPI error to wrap
    return isinstance(error, OSError | TimeoutError)


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_date(moment: datetime | None = None) -> date:
    """The calendar day in China at `moment` (now by default). Closing dates, start dates and birthdays are
    Beijing days: from 00:00 to 08:00 Beijing time the UTC day (`date.today()` on a server in UTC) is still
    yesterday, and a job that closed yesterday would rank as open."""
    return (moment or utcnow()).astimezone(BEIJING).date()


def months_after(start: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both databases (SQLite forgets the zone; we store UTC and restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@dataclass(frozen=True)
class PoolSize:
    """Connections one process keeps to its database (`size`) and may open beyond them in a burst
    (`overflow`). On Kubernetes: times the HPA's maxReplicas, within what PgBouncer takes (deploy/README.md,
    "Connection budget")."""

    size: int = 10
    overflow: int = 20


def create_engine(
    url: str, *, echo: bool = False, pool: PoolSize | None = None, pgbouncer: bool = False
) -> AsyncEngine:
    """An engine tuned per backend: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE write transactions.

    `pgbouncer`: the URL is a PgBouncer in transaction mode, where consecutive transactions may run on
    different server connections: asyncpg must not keep prepared statements between them (SQLAlchemy's
    documented recipe: no statement caches, a unique name for each prepared statement)."""
    # hide_parameters: a statement's parameters (names, encrypted fields) stay out of error messages, hence
    # out of logged tracebacks and of the exceptions recorded on spans.
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_MS / 1000},
            hide_parameters=True,
            module=SQLITE_DRIVER,
        )
        tune_sqlite(engine)
        return engine
    pool = pool or PoolSize()
    connect_args: dict[str, Any] = {}
    if pgbouncer:
        url = make_url(url).update_query_dict({"prepared_statement_cache_size": "0"}).render_as_string(False)
        connect_args = {"statement_cache_size": 0, "prepared_statement_name_func": _statement_name}
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args=connect_args,
    )


def _statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


_AFTER_COMMIT = "ew_after_commit"


def after_commit(session: AsyncSession, effect: Callable[[], None]) -> None:
    """Run `effect` once the session's transaction commits (waking streams, an index); never if it rolls back.

    A state change and what it sets off in memory stay in step wherever the commit happens: at the request
    boundary, in a consumer, in a background job."""
    session.info.setdefault(_AFTER_COMMIT, []).append(effect)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for effect in session.info.pop(_AFTER_COMMIT, []):
        effect()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, _previous_transaction: SessionTransaction) -> None:
    if not session.in_transaction():
        session.info.pop(_AFTER_COMMIT, None)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def after_key(
    time_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[str],
    after: tuple[datetime, str] | None,
) -> ColumnElement[bool]:
    """Keyset pagination: rows strictly after the last (time, id) seen."""
    if after is None:
        return true()
    return or_(time_column > after[0], and_(time_column == after[0], id_column > after[1]))
