"""The Bot API session closes at once over plain HTTP (a self-hosted server, the
emulator), and still waits for TLS connections to shut down over HTTPS as aiogram does."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session import aiohttp as aiogram_aiohttp
from aiogram.client.telegram import TelegramAPIServer

from bot.api_session import BotAPISession
from emulator import BotAPIEmulator

TOKEN = "123456:SESSION-TOKEN"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What aiogram's session module slept for."""
    slept: list[float] = []

    async def recorded(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(aiogram_aiohttp.asyncio, "sleep", recorded)
    return slept


async def test_over_plain_http_it_closes_without_waiting(sleeps: list[float]) -> None:
    emu = BotAPIEmulator(token=TOKEN, bot_username="session_bot")
    await emu.start()
    try:
        session = BotAPISession(api=TelegramAPIServer.from_base(emu.base_url))
        bot = Bot(TOKEN, session=session)
        assert (await bot.get_me()).username == "session_bot"
        http = await session.create_session()
        await session.close()
        assert http.closed and sleeps == []
        # Used again after closing (as aiogram allows): a new connection pool.
        assert (await bot.get_me()).username == "session_bot"
        await session.close()
    finally:
        await emu.stop()


async def test_over_https_it_waits_as_aiogram_does(sleeps: list[float]) -> None:
    session = BotAPISession(api=TelegramAPIServer.from_base("https://bot-api.example.org"))
    http = await session.create_session()  # no request: nothing goes to the network
    await session.close()
    assert http.closed and sleeps == [0.25]
