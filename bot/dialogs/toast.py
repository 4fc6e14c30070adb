"""Callback answers with text from inside dialogs.

aiogram-dialog answers every callback query after the handler ran; Telegram rejects a
second answer to the same query, so a handler that already showed a toast must stop the
dialog's own empty answer. The ids of queries answered here are remembered briefly."""

from __future__ import annotations

from collections import OrderedDict

from aiogram import Bot
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager
from aiogram_dialog.manager.message_manager import MessageManager

_REMEMBERED = 10_000
_answered: OrderedDict[str, None] = OrderedDict()


def _remember(query_id: str) -> None:
    _answered[query_id] = None
    while len(_answered) > _REMEMBERED:
        _answered.popitem(last=False)


async def toast(manager: DialogManager, text: str, *, alert: bool = False) -> None:
    if isinstance(manager.event, CallbackQuery):
        _remember(manager.event.id)
        await manager.event.answer(text, show_alert=alert)


class AnswerOnceMessageManager(MessageManager):
    async def answer_callback(self, bot: Bot, callback_query: CallbackQuery) -> None:
        if callback_query.id in _answered:
            _answered.pop(callback_query.id, None)
            return
        await super().answer_callback(bot, callback_query)
