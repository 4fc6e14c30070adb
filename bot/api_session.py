"""aiogram's HTTP session to the Bot API, closed at once where there is no TLS.

aiogram's ``AiohttpSession.close`` waits 250 ms after closing, for SSL connections to shut
down cleanly. A Bot API server reached over plain HTTP (self-hosted beside the bot, or the
project's emulator) has none to wait for: every shutdown, and every test's bot, paid those
250 ms for nothing (a third of a quick test's time: 0.26 s of its setup, call and teardown
of 0.71 s in tests/appeals/test_resident.py)."""

from __future__ import annotations

from aiogram.client.session.aiohttp import AiohttpSession


class BotAPISession(AiohttpSession):
    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
            return
        http = self._session
        if http is not None and not http.closed:
            await http.close()
