"""Failures never end in silence: crashes get an apology, stale dialogs reopen the menu."""

from __future__ import annotations

import logging

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings
from bot.features import FEATURES
from bot.registry import Feature, Registry
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from tests.factories import build_tree
from tests.harness import Harness


async def test_unexpected_exception_is_logged_and_user_gets_an_apology(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = Router()

    @router.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise RuntimeError("kaput")

    # A feature whose handler crashes, plugged in like any other.
    registry = Registry([*FEATURES, Feature(name="boom", routers=lambda: [router])])
    harness.app = bootstrap(settings, sessionmaker, clock=clock, bot=harness.bot, registry=registry)
    user = emu.add_user(user_id=4001, first_name="测试", language_code="zh-hans")
    raw = emu.send_command(user, "boom", queue=False)
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await harness.feed(raw)
    assert "抱歉，出了点问题" in harness.last_text(user)
    record = next(r for r in caplog.records if r.name == "bot.errors")
    assert str(raw["update_id"]) in record.getMessage()
    assert record.exc_info is not None and "kaput" in str(record.exc_info[1])


async def test_a_press_that_fails_after_its_answer_still_gets_an_apology(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = Router()

    @router.message(Command("boom"))
    async def offer(message: Message) -> None:
        button = InlineKeyboardButton(text="试试", callback_data="boom")
        await message.answer(
            "按一下", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )

    @router.callback_query(lambda call: call.data == "boom")
    async def boom(call: CallbackQuery) -> None:
        # The press is answered (a toast) before the handler fails: Telegram takes no
        # second answer, so the apology cannot be an alert.
        await call.answer("正在处理…")
        raise RuntimeError("kaput")

    registry = Registry([*FEATURES, Feature(name="boom", routers=lambda: [router])])
    harness.app = bootstrap(settings, sessionmaker, clock=clock, bot=harness.bot, registry=registry)
    user = emu.add_user(user_id=4003, first_name="测试", language_code="zh-hans")
    await harness.command(user, "boom")
    with caplog.at_level(logging.WARNING, logger="bot.errors"):
        await harness.press(user, "试试")
    assert "抱歉，出了点问题" in harness.last_text(user)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == []
    assert emu.errors == []


async def test_buttons_from_before_a_restart_reopen_the_main_menu(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    settings: Settings,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=4002, first_name="老张")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")
    menu = harness.last(resident)

    # A restart with in-memory storage: every dialog context is gone.
    from aiogram.fsm.storage.memory import MemoryStorage

    restarted = bootstrap(
        settings, sessionmaker, clock=clock, storage=MemoryStorage(), bot=harness.bot
    )
    harness.app = restarted
    await harness.press(resident, "我的数据与隐私")

    assert "菜单已更新" in emu.chat(4002).callback_answers[-1]["text"]
    newest = harness.last(resident)
    assert newest.message_id != menu.message_id
    assert "老张，您好" in (newest.text or "")
