"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL, and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import Base


async def test_migrations_match_the_models(fresh_engine: AsyncEngine) -> None:
    async with fresh_engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []
    assert await current_revision(fresh_engine) is not None


async def test_downgrade_to_nothing_and_back(fresh_engine: AsyncEngine) -> None:
    def down(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), "base")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(down)
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await upgrade(fresh_engine)
    async with fresh_engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert {"appeals", "nodes", "outbox", "users"} <= set(tables)
