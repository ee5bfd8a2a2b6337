"""Alembic per service, on SQLite and PostgreSQL: each service's `migrations/env.py` calls `run_env`."""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from libs.db import create_engine, is_sqlite
from libs.observability import get_logger

log = get_logger("ew.migrations")


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", _script_location(service))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _script_location(service: str) -> str:
    package = importlib.import_module(f"services.{service}")
    assert package.__file__ is not None
    return str(Path(package.__file__).parent / "migrations")


@functools.cache
def _scripts(service: str) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", _script_location(service))
    return ScriptDirectory.from_config(config)


async def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Migrate one service's database; runs inside the caller's event loop.

    A database already at a revision this code does not know was migrated by a newer release: after a
    rollback the older release's migration finds it so. That is a no-op, not an error (migrations only add,
    so the older code still works on the newer schema), and the rollback completes."""
    engine: AsyncEngine = create_engine(url)
    config = alembic_config(service, url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, config, revision, service)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, config: Config, revision: str, service: str) -> None:
    newer = _unknown_revisions(service, MigrationContext.configure(connection).get_current_heads())
    if newer:
        log.warning("migrations.database_ahead", service=service, revisions=sorted(newer))
        return
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _unknown_revisions(service: str, revisions: Iterable[str]) -> set[str]:
    known = {script.revision for script in _scripts(service).walk_revisions()}
    return set(revisions) - known


class SchemaState(StrEnum):
    CURRENT = "current"  # at this code's head
    NEWER = "newer"  # a later release's revision (after a rollback): fine, migrations only add
    BEHIND = "behind"  # not migrated to this code's head (or not at all): this code would fail on it


async def schema_state(service: str, engine: AsyncEngine) -> SchemaState:
    """Where the service's database stands against this code's migrations."""
    async with engine.connect() as connection:
        heads = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    if heads and _unknown_revisions(service, heads):
        return SchemaState.NEWER
    return SchemaState.CURRENT if set(heads) == set(_scripts(service).get_heads()) else SchemaState.BEHIND


def revision(service: str, url: str, message: str) -> None:
    """Autogenerate a revision from the service's models against an up-to-date database."""
    config = alembic_config(service, url)
    command.revision(config, message=message, autogenerate=True)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's env.py."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=is_sqlite(url)
        )
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        _run_on(connection, target_metadata, is_sqlite(url))
    else:
        asyncio.run(_run_standalone(url, target_metadata))


def _run_on(connection: Connection, target_metadata: MetaData, sqlite: bool) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=sqlite, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.begin() as connection:
        await connection.run_sync(_run_on, target_metadata, is_sqlite(url))
    await engine.dispose()
