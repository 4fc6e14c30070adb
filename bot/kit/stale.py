"""A press on a dialog message that is no longer the dialog's live screen (double taps,
old messages scrolled up) changes nothing: the user is told, and the live screen and any
form in progress stay as they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import CallbackQuery, TelegramObject
from aiogram_dialog.api.internal import STACK_KEY
from aiogram_dialog.utils import CB_SEP

from bot.i18n import Translator

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def stale_press_guard(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    if isinstance(event, CallbackQuery) and event.data and CB_SEP in event.data:
        stack = data.get(STACK_KEY)
        live = getattr(stack, "last_message_id", None)
        pressed = event.message.message_id if event.message is not None else None
        if live is not None and pressed is not None and pressed != live:
            t: Translator = data["t"]
            await event.answer(t("common.stale_button"))
            return None
    return await handler(event, data)
