"""Each service's migrations build exactly its models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
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
