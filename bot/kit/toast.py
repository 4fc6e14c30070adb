"""Callback answers with text from inside dialogs.

aiogram-dialog answers every callback query after the handler ran; Telegram rejects a
second answer to the same query, so a query answered here is remembered briefly and the
dialog's own empty answer is skipped (kit.messages)."""

from __future__ import annotations

from collections import OrderedDict

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager

_REMEMBERED = 10_000
_answered: OrderedDict[str, None] = OrderedDict()


def remember_answered(query_id: str) -> None:
    _answered[query_id] = None
    while len(_answered) > _REMEMBERED:
        _answered.popitem(last=False)


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
