"""Plain filters and handlers run on the event loop's thread, not on aiogram's worker
threads (bot/inline_callables.py), and still see and pass on what they did before."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import Chat, Message, Update, User

from bot.inline_callables import callables, run_plain_callables_in_place
from tests.harness import Harness


def text_update(text: str, chat_type: str = "private") -> Update:
    user = User(id=7, is_bot=False, first_name="王")
    chat = Chat(id=7 if chat_type == "private" else -100, type=chat_type)
    message = Message(message_id=1, date=datetime.now(UTC), chat=chat, from_user=user, text=text)
    return Update(update_id=1, message=message)


def test_the_bot_leaves_nothing_for_a_thread(harness: Harness) -> None:
    everything = list(callables(harness.app.dispatcher))
    assert len(everything) > 100  # every feature's handlers and filters were walked
    assert [o.callback for o in everything if not o.awaitable] == []


async def test_plain_filters_and_handlers_run_on_the_loop_and_keep_their_results() -> None:
    threads: dict[str, int] = {}
    seen: dict[str, Any] = {}
    router = Router()
    router.message.filter(F.chat.type == "private")  # a root (observer) filter

    def named(message: Message) -> dict[str, Any] | bool:
        threads["filter"] = threading.get_ident()
        return {"word": message.text} if message.text else False

    def handler(message: Message, word: str) -> str:
        threads["handler"] = threading.get_ident()
        seen["word"] = word
        return "handled"

    router.message.register(handler, named)
    dp = Dispatcher()
    dp.include_router(router)
    assert run_plain_callables_in_place(dp) == 3  # the root filter, the filter, the handler

    bot = Bot("123456:AAAA-inline-callables")  # never asked anything: no request is made
    result = await dp.feed_update(bot, text_update("你好"))
    assert result == "handled"
    assert seen == {"word": "你好"}
    assert threads == {"filter": threading.get_ident(), "handler": threading.get_ident()}
    # The root filter still turns away what it did.
    seen.clear()
    await dp.feed_update(bot, text_update("你好", chat_type="group"))
    assert seen == {}
    assert run_plain_callables_in_place(dp) == 0  # once is enough
    await bot.session.close()
