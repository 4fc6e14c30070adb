"""Shared fixtures: a fresh, migrated database per test on SQLite (a real file) and, when
TEST_DATABASE_URL is set, on PostgreSQL too (one schema per test); Redis when
TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.app import bootstrap
from bot.bytecode import compile_own_code
from bot.config import Settings, load_settings
from bot.sending import Sender
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker, normalize_url
from tests import processes, watchdog
from tests.harness import Harness, World

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday


@pytest.fixture(params=BACKENDS)
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database. Migrating costs 0.2 s on SQLite and about a second on
    PostgreSQL, more than most tests; so each test process migrates once per backend and
    every test starts from that: a copy of the migrated SQLite file, or the migrated
    PostgreSQL schema emptied by one TRUNCATE after the test (test_migrations still
    runs every migration from scratch, both ways)."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(await _sqlite_template(tmp_path_factory), target)
        eng = create_engine(f"sqlite+aiosqlite:///{target}")
        yield eng
        await eng.dispose()
        return
    base_url = normalize_url(os.environ["TEST_DATABASE_URL"])
    schema = await _pg_schema(base_url)
    # The bot's own engine (its pool and reset rules), in this worker's schema.
    eng = create_engine(base_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield eng
    finally:
        await eng.dispose()
        await _pg_empty(base_url, schema)


@pytest.fixture(params=BACKENDS)
async def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """A database of its own migrated from nothing, for the tests of the migrations
    themselves (which go down and up again: never on the schema other tests share)."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
        await upgrade(eng)
        yield eng
        await eng.dispose()
        return
    base_url = normalize_url(os.environ["TEST_DATABASE_URL"])
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(base_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(eng)
        yield eng
    finally:
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


_templates: dict[str, Path | str] = {}


async def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = _templates.get("sqlite")
    if isinstance(template, Path) and template.exists():
        return template
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    eng = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(eng)
    await eng.dispose()  # closes the last connection: the WAL is folded into the file
    assert not path.with_name(path.name + "-wal").exists()
    _templates["sqlite"] = path
    return path


async def _pg_schema(base_url: str) -> str:
    schema = _templates.get("postgresql")
    if isinstance(schema, str):
        return schema
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await admin.dispose()
    eng = create_async_engine(base_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(eng)
    finally:
        await eng.dispose()
    _templates["postgresql"] = schema
    return schema


async def _pg_empty(base_url: str, schema: str) -> None:
    """Every table but Alembic's emptied and its ids restarted: the next test starts as
    from a fresh migration. Only the tables a test wrote to hold rows, and a TRUNCATE of
    all of them costs most of a second (new files for each table and index), so those few
    are emptied by DELETE with triggers and foreign-key checks off (as TRUNCATE fires no
    row triggers either) and then vacuumed, or, where that is not allowed (no superuser),
    by TRUNCATE of just them; every sequence a test advanced starts again. Should that
    fail (a test that changed the schema), the schema goes and the next test migrates a
    new one."""
    admin = create_engine(base_url, connect_args={"server_settings": {"synchronous_commit": "off"}})
    try:
        async with admin.begin() as conn:
            tables = (
                (
                    await conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables WHERE schemaname = :schema"
                            " AND tablename <> 'alembic_version'"
                        ),
                        {"schema": schema},
                    )
                )
                .scalars()
                .all()
            )
            written: list[str] = []
            if tables:
                probe = " UNION ALL ".join(
                    f'(SELECT \'{t}\' WHERE EXISTS (SELECT 1 FROM "{schema}"."{t}"))'
                    for t in tables
                )
                written = list((await conn.execute(text(probe))).scalars().all())
            names = [f'"{schema}"."{t}"' for t in written]
            superuser = (
                await conn.execute(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                )
            ).scalar_one()
            if names and superuser:
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
                for name in names:
                    await conn.execute(text(f"DELETE FROM {name}"))
            elif names:
                await conn.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
            sequences = (
                (
                    await conn.execute(
                        text(
                            "SELECT sequencename FROM pg_sequences WHERE schemaname = :schema"
                            " AND last_value IS NOT NULL"
                        ),
                        {"schema": schema},
                    )
                )
                .scalars()
                .all()
            )
            for sequence in sequences:
                await conn.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))
        if names and superuser:
            # The deleted rows would stay behind as dead tuples that later tests' scans
            # and index lookups wade through (TRUNCATE left none): vacuumed away now.
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"VACUUM {', '.join(names)}"))
    except Exception:
        _templates.pop("postgresql", None)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        raise
    finally:
        await admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        # Once, before the workers start: each of them, and every bot process a test
        # starts, then reads the project's bytecode instead of compiling it (bot/bytecode.py).
        compile_own_code()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with watchdog.watch(item.nodeid):
        return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if processes.has_templates():
        asyncio.run(processes.drop_templates())
    schema = _templates.get("postgresql")
    if not isinstance(schema, str) or not os.environ.get("TEST_DATABASE_URL"):
        return

    async def drop() -> None:
        admin = create_engine(normalize_url(os.environ["TEST_DATABASE_URL"]))
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()

    asyncio.run(drop())


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


