"""The feed's change log as Server-Sent Events, shared by the partners' stream and the live board's.

One reader per process (`ChangeHub`) follows the change log and keeps its recent tail in memory; every open
stream is served from that tail. With hundreds of live-board screens open, a new job costs one database read,
not one per screen (on SQLite, where every transaction is serial, per-stream reads starved the writers).
A stream goes to the database itself only to catch up from a position older than the tail."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import ServerSentEvent

from libs.aio import raise_if_cancelling
from libs.api.problems import validation_problem
from libs.runtime import ServiceRuntime
from services.feed import repository
from services.feed.models import FeedChange
from services.feed.service import ChangeSignal

log = structlog.get_logger()

STREAM_BATCH = 200
TAIL = 2000
POLL_SECONDS = 1.0
# PostgreSQL hands out sequence numbers before commit, so seq 11 can be visible before seq 10 commits. The
# reader does not step over such a gap until it fills or is this old (a rolled-back transaction's number
# never fills).
GAP_GRACE_SECONDS = 2.0


@dataclass(slots=True)
class Change:
    """A feed change as the streams see it: detached from any session, shared read-only by all of them."""

    seq: int
    job_id: str
    kind: str
    city_code: str
    occupation_code: str | None
    payload: dict[str, Any]
    _encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, row: FeedChange) -> Change:
        return cls(row.seq, row.job_id, row.kind, row.city_code, row.occupation_code, row.payload)

    def encoded(self, form: str, make: Callable[[Change], ServerSentEvent]) -> bytes:
        """The change as an SSE event in one `form` (the partners' item, the board's card), encoded once for
        all the streams that send it."""
        found = self._encoded.get(form)
        if found is None:
            found = self._encoded[form] = make(self).encode()
        return found


def contiguous(head: int, seqs: list[int], gap_expired: bool) -> int:
    """How many of `seqs` (ascending, all after `head`) can be taken without stepping over a gap."""
    if gap_expired:
        return len(seqs)
    expected = head + 1
    for taken, seq in enumerate(seqs):
        if seq != expected:
            return taken
        expected += 1
    return len(seqs)


Refresh = Callable[[AsyncSession], Awaitable[bool]]


class ChangeHub:
    """Follows the change log (woken by the feed's `ChangeSignal`, polling for other replicas' changes) and
    wakes the streams when it has moved. `refreshers` run in the same read (the live board's pins use it)
    and say whether they changed anything."""

    def __init__(self, runtime: ServiceRuntime, signal: ChangeSignal, refreshers: list[Refresh]) -> None:
        self.runtime = runtime
        self.signal = signal
        self.moved = ChangeSignal()
        self.refreshers = refreshers
        self.head: int | None = None
        self._tail: list[Change] = []
        self._seqs: list[int] = []
        self._gap_since: float | None = None
        self.streams = 0
        self._listened = asyncio.Event()

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """Held by each open stream: with none open the hub reads nothing (and forgets what it held)."""
        self.streams += 1
        self._listened.set()
        try:
            yield
        finally:
            self.streams -= 1

    def ticket(self) -> Any:
        return self.moved.ticket()

    async def wait(self, ticket: Any, seconds: float) -> None:
        await self.moved.wait(ticket, seconds)

    def after(self, position: int) -> list[Change] | None:
        """The changes after `position` held in memory, or None when the stream must read the database (the
        hub has not started, or `position` is older than its tail)."""
        if self.head is None:
            return None
        floor = self._seqs[0] - 1 if self._seqs else self.head
        if position < floor:
            return None
        start = bisect.bisect_right(self._seqs, position)
        return self._tail[start : start + STREAM_BATCH]

    async def run(self) -> None:
        while True:
            if self.streams == 0:
                self.head, self._tail, self._seqs, self._gap_since = None, [], [], None
                self._listened.clear()
                await self._listened.wait()
            ticket = self.signal.ticket()
            try:
                full = await self.read()
            except Exception as error:  # the database away for a moment: keep the streams open, try again
                raise_if_cancelling(error)
                log.warning("feed.hub.read_failed", exc_info=True)
                full = False
            if not full:
                await self.signal.wait(ticket, POLL_SECONDS)

    async def read(self) -> bool:
        """One pass; True when there may be more to read at once."""
        async with self.runtime.sessions() as session:
            if self.head is None:
                self.head = await repository.current_version(session)
                moved = True
                rows: list[FeedChange] = []
            else:
                rows = list(await repository.changes_after(session, self.head, STREAM_BATCH))
                moved = self._take(rows)
            for refresh in self.refreshers:
                moved = await refresh(session) or moved
        if moved:
            self.moved.notify()
        return len(rows) == STREAM_BATCH

    def _take(self, rows: list[FeedChange]) -> bool:
        assert self.head is not None
        now = time.monotonic()
        expired = self._gap_since is not None and now - self._gap_since >= GAP_GRACE_SECONDS
        taken = contiguous(self.head, [row.seq for row in rows], expired)
        self._gap_since = (self._gap_since or now) if taken < len(rows) else None
        for row in rows[:taken]:
            self._tail.append(Change.of(row))
            self._seqs.append(row.seq)
            self.head = row.seq
        if len(self._tail) > 2 * TAIL:
            del self._tail[:-TAIL], self._seqs[:-TAIL]
        return taken > 0


SideEvents = Callable[[], list[ServerSentEvent]]
MAX_SEQ = 2**63 - 1  # feed versions are BIGINT


async def start_position(
    runtime: ServiceRuntime, hub: ChangeHub, last_event_id: str | None, since: int | None
) -> int:
    """Where a stream starts: after `Last-Event-ID` (a reconnecting EventSource), else after `since`, else now
    (what the hub has read, or the feed's version when no stream is open)."""
    if last_event_id is not None:
        if not last_event_id.isdigit() or int(last_event_id) > MAX_SEQ:
            raise validation_problem(
                "header.Last-Event-ID", "invalid", "Last-Event-ID 必须是上次收到的事件编号"
            )
        return int(last_event_id)
    if since is not None:
        return since
    if hub.head is not None:
        return hub.head
    async with runtime.sessions() as session:
        return await repository.current_version(session)


async def change_events(
    runtime: ServiceRuntime,
    hub: ChangeHub,
    position: int,
    render: Callable[[Change], bytes | None],
    side: SideEvents | None = None,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """The feed's change log from `position` on, as SSE: each change rendered (None skips it), then whatever
    `side` adds (from memory). `/v1/feed/stream` and `/live/stream` differ only in `render` and `side`."""
    yield ServerSentEvent(comment=f"eastwest feed from version {position}")
    with hub.listening():
        async for chunk in _follow(runtime, hub, position, render, side):
            yield chunk


async def _follow(
    runtime: ServiceRuntime,
    hub: ChangeHub,
    position: int,
    render: Callable[[Change], bytes | None],
    side: SideEvents | None,
) -> AsyncIterator[ServerSentEvent | bytes]:
    while True:
        ticket = hub.ticket()
        changes = hub.after(position)
        caught_up = changes is not None and len(changes) < STREAM_BATCH
        if changes is None:
            async with runtime.sessions() as session:
                rows = await repository.changes_after(session, position, STREAM_BATCH)
            changes = [Change.of(row) for row in rows]
            # behind the hub's tail: read on at once; before the hub's first read: wait for it like it waits
            caught_up = not changes if hub.head is not None else len(changes) < STREAM_BATCH
        ready: list[bytes] = []
        for change in changes:
            position = change.seq
            encoded = render(change)
            if encoded is not None:
                ready.append(encoded)
        if ready:  # one write for all that is ready: under load, many screens times many changes add up
            yield b"".join(ready)
        for event in side() if side is not None else []:
            yield event
        if caught_up:
            await hub.wait(ticket, POLL_SECONDS)
