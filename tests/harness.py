"""Drives the real Dispatcher over the real aiogram HTTP session against the local
Bot API emulator: inject an update as a user, let the bot handle it fully, then read
what that user's chat shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bot.app import App
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser, StoredMessage


@dataclass
class Harness:
    emu: BotAPIEmulator
    app: App
    bot: Bot

    async def deliver(self) -> int:
        """Send everything the outbox owes, as the delivery loop would."""
        assert self.app.notifier is not None
        return await self.app.notifier.deliver_pending()

    async def sweep(self) -> list[tuple[int, str]]:
        """Fire due appeal timers at the harness clock's time, then deliver."""
        from storage.appeals import sweep

        fired = await sweep(self.app.sessionmaker, self.app.policy, self.app.clock.now())
        await self.deliver()
        return fired

    async def feed(self, raw: dict[str, Any]) -> None:
        update = Update.model_validate(raw, context={"bot": self.bot})
        await self.app.dispatcher.feed_update(self.bot, update)

    async def text(self, user: EmulatedUser, text: str) -> None:
        await self.feed(self.emu.send_text(user, text, queue=False))

    async def command(self, user: EmulatedUser, command: str, args: str | None = None) -> None:
        await self.feed(self.emu.send_command(user, command, args, queue=False))

    async def press(self, user: EmulatedUser, button_text: str) -> None:
        """Press the newest inline button whose text contains ``button_text``."""
        await self.feed(self.emu.press_button(user, button_text, queue=False))

    async def press_data(
        self, user: EmulatedUser, message_id: int, data: str, *, forged: bool = False
    ) -> None:
        press: Callable[..., dict[str, Any]] = self.emu.press_forged if forged else self.emu.press
        await self.feed(press(user, message_id, data, queue=False))

    def last(self, user: EmulatedUser) -> StoredMessage:
        message = self.emu.chat(user.id).last_bot_message
        assert message is not None, f"the bot said nothing to {user.id}"
        return message

    def last_text(self, user: EmulatedUser) -> str:
        message = self.last(user)
        return message.text or message.caption or ""

    def buttons(self, user: EmulatedUser) -> list[str]:
        return [text for row in self.emu.chat(user.id).inline_buttons() for text, _ in row]

    def texts(self, user: EmulatedUser) -> list[str]:
        return [m.text or m.caption or "" for m in self.emu.chat(user.id).bot_messages]
