"""Each service's migrations build exactly its models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from eastwest.embedded import NatsServer
from eastwest.services import FACTORIES
from libs import migrations
from libs.db import create_engine
from tests.harness import DatabaseFactory
from tests.integration.test_replicas import private_nats, service_settings, serving

__all__ = ["private_nats"]  # fixture


def _diff(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", list(FACTORIES))
async def test_migrations_match_models(databases: DatabaseFactory, service: str) -> None:
    url = await databases.create(service)
    await migrations.upgrade(service, url)
    await migrations.upgrade(service, url)  # a second run is a no-op
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_diff, metadata)
    finally:
        await engine.dispose()
    assert differences == []


NEWER_RELEASES_REVISION = "f00dfeedbeef"


async def test_a_rollback_finds_a_newer_schema_and_goes_through(databases: DatabaseFactory) -> None:
    """The previous release's migration meets a database a newer release migrated: a no-op, not a failure
    (its Job completes, the rollback goes on), and its pods count the newer schema as ready; a database this
    code has not migrated yet is not."""
    url = await databases.create("feed")
    engine = create_engine(url)
    try:
        assert await migrations.schema_state("feed", engine) is migrations.SchemaState.BEHIND
        await migrations.upgrade("feed", url, "0001")
        assert await migrations.schema_state("feed", engine) is migrations.SchemaState.BEHIND
        await migrations.upgrade("feed", url)
        assert await migrations.schema_state("feed", engine) is migrations.SchemaState.CURRENT
        async with engine.begin() as connection:  # what the newer release's migration leaves
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER_RELEASES_REVISION}
            )
        await migrations.upgrade("feed", url)  # the older release's Job: no error
        assert await migrations.schema_state("feed", engine) is migrations.SchemaState.NEWER
        async with engine.connect() as connection:
            assert (
                await connection.scalar(text("SELECT version_num FROM alembic_version"))
                == NEWER_RELEASES_REVISION
            )
    finally:
        await engine.dispose()


async def test_a_pod_is_not_ready_until_its_database_is_migrated(
    databases: DatabaseFactory, private_nats: NatsServer, tmp_path: Path
) -> None:
    """A new release's pods started before its migration Job finished would fail on the old schema: not ready
    (`schema: false`) until the database reaches the code's head, then ready."""
    settings = await service_settings(databases, private_nats.url, tmp_path, [])
    url = await databases.create("feed")
    await migrations.upgrade("feed", url, "0003")  # the previous release's schema
    settings = settings.model_copy(update={"database_urls": {"feed": url}})
    async with serving(FACTORIES["feed"](settings)) as feed:
        response = await feed.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["schema"] is False
        await migrations.upgrade("feed", url)  # the new release's migration Job
        response = await feed.get("/readyz")
        assert response.status_code == 200 and response.json()["checks"]["schema"] is True


ORIGIN = {"station_id": "s1", "province_code": "61", "city_code": "6101", "county_code": "610102"}
KEPT_BEFORE: dict[str, list[dict[str, Any]]] = {  # one worker's facts as monitoring's first schema kept them
    "workers": [
        {
            "id": "w1",
            "version": 3,
            "categories": "",
            "key_region": False,
            "registered_on": "2024-12-20",
            "status": "employed",
            "status_since": "2025-04-15",
            "erased": False,
        }
    ],
    "spells": [  # in Suzhou, then in Wuxi
        {
            "id": "a",
            "started_on": "2025-01-01",
            "ended_on": "2025-03-01",
            "ended_to": "unemployed",
            "jiangsu_city_code": "3205",
        },
        {
            "id": "b",
            "started_on": "2025-04-15",
            "ended_on": None,
            "ended_to": None,
            "jiangsu_city_code": "3202",
        },
    ],
    "placements": [
        {
            "id": "p",
            "job_id": "j",
            "jiangsu_city_code": "3205",
            "channel": "station",
            "started_on": "2025-01-01",
            "ended_on": "2025-03-01",
            "cohort": "2025-01",
            "day90_on": "2025-04-01",
            "month3_on": "2025-04-01",
            "month6_on": "2025-07-01",
            "month12_on": "2026-01-01",
        }
    ],
    "trainings": [
        {
            "id": "t",
            "base_id": "b",
            "programme_id": "g",
            "enrolled_on": "2025-03-01",
            "completed_on": "2025-03-10",
            "window_ends_on": "2025-09-10",
        }
    ],
    "follow_ups": [{"id": "p:1", "placement_id": "p", "months": 1, "due_on": "2025-02-01"}],
    "warnings": [{"id": "w", "kind": "job_lost", "raised_on": "2025-03-01", "resolved_on": "2025-03-11"}],
    "applications": [  # in the order of (day, id): x, y, z; y for a job in Wuxi
        {
            "id": "x",
            "job_id": "j",
            "jiangsu_city_code": "3205",
            "channel": "station",
            "submitted_on": "2025-01-05",
            "offered_on": "2025-01-10",
        },
        {
            "id": "z",
            "job_id": "j",
            "jiangsu_city_code": "3205",
            "channel": "station",
            "submitted_on": "2025-02-01",
            "offered_on": "2025-02-03",
        },
        {
            "id": "y",
            "job_id": "k",
            "jiangsu_city_code": "3202",
            "channel": "online",
            "submitted_on": "2025-02-01",
        },
    ],
}
SPELL_DEFAULTS: dict[str, Any] = {"categories": "", "key_region": False, "how": "self_found"}


