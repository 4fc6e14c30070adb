"""No keyboard edit that Telegram would refuse: removing buttons that are already gone
("message is not modified") is never asked for, whichever code asks (aiogram-dialog
stripping the previous window, a handler re-marking a pressed card)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from storage.clock import ManualClock
from tests.appeals.test_worker import W1, _data, _file, _task_message, _world
from tests.harness import Harness, World


async def test_language_from_the_menu_edits_no_keyboard_twice(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    await harness.command(resident, "menu")
    await harness.command(resident, "language")
    await harness.press(resident, "English")
    assert "Language set to English." in harness.texts(resident)
    await harness.command(resident, "language")
    await harness.press(resident, "简体中文")
    assert "语言已设置为简体中文。" in harness.texts(resident)
    assert harness.emu.errors == []


async def test_a_double_tapped_task_button_strips_the_card_once(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world)
    card = _task_message(emu, W1, appeal_id)
    await harness.press_data(world[W1], card.message_id, _data("accept", appeal_id))
    # Both presses leave the phone before the bot has answered the first.
    taps = [
        emu.press(world[W1], card.message_id, _data("resolve", appeal_id), queue=False)
        for _ in range(2)
    ]
    emu.clear_records()
    for tap in taps:
        await harness.feed(tap)
    assert "办理结果" in harness.last_text(world[W1])
    assert emu.errors == []


async def test_a_double_tapped_language_choice_is_made_once(harness: Harness, world: World) -> None:
    resident = await world.resident()
    await harness.command(resident, "language")
    taps = [harness.emu.press_button(resident, "English", queue=False) for _ in range(2)]
    for tap in taps:
        await harness.feed(tap)
    texts = harness.texts(resident)
    assert texts.count("Language set to English.") == 1
    # One menu, in English, after the choice.
    assert len(texts) == 2, texts
    assert harness.emu.errors == []
