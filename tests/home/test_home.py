"""Home: the language of every text follows Telegram or /language, and /help speaks it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.users import User
from tests.factories import build_tree
from tests.harness import Harness


async def _user(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> User | None:
    async with sessionmaker() as session:
        return await session.get(User, user_id)


async def test_english_follows_telegram_and_language_command(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    en_user = emu.add_user(user_id=1010, first_name="Anna", language_code="en")
    await harness.command(en_user, "start", f"b_{tree.building.qr_token}")
    assert "What is stored" in harness.last_text(en_user)
    await harness.press(en_user, "Agree and continue")
    assert "Your building" in harness.last_text(en_user)

    zh_user = emu.add_user(user_id=1011, first_name="马可", language_code="zh-hans")
    await harness.command(zh_user, "language")
    await harness.press(zh_user, "English")
    assert harness.last_text(zh_user) == "Language set to English."
    await harness.command(zh_user, "help")
    assert "help for residents" in harness.last_text(zh_user)
    user = await _user(sessionmaker, 1011)
    assert user is not None and user.language == "en"
