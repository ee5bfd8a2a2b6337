"""The funnel's "recommended" step: a worker shown recommended jobs counts once a day in matching, and once in
the period in monitoring's funnel, in the owning station's scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from libs.db import beijing_date
from services.matching.models import Recommendation
from services.monitoring.models import Station
from tests.harness import Platform, auth, eventually, known_to
from tests.integration.test_matching import ready_pair, recommended

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching", "monitoring")


async def test_a_worker_shown_jobs_counts_as_recommended_once(platform: Platform) -> None:
    station_id, worker_id, _, _ = await ready_pair(platform)  # the station has seen the worker's jobs
    station = auth("station", station_id=station_id)
    assert await recommended(platform, worker_id, station)  # and sees them again the same day
    async with platform.runtime("matching").sessions() as session:
        days = (
            await session.scalars(select(Recommendation).where(Recommendation.person_id == worker_id))
        ).all()
    assert [day.recommended_on for day in days] == [beijing_date()] and days[0].jobs > 0
    await known_to(platform, "monitoring", Station, station_id, what="monitoring learns the station")

    async def funnel(by: str) -> dict[str, list[int | str | None]]:
        response = await platform.client.get("/v1/stats/funnel", params={"by": by}, headers=station)
        assert response.status_code == 200, response.text
        figures = response.json()
        return {
            str(group["key"]): [step["count"] for step in group["steps"]]
            for group in [{"key": "total", "steps": figures["total"]}, *figures["groups"]]
        }

    async def counted() -> bool:
        return (await funnel("station"))["total"][:2] == [1, 1]  # registered, recommended

    await eventually(counted, what="monitoring counts the worker recommended")
    assert (await funnel("station"))[station_id][:2] == [1, 1]
    by_channel = await funnel("channel")
    assert all(steps[:2] == [None, None] for key, steps in by_channel.items() if key != "total")
