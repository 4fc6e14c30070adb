"""/stats as a photo that stays right under repeated presses: the same window shown
again keeps the chart's file id (never an empty one, never another chart's), a view
opened from it returns to the chart, and none of it ends in an apology."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.clock import ManualClock
from tests.appeals.test_stats import _community_staff, _photo_message
from tests.harness import Harness


def _photo_id(harness: Harness, user: EmulatedUser) -> str:
    photo = harness.last(user).photo
    assert photo, "the stats are a photo"
    return str(photo[-1]["file_unique_id"])


def _data(emu: BotAPIEmulator, user: EmulatedUser, label: str) -> str:
    buttons = [b for row in emu.chat(user.id).inline_buttons() for b in row]
    data = next(d for text, d in buttons if label in text)
    assert data is not None
    return data


def _failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.errors"]


async def test_a_press_on_a_deleted_stats_message_keeps_the_charts_file_id(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "stats")
    # Typing brings the screen down again, sent by the chart's file id this time.
    await harness.text(staff, "你好")
    live = harness.last(staff)
    chart = _photo_id(harness, staff)
    views = _data(emu, staff, "合伙人数据")
    # A press on its way while the user deletes the message: Telegram hands the bot the
    # message as inaccessible. The screen has nothing new to show.
    emu.delete_bot_message(staff, live.message_id)
    unknown_view = views.rsplit(":", 1)[0] + ":gone"
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await harness.press_data(staff, live.message_id, unknown_view, forged=True)
        # The same chart again, by its file id.
        await harness.text(staff, "你好")
    assert _failures(caplog) == []
    assert "通海社区 · 2026年12月" in _photo_message(harness, staff)
    assert _photo_id(harness, staff) == chart
    assert not [r for r in emu.errors if r.method in ("sendPhoto", "editMessageMedia")]


async def test_a_double_tap_on_a_grid_keeps_each_chart_its_own(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "stats")
    await harness.press(staff, "◀ 2026年11月")
    community = _photo_id(harness, staff)
    message = harness.last(staff).message_id
    grid = _data(emu, staff, "第一网格")
    taps = [emu.press(staff, message, grid, queue=False) for _ in range(2)]
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        for tap in taps:
            await harness.feed(tap)
        grid_chart = _photo_id(harness, staff)
        assert grid_chart != community
        await harness.press(staff, "⬆ 通海社区")
        assert _photo_id(harness, staff) == community
        await harness.press(staff, "第一网格")
    assert "📊 第一网格 · 2026年11月" in _photo_message(harness, staff)
    # The grid's own chart, not the community's under the grid's figures.
    assert _photo_id(harness, staff) == grid_chart
    assert _failures(caplog) == []
    assert emu.errors == []


async def test_back_from_a_view_shows_the_chart_again(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "stats")
    await harness.press(staff, "合伙人数据")
    assert not harness.last(staff).photo
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await harness.press(staff, "返回")
    assert _failures(caplog) == []
    assert "通海社区 · 2026年12月" in _photo_message(harness, staff)
    # The view's text message made way for the photo: one screen, not two.
    chat = emu.chat(staff.id)
    assert [m for m in chat.bot_messages if "合伙人" in (m.text or "")] == []
    await harness.press(staff, "◀ 2026年11月")
    assert "通海社区 · 2026年11月" in _photo_message(harness, staff)
    assert emu.errors == []
