"""What the bot's recent messages show, as far as this process has seen: each message's
inline keyboard (from every request that sent, edited or deleted it, and from the
message a button was pressed on) and, for dialog windows, what the window looked like.

Telegram refuses an ``editMessageReplyMarkup`` that sets the keyboard a message already
has ("message is not modified"), e.g. removing a keyboard that is already gone. Code
that edits a keyboard rarely knows the current one (aiogram-dialog strips the previous
window's buttons whenever it sends a new one; a press carries the message as it was
when pressed, not after an earlier tap was handled). So the check is made once, here,
for every request the bot makes: a keyboard edit that would change nothing is not sent.
What is not known (a message another process sent, a restart) is sent as asked."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    CopyMessage,
    DeleteMessage,
    DeleteMessages,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject

Key = tuple[int, int]
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_REMEMBERED = 50_000
_GONE = "\x00deleted"
# Edits that replace the whole keyboard with theirs (none given: no keyboard).
_KEYBOARD_EDITS = (EditMessageText, EditMessageCaption, EditMessageMedia, EditMessageReplyMarkup)


def keyboard_of(markup: object) -> str:
    """A keyboard as comparable text; "" for none (an empty inline keyboard is none, and
    a reply keyboard puts no buttons under the message)."""
    if isinstance(markup, InlineKeyboardMarkup) and any(markup.inline_keyboard):
        return markup.model_dump_json(exclude_none=True)
    return ""


@dataclass(frozen=True)
class Screen:
    """A dialog window as last shown in a message, and the media ids it was shown with."""

    fingerprint: str
    media_id: str | None
    media_uniq_id: str | None


def _key(chat_id: object, message_id: object) -> Key | None:
    if isinstance(chat_id, int) and isinstance(message_id, int):
        return chat_id, message_id
    return None


def _changes(method: TelegramMethod[Any]) -> bool:
    """Whether the method changes an existing message (edits, stops, deletes; not a
    copy or forward, whose ``message_id`` names the source)."""
    return type(method).__name__.startswith(("Edit", "Stop", "Delete"))


class ShownMessages(BaseRequestMiddleware):
    def __init__(self, size: int = _REMEMBERED) -> None:
        self._size = size
        self._keyboards: OrderedDict[Key, str] = OrderedDict()
        self._screens: OrderedDict[Key, Screen] = OrderedDict()

    # --- what is known ------------------------------------------------------------------

    def keyboard(self, chat_id: int, message_id: int) -> str | None:
        """The message's keyboard (see ``keyboard_of``); None when not known."""
        return self._keyboards.get((chat_id, message_id))

    def screen(self, chat_id: int, message_id: int) -> Screen | None:
        return self._screens.get((chat_id, message_id))

    def remember_screen(self, chat_id: int, message_id: int, screen: Screen) -> None:
        self._put(self._screens, (chat_id, message_id), screen)

    def _put(self, store: OrderedDict[Key, Any], key: Key, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._size:
            store.popitem(last=False)

    def _changed(self, key: Key, keyboard: str | None) -> None:
        """The message was edited (or deleted): a window remembered for it is no longer
        what it shows (the dialog remembers it again after its own edits)."""
        self._screens.pop(key, None)
        if keyboard is None:
            self._keyboards.pop(key, None)
        else:
            self._put(self._keyboards, key, keyboard)

    # --- presses ------------------------------------------------------------------------

    async def observe_press(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        """The pressed message as Telegram showed it at the press: what it shows unless
        this process has changed it since (a double tap's second press carries the
        buttons the first one replaced)."""
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            message = event.message
            key = (message.chat.id, message.message_id)
            if key not in self._keyboards:
                self._put(self._keyboards, key, keyboard_of(message.reply_markup))
        return await handler(event, data)

    # --- requests -----------------------------------------------------------------------

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        key = (
            _key(getattr(method, "chat_id", None), getattr(method, "message_id", None))
            if _changes(method)
            else None
        )
        if isinstance(method, EditMessageReplyMarkup) and key is not None:
            known = self._keyboards.get(key)
            if known == _GONE or known == keyboard_of(method.reply_markup):
                # What Telegram answers an edit of an inline message; nobody reads it.
                return cast(Response[TelegramType], True)
        try:
            # aiogram's chain hands on the call's result, not the Response model.
            result: Any = await make_request(bot, method)
        except TelegramBadRequest as error:
            if key is not None:
                self._failed(key, method, error.message)
            raise
        self._record(key, method, result)
        return cast(Response[TelegramType], result)

    def _failed(self, key: Key, method: TelegramMethod[Any], error: str) -> None:
        if "message is not modified" in error and isinstance(method, EditMessageReplyMarkup):
            self._changed(key, keyboard_of(method.reply_markup))
        elif "not found" in error:
            self._changed(key, _GONE)
        else:
            self._changed(key, None)

    def _record(self, key: Key | None, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, DeleteMessage):
            if key is not None:
                self._changed(key, _GONE)
            return
        if isinstance(method, DeleteMessages):
            for message_id in method.message_ids:
                gone = _key(method.chat_id, message_id)
                if gone is not None:
                    self._changed(gone, _GONE)
            return
        if _changes(method):
            # An edit: the four that set the keyboard say which; any other (a live
            # location, a poll stopped) leaves it unknown.
            if key is not None:
                keyboard = (
                    keyboard_of(getattr(method, "reply_markup", None))
                    if isinstance(method, _KEYBOARD_EDITS)
                    else None
                )
                self._changed(key, keyboard)
            return
        if "reply_markup" not in type(method).model_fields:
            return  # forwards and albums: whatever buttons they carry are not ours to know
        if isinstance(result, Message):
            markup = getattr(method, "reply_markup", None)
            self._changed((result.chat.id, result.message_id), keyboard_of(markup))
        elif isinstance(method, CopyMessage) and method.reply_markup is not None:
            copied = _key(method.chat_id, getattr(result, "message_id", None))
            if copied is not None:
                self._changed(copied, keyboard_of(method.reply_markup))