# --- the order of the run ---------------------------------------------------------------

# The tests that take tens of seconds (bot processes, Chromium, the scope walks, bursts of
# hundreds of updates), slowest first. pytest-xdist's worksteal gives each worker one
# contiguous share of the collection and later moves not-yet-started tests from the end of
# the longest queue: a slow test left near an end starts last and the whole run waits for
# it. So each share starts with its part of these, dealt in turn, and the quick tests
# (which balance the workers at the end) follow.
SLOW = (
    "tests/core/test_reliability.py::test_killed_right_after_filing",
    "tests/core/test_reliability.py::test_200_residents",
    "tests/core/test_scope_walk.py::test_no_window_of_a_feature",
    "tests/core/test_reliability.py::",
    "tests/desk/test_browser.py::",
    "tests/sandbox/test_browser.py::test_an_appeal_travels_between_the_panes",
    "tests/channels/test_clients.py::test_a_hundred_appeals",
    "tests/sandbox/test_council_browser.py::",
    "tests/sandbox/test_notices_browser.py::",
    "tests/desk/test_processes.py::",
    "tests/partners/test_screens.py::test_a_channel_that_refuses_posts",
    "tests/desk/test_browser_figures.py::",
    "tests/core/test_random_presses.py::",
    "tests/core/test_scope_walk.py::",
    "tests/core/test_run.py::",
    "tests/appeals/test_month_counts.py::",
    "tests/sandbox/test_partners_browser.py::",
    "tests/core/test_connection_reset.py::",
    "tests/core/test_config.py::test_missing_token_stops_run",
    "tests/core/test_sending.py::test_senders_queued_during_a_429_pause",
    "tests/sandbox/test_browser.py::",
)


def _slowness(item: pytest.Item) -> int | None:
    """The index in SLOW of the first entry the test's id starts with (a lower one is
    slower); None for the rest."""
    for rank, prefix in enumerate(SLOW):
        if item.nodeid.startswith(prefix):
            return rank
    return None


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core. The suite waits (bot processes starting, a
    browser, a clock moving on) for about a third of its time; with one worker per core
    the cores sat idle then (on 2 cores: 479 s with two workers, 430 s with four)."""
    return 2 * (os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return  # without xdist, or its controller: the workers' order is the one it deals
    workers = max(1, int(workerinput.get("workercount", 1)))
    slow = sorted(
        (item for item in items if _slowness(item) is not None),
        key=lambda item: _slowness(item) or 0,
    )
    chosen = {id(item) for item in slow}
    rest = [item for item in items if id(item) not in chosen]
    # xdist's first shares: len(pending) // workers-left, each in turn.
    sizes, left = [], len(items)
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    shares: list[list[pytest.Item]] = [slow[i::workers] for i in range(workers)]
    for share, size in zip(shares, sizes, strict=True):
        take = max(0, size - len(share))
        share.extend(rest[:take])
        del rest[:take]
    shares[-1].extend(rest)
    items[:] = [item for share in shares for item in share]
