"""Read models: a service's copy of another service's entities, kept from their events.

Events arrive at least once and in no guaranteed order across redeliveries, so every copy follows the same two
rules, written here once: the newest version wins (an older or repeated event changes nothing), and an erased
entity never comes back (a tombstone outlives any late event). A projection declares its table and how a payload
maps onto a row; the consumer's inbox (libs/events/consumer.py) has already dropped exact redeliveries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession


class Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


P = TypeVar("P", bound=Versioned)
R = TypeVar("R")


@dataclass(frozen=True)
class Projection(Generic[P, R]):
    """`model`'s rows from payloads of type P: `columns(payload)` names the values a row takes.

    `erasable`: the table has an `erased` column, and a row marked so ignores every later version. `key` is the
    primary-key attribute the payload's id goes to; `new` the values a fresh row starts with."""

    model: type[R]
    columns: Callable[[P], Mapping[str, Any]]
    erasable: bool = False
    key: str = "id"
    new: Mapping[str, Any] = field(default_factory=dict)

    async def stale_row(self, session: AsyncSession, entity_id: str, version: int) -> R | None:
        """The row to bring to `version` (a fresh one, added to the session, if there is none), or None when the
        row already holds that version or a newer one, or is erased."""
        row = await session.get(self.model, entity_id)
        if row is None:
            fresh: Any = self.model(**{self.key: entity_id, **self.new})
            if self.erasable:
                fresh.erased = False
            session.add(fresh)
            return fresh  # type: ignore[no-any-return]
        current: Any = row
        if (self.erasable and current.erased) or current.version >= version:
            return None
        return row

    async def apply(self, session: AsyncSession, payload: P) -> R | None:
        """The row written from `payload`, or None when it was older than what the row holds (or erased)."""
        row = await self.stale_row(session, payload.id, payload.version)
        if row is None:
            return None
        for name, value in {"version": payload.version, **self.columns(payload)}.items():
            setattr(row, name, value)
        await session.flush()
        return row

    async def erase(
        self,
        session: AsyncSession,
        entity_id: str,
        *,
        unseen: Mapping[str, Any] | None = None,
        cleared: Mapping[str, Any] | None = None,
    ) -> R:
        """Mark the row erased, so nothing that arrives later brings it back. An entity never seen gets a
        tombstone row with `unseen`'s values; `cleared` overwrites what any row held (data that must go)."""
        row: Any = await session.get(self.model, entity_id)
        if row is None:
            row = self.model(**{self.key: entity_id, "version": 0, **self.new, **(unseen or {})})
            session.add(row)
        for name, value in (cleared or {}).items():
            setattr(row, name, value)
        row.erased = True
        await session.flush()
        return row  # type: ignore[no-any-return]
