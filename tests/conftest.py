"""Shared fixtures: a fresh, migrated database per test on SQLite (a real file) and, when
TEST_DATABASE_URL is set, on PostgreSQL too (one schema per test); Redis when
TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker, normalize_url

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await upgrade(eng)
        yield eng
        await eng.dispose()
        return
    base_url = normalize_url(os.environ["TEST_DATABASE_URL"])
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(
        base_url, connect_args={"server_settings": {"search_path": schema}}
    )
    try:
        await upgrade(eng)
        yield eng
    finally:
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
