"""How dialog windows reach the chat: aiogram-dialog's message manager, made to send
nothing Telegram would refuse.

- A window whose text, buttons and media did not change is not edited again (aiogram-
  dialog edits whenever a window has buttons, and Telegram answers "message is not
  modified"): what each message last showed is remembered briefly.
- A callback query is answered once: a handler that already showed a toast (kit.toast)
  stops the dialog's own empty answer."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from aiogram import Bot
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram_dialog import ShowMode
from aiogram_dialog.api.entities import NewMessage, OldMessage
from aiogram_dialog.manager.message_manager import MessageManager

from bot.kit.toast import already_answered

_REMEMBERED = 20_000


def fingerprint(message: NewMessage) -> str:
    parts = [message.text or "", str(message.parse_mode)]
    markup = message.reply_markup
    if isinstance(markup, InlineKeyboardMarkup):
        parts.append(markup.model_dump_json(exclude_none=True))
    elif markup is not None:
        # Reply keyboards cannot be compared with what the chat shows: always send.
        return ""
    media = message.media
    if media is not None:
        parts.append(f"{media.type}|{media.file_id}|{media.url}|{media.path}")
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()


class ScreenMessageManager(MessageManager):
    def __init__(self) -> None:
        self._shown: OrderedDict[tuple[int, int], str] = OrderedDict()

    def _remember(self, chat_id: int, message_id: int, value: str) -> None:
        key = (chat_id, message_id)
        self._shown[key] = value
        self._shown.move_to_end(key)
        while len(self._shown) > _REMEMBERED:
            self._shown.popitem(last=False)

    def forget(self, chat_id: int, message_id: int) -> None:
        """The message was changed outside the dialog: the next render must edit it."""
        self._shown.pop((chat_id, message_id), None)

    async def show_message(
        self, bot: Bot, new_message: NewMessage, old_message: OldMessage | None
    ) -> OldMessage:
        print_ = fingerprint(new_message)
        if (
            old_message is not None
            and print_
            and new_message.show_mode in (ShowMode.AUTO, ShowMode.EDIT)
            and self._shown.get((old_message.chat.id, old_message.message_id)) == print_
        ):
            return old_message
        shown = await super().show_message(bot, new_message, old_message)
        if print_:
            self._remember(shown.chat.id, shown.message_id, print_)
        return shown

    async def answer_callback(self, bot: Bot, callback_query: CallbackQuery) -> None:
        if already_answered(callback_query.id):
            return
        await super().answer_callback(bot, callback_query)
