"""Transactional outbox: the event row commits with the state change, the relay publishes it afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from libs.db import utcnow
from libs.events import written
from libs.events.envelope import CloudEvent

WAKE_KEY = "outbox_wake"
_DIRTY_KEY = "outbox_dirty"


async def add_event(session: AsyncSession, outbox: Table, cloud_event: CloudEvent) -> None:
    """Write the event in the caller's transaction; it exists only if the state change commits."""
    await session.execute(
        insert(outbox).values(
            event_id=cloud_event.id,
            subject=cloud_event.type,
            envelope=cloud_event.model_dump(mode="json"),
            created_at=utcnow(),
            attempts=0,
        )
    )
    session.info[_DIRTY_KEY] = True
    written.record(cloud_event.type, cloud_event.id)


def wake_info(wake: Callable[[], None]) -> dict[str, Any]:
    """Session info that makes a commit carrying events wake the relay at once instead of at its next poll."""
    return {WAKE_KEY: wake}


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_DIRTY_KEY, False):
        wake = session.info.get(WAKE_KEY)
        if wake is not None:
            wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY_KEY, None)
