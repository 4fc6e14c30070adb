"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL, and downgrade cleanly."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.migrate import alembic_config, at_head, current_revision, script_heads, upgrade
from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_a_current_schema_is_recognised_without_loading_alembic(
    fresh_engine: AsyncEngine,
) -> None:
    """Start-up's question, asked in a fresh process: at head, Alembic is never imported;
    a revision behind, it is, and the schema is brought up."""
    assert await at_head(fresh_engine)
    if fresh_engine.dialect.name != "sqlite":
        return  # the subprocess below needs a file; the query above is the same on both
    probe = (
        "import asyncio, sys\n"
        "from storage.migrate import upgrade\n"
        "from storage.sessions import create_engine\n"
        f"engine = create_engine({str(fresh_engine.url)!r})\n"
        "asyncio.run(upgrade(engine))\n"
        "print('alembic' in sys.modules)\n"
    )
    run = partial(subprocess.run, [sys.executable, "-c", probe], cwd=ROOT, text=True)
    assert run(capture_output=True, check=True).stdout.strip() == "False"

    def back_one(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), "-1")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(back_one)
    assert not await at_head(fresh_engine)
    assert run(capture_output=True, check=True).stdout.strip() == "True"
    assert await at_head(fresh_engine)
