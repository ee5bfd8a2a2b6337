"""Each service's migrations build exactly its models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from eastwest.services import FACTORIES
from libs import migrations
from libs.db import create_engine
from tests.harness import DatabaseFactory


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
