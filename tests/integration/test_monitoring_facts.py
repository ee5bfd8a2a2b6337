"""Monitoring's facts in an order the broker may deliver them, on each database: what they answer is kept
right when a later event moves a row (a job's city arriving after the applications to it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from libs import migrations
from libs.db import create_engine, session_factory
from libs.events.contracts import ApplicationPayload
from services.monitoring import facts
from services.monitoring.repository import Scope, application_steps
from tests.harness import DatabaseFactory
from tests.unit.test_matching_mapping import job_payload, person_payload

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture
async def session(databases: DatabaseFactory) -> AsyncIterator[AsyncSession]:
    url = await databases.create("monitoring")
    await migrations.upgrade("monitoring", url)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def applied(application_id: str, job_id: str, day: int) -> ApplicationPayload:
    return ApplicationPayload(
        id=application_id, person_id="p1", job_id=job_id, employer_id="e", station_id="s", channel="station",
        stream_id=None, status="submitted", at=datetime(2026, 11, day, 3, tzinfo=UTC),
    )  # fmt: skip


async def workers_who_applied(session: AsyncSession, city: str) -> int:
    total, _ = await application_steps(session, Scope(jiangsu_city=city), FIRST, LAST, None)
    return total[0]


async def test_a_job_city_arriving_late_puts_its_applications_in_the_workers_order_there(
    session: AsyncSession,
) -> None:
    """One worker applies to a Wuxi job, then to a job monitoring has not heard of yet; when that job's event
    says Wuxi too, Wuxi's bureau counts one worker who applied, not two."""
    now = datetime(2026, 11, 2, tzinfo=UTC)
    await facts.apply_person(session, person_payload(status_since=date(2026, 1, 5), updated_at=now))
    await facts.apply_job(session, job_payload(id="j1", city_code="3202", updated_at=now))
    await facts.apply_application(session, applied("a1", "j1", 3))
    await facts.apply_application(session, applied("a2", "j2", 10))  # j2 not known yet
    assert await workers_who_applied(session, "3202") == 1
    await facts.apply_job(session, job_payload(id="j2", city_code="3202", updated_at=now + timedelta(days=9)))
    assert await workers_who_applied(session, "3202") == 1  # a2 follows a1 in Wuxi now
    assert await workers_who_applied(session, "3205") == 0
