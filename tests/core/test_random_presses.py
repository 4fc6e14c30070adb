"""A seeded random run of a resident, two grid workers and community staff pressing
whatever their chats show (twice at times, old buttons too) and typing commands: Telegram
refuses nothing the bot sends, and no update fails."""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.clock import ManualClock
from tests.appeals.test_worker import COMMUNITY_STAFF, RESIDENT, W1, W2, _file, _world
from tests.harness import Harness

STEPS = 150
COMMANDS = ("menu", "stats", "tasks", "language", "privacy", "appeals", "settings", "help")


def _buttons(emu: BotAPIEmulator, user: EmulatedUser) -> list[tuple[int, str]]:
    return [
        (m.message_id, b["callback_data"])
        for m in emu.chat(user.id).bot_messages
        for row in (m.reply_markup or {}).get("inline_keyboard", [])
        for b in row
        if "callback_data" in b and "excel" not in b["callback_data"]
    ][-30:]


async def test_random_presses_send_nothing_telegram_refuses(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    for i in range(3):
        await _file(harness, sessionmaker, clock, world, text=f"楼道里堆满了杂物 {i}")
    people = [world[RESIDENT], world[W1], world[W2], world[COMMUNITY_STAFF]]
    rng = random.Random(1)
    pressed: list[tuple[EmulatedUser, int, str]] = []
    emu.clear_records()
    with caplog.at_level(logging.WARNING, logger="bot.errors"):
        for _ in range(STEPS):
            user = rng.choice(people)
            buttons = _buttons(emu, user)
            roll = rng.random()
            if roll < 0.12 or not buttons:
                await harness.command(user, rng.choice(COMMANDS))
            elif roll < 0.18:
                await harness.text(user, "测试一下")
            elif roll < 0.3 and pressed:
                old_user, message_id, data = rng.choice(pressed)
                await harness.press_data(old_user, message_id, data, forged=True)
            else:
                message_id, data = rng.choice(buttons)
                pressed.append((user, message_id, data))
                taps = 2 if rng.random() < 0.2 else 1
                for tap in [emu.press(user, message_id, data, queue=False) for _ in range(taps)]:
                    await harness.feed(tap)
    assert [(r.method, r.error) for r in emu.errors] == []
    assert [r.getMessage() for r in caplog.records if r.name == "bot.errors"] == []
