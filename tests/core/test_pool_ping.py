"""PostgreSQL connections are pinged before use only after resting (storage/sessions.py,
ping_only_after_idle): a connection in use moments ago goes straight to work, and one
whose server side died while it rested is replaced without the caller seeing an error."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from storage import sessions
from tests.conftest import BACKENDS

ONLY_POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]  # none without TEST_DATABASE_URL


def count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    dialect = engine.sync_engine.dialect
    original = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return original(dbapi_connection)  # type: ignore[arg-type]

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("engine", ONLY_POSTGRESQL, indirect=True)
async def test_a_connection_in_use_moments_ago_is_not_pinged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(engine)  # a new connection: nothing to ping
    pings = count_pings(engine, monkeypatch)
    for _ in range(5):
        assert await backend_pid(engine) == first  # the same pooled connection each time
    assert pings == []


@pytest.mark.parametrize("engine", ONLY_POSTGRESQL, indirect=True)
async def test_a_rested_connection_found_dead_is_replaced(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await backend_pid(engine)
    admin = create_async_engine(engine.url, poolclass=NullPool)  # not from the same pool
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
    finally:
        await admin.dispose()
    # The pooled connection (its server side gone) counts as rested from now on.
    monkeypatch.setattr(sessions, "IDLE_BEFORE_PING", 0.0)
    pings = count_pings(engine, monkeypatch)
    fresh = await backend_pid(engine)  # no error: the dead one was pinged and replaced
    assert fresh != dead
    assert pings
