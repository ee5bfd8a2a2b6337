"""Alembic per service, on SQLite and PostgreSQL: each service's `migrations/env.py` calls `run_env`."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from libs.db import create_engine, is_sqlite


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    assert package.__file__ is not None
    config = Config()
    config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Migrate one service's database; runs inside the caller's event loop."""
    engine: AsyncEngine = create_engine(url)
    config = alembic_config(service, url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, config, revision)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


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
