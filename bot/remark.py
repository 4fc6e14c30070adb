"""Re-marking the buttons of the message a user pressed (a ✅ on their choice).

Nothing is sent when the message already shows those buttons: Telegram refuses an edit
that changes nothing. Telegram answers an edit with the whole edited message; nobody
reads it here, and parsing it into aiogram's ``Message`` was a tenth of a council
ballot's CPU under a burst (bench/vote_burst.py), so it is taken as it comes."""

from __future__ import annotations

from typing import Any

from aiogram.methods import EditMessageReplyMarkup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup


class _EditButtons(EditMessageReplyMarkup):
    __returning__ = Any  # type: ignore[assignment]  # the edited message, unread


async def remark(call: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """The pressed message's buttons become ``markup`` (None: no buttons)."""
    message = call.message
    if message is None or call.bot is None:
        return
    shown = getattr(message, "reply_markup", None)
    if (shown or None) == (markup or None):
        return
    await call.bot(
        _EditButtons(chat_id=call.from_user.id, message_id=message.message_id, reply_markup=markup)
    )
