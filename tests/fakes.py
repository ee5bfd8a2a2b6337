"""Fakes for unit tests of service-layer rules: no database, only what the rules under test touch."""

from __future__ import annotations

from typing import Any


class FakeSession:
    """What read models use of an `AsyncSession`: `get`, `add` and `flush`, over a dict keyed by (model, key)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[type[Any], str], Any] = {}
        self.flushes = 0

    async def get(self, model: type[Any], key: str, **_: Any) -> Any:
        return self.rows.get((model, key))

    def add(self, row: Any) -> None:
        primary = next(column.key for column in type(row).__table__.primary_key.columns)
        self.rows[(type(row), getattr(row, primary))] = row

    async def flush(self) -> None:
        self.flushes += 1
