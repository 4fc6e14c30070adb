"""The same update twice (a retried webhook, a replayed poll) is handled once: no second
appeal, no second answer to a button, no extra menu; and an update that fails before any
handler runs (the dialogs' storage away) still gets the user an answer. In process, on
memory storage with SQLite and on Redis with PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings
from emulator import BotAPIEmulator
from storage.appeals import Appeal
from storage.clock import ManualClock
from storage.roles import Role
from tests.harness import Harness, World


async def _appeals(harness: Harness) -> int:
    async with harness.app.services() as s:
        return int((await s.session.execute(select(func.count()).select_from(Appeal))).scalar_one())


async def test_a_doubled_confirm_files_once_and_sends_nothing_more(
    harness: Harness, world: World
) -> None:
    resident = await world.resident("王秀英")
    await harness.command(resident, "new")
    await harness.press(resident, "环境卫生")
    await harness.text(resident, "楼道灯坏了")
    confirm = harness.emu.press_button(resident, "确认提交", queue=False)
    await harness.feed(confirm)
    chat = harness.emu.chat(resident.id)
    seen = (len(chat.bot_messages), len(chat.callback_answers), [m.text for m in chat.bot_messages])
    await harness.feed(confirm)
    assert await _appeals(harness) == 1
    assert (
        len(chat.bot_messages),
        len(chat.callback_answers),
        [m.text for m in chat.bot_messages],
    ) == seen
    assert harness.emu.errors == []


async def test_a_doubled_accept_is_answered_once(harness: Harness, world: World) -> None:
    resident = await world.resident("王秀英")
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    await world.appeal(resident)
    accept = harness.emu.press_button(
        worker, harness.label(worker, "appeal.button.accept"), queue=False
    )
    await harness.feed(accept)
    await harness.feed(accept)
    # Telegram refuses a second answer to one callback query; the emulator does too.
    assert harness.emu.errors == []
    assert len(harness.emu.chat(worker.id).callback_answers) == 1
    assert len(harness.emu.chat(resident.id).bot_messages) == 2  # filed, accepted


class _StorageAway(MemoryStorage):
    """The dialogs' storage cannot be reached (Redis restarting, say)."""

    async def get_state(self, key: StorageKey) -> str | None:
        raise ConnectionError("storage unreachable")

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        raise ConnectionError("storage unreachable")


async def test_a_failure_before_any_handler_still_answers(
    harness: Harness,
    emu: BotAPIEmulator,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    world: World,
) -> None:
    resident = await world.resident("王秀英")
    harness.app = bootstrap(
        settings, sessionmaker, clock=clock, bot=harness.bot, storage=_StorageAway()
    )
    await harness.command(resident, "menu")
    assert "出了点问题" in harness.last_text(resident)
    assert emu.errors == []
