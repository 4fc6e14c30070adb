"""A connection goes back to the pool clean, with one round trip fewer: a unit of work
that committed is not rolled back again; one that did not, or that failed, is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.users import User


async def _count_rollbacks(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.dbapi_connection is not None
        adapter: Any = type(raw.dbapi_connection)
    calls: list[int] = []
    rollback = adapter.rollback

    def counted(self: Any) -> Any:
        calls.append(1)
        return rollback(self)

    monkeypatch.setattr(adapter, "rollback", counted)
    return calls


async def test_a_committed_unit_of_work_is_not_rolled_back_again(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollbacks = await _count_rollbacks(engine, monkeypatch)
    async with AsyncSession(engine) as session:
        await session.get(User, 1)
        await session.commit()
    assert rollbacks == []

    async with AsyncSession(engine) as session:
        await session.get(User, 1)  # read, never committed
    assert rollbacks == [1]


async def test_a_failed_unit_of_work_leaves_the_connection_clean(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollbacks = await _count_rollbacks(engine, monkeypatch)
    async with AsyncSession(engine) as session:
        with pytest.raises(DBAPIError):
            await session.execute(text("SELECT * FROM no_such_table"))
    assert rollbacks  # rolled back before it went back to the pool
    # The next unit of work gets a usable connection (PostgreSQL refuses every statement
    # in a transaction that failed until it is rolled back).
    async with AsyncSession(engine) as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
        await session.commit()


async def test_a_unit_of_work_cancelled_mid_statement_stays_cancelled(
    engine: AsyncEngine,
) -> None:
    """A cancellation that lands inside a statement reaches the caller as a cancellation
    (the reset hooks must not replace it by an error of their own), and the pool goes on
    serving clean connections."""
    slow = (
        "SELECT pg_sleep(5)"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000)"
        " SELECT count(*) FROM n"
    )
    started = asyncio.Event()

    async def unit_of_work() -> None:
        async with AsyncSession(engine) as session:
            await session.execute(text("SELECT 1"))
            started.set()
            await session.execute(text(slow))

    running = asyncio.create_task(unit_of_work())
    await started.wait()
    await asyncio.sleep(0.2)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    async with AsyncSession(engine) as session:
        assert (await session.execute(text("SELECT 2"))).scalar() == 2
        await session.commit()