async def test_monitoring_fills_in_the_answers_for_facts_kept_before(databases: DatabaseFactory) -> None:
    """The migration that adds the settled answers computes them for the facts already kept, as facts.settle
    does for new ones (in each database's own date arithmetic)."""
    url = await databases.create("monitoring")
    await migrations.upgrade("monitoring", url, "0001")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table, rows in KEPT_BEFORE.items():
                for row in rows:
                    values = {
                        **ORIGIN,
                        **({} if table == "workers" else {"person_id": "w1"}),
                        **(SPELL_DEFAULTS if table == "spells" else {}),
                        **row,
                    }
                    values = {
                        name: date.fromisoformat(value)
                        if name.endswith(("_on", "_since")) and value
                        else value
                        for name, value in values.items()
                    }
                    names = ", ".join(values)
                    await connection.execute(
                        text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"),
                        values,
                    )
        await migrations.upgrade("monitoring", url)
        async with engine.connect() as connection:
            found = (await connection.execute(text("SELECT id, days_to_next_job FROM spells"))).all()
            spells = {row[0]: row[1] for row in found}
            placement = (
                await connection.execute(
                    text(
                        "SELECT tenure_days, day90_employed, month3_employed, month6_employed, month12_employed "
                        "FROM placements"
                    )
                )
            ).one()
            in_window = await connection.scalar(text("SELECT employed_in_window FROM trainings"))
            days_to_resolve = await connection.scalar(text("SELECT days_to_resolve FROM warnings"))
            previous = {
                row[0]: tuple(row[1:])
                for row in (
                    await connection.execute(
                        text(
                            "SELECT id, previous_on, previous_offered_on, previous_in_channel_on, "
                            "previous_offered_in_channel_on, previous_in_city_on, previous_offered_in_city_on, "
                            "previous_in_city_channel_on FROM applications"
                        )
                    )
                ).all()
            }
            cities = [
                await connection.scalar(text(f"SELECT jiangsu_cities FROM {table}"))
                for table in ("workers", "warnings", "trainings")
            ]
            visit_city = await connection.scalar(text("SELECT jiangsu_city_code FROM follow_ups"))
    finally:
        await engine.dispose()
    assert spells == {"a": 45, "b": None}  # 1 March to 15 April
    assert tuple(placement) == (59, False, False, True, True)
    assert bool(in_window) is True and days_to_resolve == 10
    jan5, feb1 = date(2025, 1, 5), date(2025, 2, 1)
    assert {key: tuple(_day(value) for value in values) for key, values in previous.items()} == {
        "x": (None, None, None, None, None, None, None),
        "y": (jan5, None, None, None, None, None, None),  # not offered; the first online, the first in Wuxi
        # after y on the same day (by id); x was offered, in the same channel and city:
        "z": (feb1, jan5, jan5, jan5, jan5, jan5, jan5),
    }
    assert cities == [",3202,3205,"] * 3  # worked in both, on the worker and the facts kept per worker
    assert visit_city == "3205"  # the placement's


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]
