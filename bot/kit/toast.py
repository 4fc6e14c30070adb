"""Callback answers with text from inside dialogs.

aiogram-dialog answers every callback query after the handler ran; Telegram rejects a
second answer to the same query, so a query answered here is remembered briefly and the
dialog's own empty answer is skipped (kit.messages). Every answer the bot sends, from
anywhere, is remembered the same way (``AnsweredQueries`` on the bot's session), so the
error handler knows when its apology has to be a message instead."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager

_REMEMBERED = 10_000
_answered: OrderedDict[str, None] = OrderedDict()


def remember_answered(query_id: str) -> None:
    _answered[query_id] = None
    while len(_answered) > _REMEMBERED:
        _answered.popitem(last=False)


def answered(query_id: str) -> bool:
    """Whether the query was answered (Telegram takes one answer per query)."""
    return query_id in _answered


def already_answered(query_id: str) -> bool:
    """True once for a query answered by ``toast``."""
    if query_id in _answered:
        _answered.pop(query_id, None)
        return True
    return False


async def toast(manager: DialogManager, text: str, *, alert: bool = False) -> None:
    if isinstance(manager.event, CallbackQuery):
        remember_answered(manager.event.id)
        await manager.event.answer(text, show_alert=alert)


class AnsweredQueries(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        result: Any = await make_request(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            remember_answered(method.callback_query_id)
        return result  # type: ignore[no-any-return]
