"""The one read-model mechanism (libs/events/projection.py) on both databases: events in any order, repeated,
and an erasure that outlives every late event."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.db import create_engine, new_metadata, session_factory
from libs.events.projection import Projection
from tests.harness import DatabaseFactory


class Base(DeclarativeBase):
    metadata = new_metadata()


class Copy(Base):
    __tablename__ = "copies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    station_id: Mapped[str] = mapped_column(String(36))
    erased: Mapped[bool] = mapped_column(Boolean)


class Entity(BaseModel):
    id: str
    version: int
    name: str


COPIES = Projection[Entity, Copy](Copy, lambda e: {"name": e.name}, erasable=True, new={"station_id": "s1"})


async def test_newest_version_wins_and_erasure_is_final(databases: DatabaseFactory) -> None:
    engine = create_engine(await databases.create("projection"))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = session_factory(engine)

        async def apply(version: int, name: str) -> Any:
            async with sessions.begin() as session:
                return await COPIES.apply(session, Entity(id="a", version=version, name=name))

        async def row() -> Copy | None:
            async with sessions() as session:
                return await session.get(Copy, "a")

        assert (await apply(2, "二")) is not None
        assert (await apply(1, "一")) is None  # older, arriving late: nothing changes
        assert (await apply(2, "二again")) is None  # the same version again
        assert (current := await row()) is not None and (current.version, current.name) == (2, "二")
        assert current.station_id == "s1" and current.erased is False
        assert (await apply(3, "三")) is not None

        async with sessions.begin() as session:
            await COPIES.erase(session, "a", cleared={"name": ""})
        assert (await apply(9, "九")) is None  # nothing brings it back
        assert (erased := await row()) is not None and erased.erased and erased.name == ""

        async with sessions.begin() as session:  # an erasure of an entity never seen leaves a tombstone
            await COPIES.erase(session, "b", unseen={"name": ""})
            assert await COPIES.apply(session, Entity(id="b", version=1, name="一")) is None
    finally:
        await engine.dispose()
