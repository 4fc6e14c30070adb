"""Run Alembic migrations from code (``gridbot db upgrade`` and start-up), with no
alembic.ini to keep in sync.

Every start of the bot asks whether the schema is current. Almost always it is, and
answering that through Alembic costs its import and the loading of every migration
script (about 0.4 s of CPU, a tenth of a start); so the heads are read from the scripts'
own ``revision``/``down_revision`` lines and Alembic is loaded only when there is
something to do. A test holds these heads equal to Alembic's."""

from __future__ import annotations

import ast
import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


@cache
def script_heads() -> frozenset[str]:
    """The revisions no other migration builds on."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        values = {
            name: ast.literal_eval(value)
            for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8"))
        }
        revisions.add(values["revision"])
        down = values.get("down_revision")
        built_on.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - built_on)


async def at_head(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return set(rows.scalars()) == script_heads()
    except DBAPIError:  # no alembic_version yet: a new database
        return False


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


# Any number: the key of PostgreSQL's advisory lock that serialises migrations.
MIGRATION_LOCK = 7_245_001


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Several processes starting at once take turns:
    the first migrates, the others find nothing left to do."""
    if revision == "head" and await at_head(engine):
        return
    from alembic import command

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
