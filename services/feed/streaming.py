"""The feed's change log as Server-Sent Events, shared by the partners' stream and the live board's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import ServerSentEvent

from libs.api.app import ServiceRuntime
from services.feed import repository
from services.feed.models import FeedChange
from services.feed.service import ChangeSignal

STREAM_BATCH = 200

SideEvents = Callable[[AsyncSession], Awaitable[list[ServerSentEvent]]]


async def change_events(
    runtime: ServiceRuntime,
    signal: ChangeSignal,
    position: int,
    render: Callable[[FeedChange], ServerSentEvent | None],
    side: SideEvents | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The feed's change log from `position` on, as SSE: each change rendered (None skips it), then whatever
    `side` adds; wakes on the feed's signal and polls every second for other replicas' changes. The same loop
    as `/v1/feed/stream`'s, which can call this with its own `render` (its filter and the full item)."""
    yield ServerSentEvent(comment=f"eastwest feed from version {position}")
    while True:
        ticket = signal.ticket()
        async with runtime.sessions() as session:
            changes = list(await repository.changes_after(session, position, STREAM_BATCH))
            extra = await side(session) if side is not None else []
        for change in changes:
            position = change.seq
            event = render(change)
            if event is not None:
                yield event
        for event in extra:
            yield event
        if len(changes) < STREAM_BATCH:
            await signal.wait(ticket, 1.0)
