"""Telegram's flood limits in the emulator, through the real aiogram client over HTTP.

The emulator's flood clock is a hand-driven fake, so windows and penalties are exact and
nothing sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from emulator import BotAPIEmulator, Limits, Violation

TOKEN = "123456:TEST-TOKEN"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[BotAPIEmulator]:
    emulator = BotAPIEmulator(token=TOKEN, monotonic=clock)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    yield client
    await client.session.close()


def open_chats(emu: BotAPIEmulator, count: int, first_id: int = 2001) -> list[int]:
    """Users who wrote to the bot, so it may message them."""
    ids = list(range(first_id, first_id + count))
    for user_id in ids:
        emu.add_user(user_id, f"U{user_id}")
        emu.send_command(user_id, "start", queue=False)
    return ids


async def raw_send(emu: BotAPIEmulator, chat_id: int, text: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emu.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": chat_id, "text": text}
        ) as resp,
    ):
        body: dict[str, Any] = await resp.json()
        return resp.status, body


async def refused(bot: Bot, chat_id: int, text: str = "x") -> int:
    """Send and expect a 429; the retry_after it came with."""
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(chat_id, text)
    return caught.value.retry_after


# --- off by default ----------------------------------------------------------------------


async def test_limits_are_off_by_default(emu: BotAPIEmulator, bot: Bot) -> None:
    [chat] = open_chats(emu, 1)
    assert emu.limits is None
    for i in range(40):
        await bot.send_message(chat, f"m{i}")
    assert emu.violations == [] and emu.violation_count == 0
    assert not emu.errors


def test_limits_must_allow_something() -> None:
    with pytest.raises(ValueError):
        Limits(global_per_second=0)
    with pytest.raises(ValueError):
        Limits(per_chat_per_second=0)


# --- enforced ----------------------------------------------------------------------------


async def test_31st_message_to_different_chats_within_a_second_is_refused(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    chats = open_chats(emu, 31)
    emu.limits = Limits(global_per_second=30, per_chat_per_second=1, enforce=True)
    for chat in chats[:30]:
        await bot.send_message(chat, "hi")
        clock.advance(0.01)
    status, body = await raw_send(emu, chats[30], "hi")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert emu.violations == [Violation("sendMessage", chats[30], "global", clock.now, True, 1)]
    assert emu.chat(chats[30]).bot_messages == []
    # The window frees one second after the first send, but the 429 set a penalty of
    # retry_after from the refusal: the bot must wait that out.
    clock.advance(1.0)
    assert (await bot.send_message(chats[30], "now")).text == "now"
    assert emu.violation_count == 1


async def test_second_message_to_one_chat_within_a_second_is_refused(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    chat, other = open_chats(emu, 2)
    emu.limits = Limits()
    await bot.send_message(chat, "first")
    clock.advance(0.5)
    assert await refused(bot, chat, "second") == 1
    assert [(v.kind, v.chat_id, v.refused) for v in emu.violations] == [("per_chat", chat, True)]
    clock.advance(1.0)  # the penalty (1 s from the refusal) is over
    await bot.send_message(chat, "second")
    await bot.send_message(other, "elsewhere")
    assert [m.text for m in emu.chat(chat).bot_messages] == ["first", "second"]


async def test_exactly_paced_sends_are_not_violations(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    """A sender spacing calls 1/rate apart (with float error piling up) stays under."""
    chats = open_chats(emu, 45)
    emu.limits = Limits()
    for chat in chats + chats[:15]:
        await bot.send_message(chat, "paced")
        clock.advance(1 / 30)  # accumulates, the way a pacing sender's next slot does
    one = chats[0]
    for _ in range(5):
        clock.advance(1.0)
        await bot.send_message(one, "each second")
    assert emu.violations == []


async def test_edits_and_other_calls_do_not_count(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    [chat] = open_chats(emu, 1)
    emu.limits = Limits(global_per_second=1, per_chat_per_second=1)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
    )
    sent = await bot.send_message(chat, "v0", reply_markup=markup)
    for i in range(1, 6):
        await bot.edit_message_text(
            text=f"v{i}", chat_id=chat, message_id=sent.message_id, reply_markup=markup
        )
    update = emu.press(chat, sent.message_id, "go", queue=False)
    await bot.answer_callback_query(update["callback_query"]["id"], text="ok")
    await bot.send_chat_action(chat, "typing")
    await bot.get_updates(timeout=0)
    await bot.delete_message(chat, sent.message_id)
    assert emu.violations == [] and not emu.errors
    # ... while a second message in the same instant is still over.
    assert await refused(bot, chat) == 1


async def test_limits_from_the_constructor(clock: FakeClock) -> None:
    emulator = BotAPIEmulator(
        token=TOKEN, limits=Limits(global_per_second=2, per_chat_per_second=5), monotonic=clock
    )
    await emulator.start()
    client = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url)))
    try:
        a, b, c = open_chats(emulator, 3)
        await client.send_message(a, "1")
        await client.send_message(b, "2")
        assert await refused(client, c) == 1
        assert [v.kind for v in emulator.violations] == ["global"]
    finally:
        await client.session.close()
        await emulator.stop()


# --- counted only ------------------------------------------------------------------------


async def test_count_only_lets_sends_through_and_records_violations(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    chats = open_chats(emu, 31)
    emu.limits = Limits(enforce=False, count=True)
    for chat in chats:
        await bot.send_message(chat, "hi")
    await bot.send_message(chats[0], "again")
    assert not emu.errors
    assert len(emu.chat(chats[0]).bot_messages) == 2
    assert [(v.kind, v.chat_id, v.refused) for v in emu.violations] == [
        ("global", chats[30], False),
        ("per_chat", chats[0], False),
    ]
    assert emu.violation_count == 2
    # Nothing was refused, so there is no penalty: a second later all is well again.
    clock.advance(1.0)
    await bot.send_message(chats[1], "fine")
    assert emu.violation_count == 2
    emu.clear_records()
    assert emu.violations == []


async def test_new_limits_start_with_empty_windows(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    [chat] = open_chats(emu, 1)
    emu.limits = Limits()
    await bot.send_message(chat, "one")
    assert await refused(bot, chat) == 1
    emu.limits = Limits()
    await bot.send_message(chat, "fresh window")
    assert emu.violation_count == 1  # kept across reconfiguration
    emu.limits = None
    await bot.send_message(chat, "off")
    assert emu.violation_count == 1


# --- injected 429s and the penalty -------------------------------------------------------


async def test_injected_429_every_nth_message(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    [chat] = open_chats(emu, 1)
    emu.inject_429_every(3, retry_after=2, penalty=False)
    outcomes: list[int | str] = []
    for i in range(1, 8):
        try:
            await bot.send_message(chat, f"m{i}")
            outcomes.append("ok")
        except TelegramRetryAfter as exc:
            outcomes.append(exc.retry_after)
        sent = emu.chat(chat).bot_messages[-1]
        await bot.edit_message_text(text=f"e{i}", chat_id=chat, message_id=sent.message_id)
    assert outcomes == ["ok", "ok", 2, "ok", "ok", 2, "ok"]
    assert emu.injected_429_count == 2
    assert emu.violations == []  # the bot did nothing wrong
    emu.inject_429_every(None)
    for i in range(5):
        await bot.send_message(chat, f"free{i}")
    assert emu.injected_429_count == 2


async def test_penalty_after_injected_429_holds_every_chat(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    a, b = open_chats(emu, 2)
    emu.inject_429_every(2, retry_after=3)
    first = await bot.send_message(a, "1")
    assert await refused(bot, b, "2") == 3
    clock.advance(1.0)
    assert await refused(bot, a, "during") == 2
    clock.advance(0.5)
    assert await refused(bot, b, "during") == 2  # 1.5 s left, rounded up
    assert emu.penalty_remaining() == pytest.approx(1.5)
    # Edits and other calls are not held back.
    await bot.edit_message_text(text="edited", chat_id=a, message_id=first.message_id)
    await bot.send_chat_action(b, "typing")
    assert [(v.kind, v.chat_id, v.retry_after) for v in emu.violations] == [
        ("penalty", a, 2),
        ("penalty", b, 2),
    ]
    clock.advance(1.5)
    assert emu.penalty_remaining() == 0
    await bot.send_message(b, "2")  # message 2 of the injection count
    assert await refused(bot, a, "3") == 3  # and this one is the 4th


async def test_penalty_after_enforced_429(emu: BotAPIEmulator, bot: Bot, clock: FakeClock) -> None:
    chats = open_chats(emu, 32)
    emu.limits = Limits()
    for chat in chats[:30]:
        await bot.send_message(chat, "hi")
        clock.advance(0.01)
    assert await refused(bot, chats[30]) == 1  # at +0.30: penalty until +1.30
    clock.advance(0.8)  # +1.10: the window is empty again, the penalty is not over
    assert await refused(bot, chats[31]) == 1
    assert [v.kind for v in emu.violations] == ["global", "penalty"]
    assert all(v.refused for v in emu.violations)
    clock.advance(0.2)
    await bot.send_message(chats[31], "after the wait")
    await bot.send_message(chats[30], "and the refused one")
    assert emu.violation_count == 2


async def test_fail_429_with_penalty(emu: BotAPIEmulator, bot: Bot, clock: FakeClock) -> None:
    a, b = open_chats(emu, 2)
    emu.fail(a, status=429, retry_after=5, penalty=True)
    assert await refused(bot, a) == 5
    assert await refused(bot, b) == 5
    clock.advance(5)
    await bot.send_message(b, "ok")
    # Without penalty (the default) a failure stays with its chat.
    emu.fail(a, status=429, retry_after=5)
    assert await refused(bot, a) == 5
    await bot.send_message(b, "still ok")


# --- blocked chats -----------------------------------------------------------------------


async def test_blocked_chats_answer_403_under_limits(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    a, b, c = open_chats(emu, 3)
    emu.limits = Limits()
    emu.block(a, b)
    assert emu.blocked == {a, b}
    for chat in (a, b):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(chat, "x")
    await bot.send_message(c, "fine")
    emu.unblock(a)
    assert emu.blocked == {b}
    clock.advance(1.0)
    await bot.send_message(a, "back")
    emu.send_text(b, "hello again", queue=False)  # writing unblocks
    await bot.send_message(b, "back too")
    assert emu.violations == []


async def test_a_long_broadcast_is_paced_not_flagged(
    emu: BotAPIEmulator, bot: Bot, clock: FakeClock
) -> None:
    """Many chats at 30/s: no violations, and the per-chat windows do not pile up."""
    chats = open_chats(emu, 1200)
    emu.limits = Limits()
    for chat in chats:
        await bot.send_message(chat, "notice")
        clock.advance(1 / 30)
    assert emu.violations == []
    assert emu.flood.tracked_chats <= 1024
