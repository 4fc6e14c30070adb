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
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings, load_settings
from bot.sending import Sender
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker, normalize_url
from tests.harness import Harness, World

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

    eng = create_async_engine(base_url, connect_args={"server_settings": {"search_path": schema}})
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


# --- the bot over HTTP against the emulator --------------------------------------------

TOKEN = "123456:TEST-TOKEN-gridbot"
BOT_USERNAME = "gridbot_test_bot"
ADMIN_ID = 500


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    emulator = BotAPIEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def fsm_storage(engine: AsyncEngine) -> AsyncIterator[BaseStorage]:
    """Memory storage with SQLite; Redis (when configured) alongside PostgreSQL, the way
    a multi-process deployment runs."""
    redis_url = os.environ.get("TEST_REDIS_URL")
    use_redis = redis_url and (engine.dialect.name == "postgresql" or len(BACKENDS) == 1)
    if not use_redis:
        yield MemoryStorage()
        return
    assert redis_url is not None
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    storage = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(prefix=prefix, with_destiny=True)
    )
    await storage.redis.ping()
    yield storage
    keys = [k async for k in storage.redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await storage.redis.delete(*keys)
    await storage.close()


class RecordingSleep:
    """Stands in for asyncio.sleep and time.monotonic in the sending layer: records the
    waits and moves its own time forward instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.calls: list[float] = []
        self.now = start

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def settings(emu: BotAPIEmulator) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        telegram_api_url=emu.base_url,
        admin_ids=[ADMIN_ID],
        bot_username=BOT_USERNAME,
    )


@pytest.fixture
async def harness(
    emu: BotAPIEmulator,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    fsm_storage: BaseStorage,
) -> AsyncIterator[Harness]:
    fake_time = RecordingSleep()
    sender = Sender(sessionmaker, clock, sleep=fake_time, monotonic=fake_time.monotonic)
    app = bootstrap(settings, sessionmaker, clock=clock, storage=fsm_storage, sender=sender)
    yield Harness(emu, app)
    await app.bot.session.close()


@pytest.fixture
async def world(harness: Harness) -> World:
    """The small district of tests.factories, and people made in one line each."""
    return await World.build(harness)
