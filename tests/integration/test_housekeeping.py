"""Housekeeping trims only what is safe to forget."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from libs import migrations
from libs.db import create_engine, session_factory, utcnow
from libs.housekeeping import prune
from services.supply.models import platform as tables
from tests.harness import DatabaseFactory


async def test_prune_keeps_unsent_and_recent_rows(databases: DatabaseFactory) -> None:
    url = await databases.create("supply")
    await migrations.upgrade("supply", url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = utcnow()
    old = now - timedelta(days=60)
    rows = [  # (event id, created, sent)
        ("old-sent", old, old),
        ("old-unsent", old, None),  # never published: must survive any age
        ("new-sent", now, now),
    ]
    async with sessions() as session, session.begin():
        for event_id, created, sent in rows:
            await session.execute(
                insert(tables.outbox).values(
                    event_id=event_id,
                    subject="ew.x",
                    envelope={},
                    created_at=created,
                    sent_at=sent,
                    attempts=0,
                )
            )
        await session.execute(
            insert(tables.inbox),
            [
                {"consumer": "c", "event_id": "a", "event_type": "t", "processed_at": old},
                {"consumer": "c", "event_id": "b", "event_type": "t", "processed_at": now},
            ],
        )
    removed = await prune(sessions, tables, outbox_days=7, inbox_days=30, idempotency_days=2)
    assert removed["outbox"] == 1 and removed["inbox"] == 1
    async with sessions() as session:
        left = set(await session.scalars(select(tables.outbox.c.event_id)))
        inbox_left = await session.scalar(select(func.count()).select_from(tables.inbox))
    assert left == {"old-unsent", "new-sent"} and inbox_left == 1
    await engine.dispose()
