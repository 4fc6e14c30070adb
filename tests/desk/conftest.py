"""The desk's tests: the bot as in every test (tests.conftest), with a wall clock of its
own for the desk's security timings (links, sessions, Mini App data), and the web
application served on a local port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import BaseStorage
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings
from bot.sending import Sender
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.desk import DeskPolicy
from tests.conftest import START, RecordingSleep
from tests.desk.client import OPEN
from tests.harness import Harness
from tests.sandbox.browsing import CHROMIUM_ARGS
from tests.system import chromium
from web.server import build_web_app

# Bot round trips take milliseconds; this only bounds a failure.
expect.set_options(timeout=10_000)


@pytest.fixture
def wall() -> ManualClock:
    """The desk's wall clock (links expire, sessions end), apart from the domain's."""
    return ManualClock(START)


@pytest.fixture
async def harness(
    emu: BotAPIEmulator,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    fsm_storage: BaseStorage,
    wall: ManualClock,
) -> AsyncIterator[Harness]:
    fake_time = RecordingSleep()
    sender = Sender(sessionmaker, clock, sleep=fake_time, monotonic=fake_time.monotonic)
    app = bootstrap(
        settings,
        sessionmaker,
        clock=clock,
        storage=fsm_storage,
        sender=sender,
        config=[DeskPolicy(clock=wall)],
    )
    yield Harness(emu, app)
    await app.bot.session.close()


@pytest.fixture
async def server(harness: Harness) -> AsyncIterator[TestServer]:
    """The bot's web application (every face) on a free local port."""
    served = TestServer(build_web_app(harness.app))
    await served.start_server()
    yield served
    while OPEN:
        await OPEN.pop().close()
    await served.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright (skipped on a bare machine, a failure on CI)."""
    executable = chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
