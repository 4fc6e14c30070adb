"""Run Alembic migrations from code (``gridbot db upgrade`` and start-up), with no
alembic.ini to keep in sync."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


# Any number: the key of PostgreSQL's advisory lock that serialises migrations.
MIGRATION_LOCK = 7_245_001


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Several processes starting at once take turns:
    the first migrates, the others find nothing left to do."""

    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    with _file_lock(engine):
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Held until this transaction ends, by PostgreSQL itself: nothing to leak.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_run)


@contextmanager
def _file_lock(engine: AsyncEngine) -> Iterator[None]:
    """SQLite has no advisory locks: a lock file beside the database does the same."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)
