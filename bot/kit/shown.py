"""What the bot's recent messages show, as far as this process has seen: each message's
inline keyboard and text (from every request that sent, edited or deleted it, and from
the message a button was pressed on) and, for dialog windows, what the window looked
like.

Telegram refuses an edit that changes nothing ("message is not modified"), e.g.
removing a keyboard that is already gone. Code that edits a message rarely knows what
it shows now (aiogram-dialog strips the previous window's buttons whenever it sends a
new one; a press carries the message as it was when pressed, not after an earlier tap
was handled). So the check is made once, here, for every request the bot makes:

- a keyboard edit that would change nothing is not sent (it succeeds, as nobody needs
  to hear of it);
- a text or caption edit that would change nothing is not sent either, and fails the
  way Telegram would fail it (``TelegramBadRequest``, "message is not modified"), for
  the caller that handles that.

What is not known (a message another process sent, a restart) is sent as asked. A
press carries Telegram's own view of its message: newer than what this process did to
it (another process edited it since), it replaces what is known."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
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
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


def keyboard_of(markup: object) -> str:
    """A keyboard as comparable text; "" for none (an empty inline keyboard is none, and
    a reply keyboard puts no buttons under the message)."""
    if isinstance(markup, InlineKeyboardMarkup) and any(markup.inline_keyboard):
        return markup.model_dump_json(exclude_none=True)
    return ""


def content_of(method: TelegramMethod[Any]) -> str | None:
    """A message's text (or caption) as a request sets it, comparable with the next
    request's; None for what is not compared (media, locations, polls)."""
    if isinstance(method, EditMessageText) or type(method).__name__ == "SendMessage":
        fields = ("text", "parse_mode", "entities", "link_preview_options")
    elif isinstance(method, EditMessageCaption):
        fields = ("caption", "parse_mode", "caption_entities", "show_caption_above_media")
    else:
        return None
    return "text|" + repr([getattr(method, f, None) for f in fields])


@dataclass(frozen=True)
class Screen:
    """A dialog window as last shown in a message, and the media ids it was shown with."""

    fingerprint: str
    media_id: str | None
    media_uniq_id: str | None


@dataclass(frozen=True)
class Known:
    keyboard: str | None  # None: not known
    content: str | None = None  # None: not known
    stamp: int | None = None  # Telegram's date or edit_date of what is known


def _key(chat_id: object, message_id: object) -> Key | None:
    if isinstance(chat_id, int) and isinstance(message_id, int):
        return chat_id, message_id
    return None


def _changes(method: TelegramMethod[Any]) -> bool:
    """Whether the method changes an existing message (edits, stops, deletes; not a
    copy or forward, whose ``message_id`` names the source)."""
    return type(method).__name__.startswith(("Edit", "Stop", "Delete"))


def _stamp(result: Any) -> int | None:
    """When Telegram says the message took this shape (a Message, or the raw dict of
    an edit whose answer is not parsed)."""
    moment: Any
    if isinstance(result, Message):
        moment = result.edit_date or result.date
    elif isinstance(result, dict):
        moment = result.get("edit_date") or result.get("date")
    else:
        return None
    if isinstance(moment, datetime):
        return int(moment.timestamp())
    return int(moment) if isinstance(moment, int) else None


class ShownMessages(BaseRequestMiddleware):
    def __init__(self, size: int = _REMEMBERED) -> None:
        self._size = size
        self._known: OrderedDict[Key, Known] = OrderedDict()
        self._screens: OrderedDict[Key, Screen] = OrderedDict()

    # --- what is known ------------------------------------------------------------------

    def keyboard(self, chat_id: int, message_id: int) -> str | None:
        """The message's keyboard (see ``keyboard_of``); None when not known."""
        known = self._known.get((chat_id, message_id))
        return known.keyboard if known is not None else None

    def screen(self, chat_id: int, message_id: int) -> Screen | None:
        return self._screens.get((chat_id, message_id))

    def remember_screen(self, chat_id: int, message_id: int, screen: Screen) -> None:
        self._put(self._screens, (chat_id, message_id), screen)

    def _put(self, store: OrderedDict[Key, Any], key: Key, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._size:
            store.popitem(last=False)

    def _changed(self, key: Key, known: Known | None) -> None:
        """The message was edited (or deleted): a window remembered for it is no longer
        what it shows (the dialog remembers it again after its own edits)."""
        self._screens.pop(key, None)
        if known is None or (known.keyboard is None and known.content is None):
            self._known.pop(key, None)
        else:
            self._put(self._known, key, known)

    # --- presses ------------------------------------------------------------------------

    async def observe_press(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        """The pressed message as Telegram showed it at the press, unless this process
        changed it since (a double tap's second press carries the buttons the first one
        replaced)."""
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            message = event.message
            key = (message.chat.id, message.message_id)
            known = self._known.get(key)
            stamp = _stamp(message)
            if known is None or known.stamp is None or (stamp or 0) > known.stamp:
                # Newer than what this process knows: another process changed it.
                self._changed(key, Known(keyboard_of(message.reply_markup), None, stamp))
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
        known = self._known.get(key) if key is not None else None
        if known is not None and isinstance(method, _KEYBOARD_EDITS):
            keyboard = keyboard_of(method.reply_markup)
            if isinstance(method, EditMessageReplyMarkup) and known.keyboard in (_GONE, keyboard):
                # What Telegram answers an edit of an inline message; nobody reads it.
                return cast(Response[TelegramType], True)
            content = content_of(method)
            if content is not None and known.content == content and known.keyboard == keyboard:
                raise TelegramBadRequest(method=method, message=NOT_MODIFIED)
        try:
            # aiogram's chain hands on the call's result, not the Response model.
            result: Any = await make_request(bot, method)
        except TelegramBadRequest as error:
            if key is not None:
                self._failed(key, method, error.message)
            raise
        except Exception:
            # No answer (a timeout, a lost connection): it may have been applied.
            if key is not None:
                self._changed(key, None)
            raise
        self._record(key, method, result)
        return cast(Response[TelegramType], result)

    def _failed(self, key: Key, method: TelegramMethod[Any], error: str) -> None:
        known = self._known.get(key)
        if "message is not modified" in error and isinstance(method, EditMessageReplyMarkup):
            base = known or Known(None)
            self._changed(key, replace(base, keyboard=keyboard_of(method.reply_markup)))
        elif "not found" in error:
            self._changed(key, Known(_GONE))
        else:
            self._changed(key, None)

    def _record(self, key: Key | None, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, DeleteMessage):
            if key is not None:
                self._changed(key, Known(_GONE))
            return
        if isinstance(method, DeleteMessages):
            for message_id in method.message_ids:
                gone = _key(method.chat_id, message_id)
                if gone is not None:
                    self._changed(gone, Known(_GONE))
            return
        if _changes(method):
            if key is None:
                return
            if isinstance(method, EditMessageReplyMarkup):
                # The text stays as it was.
                base = self._known.get(key) or Known(None)
                keyboard = keyboard_of(method.reply_markup)
                self._changed(key, replace(base, keyboard=keyboard, stamp=_stamp(result)))
            elif isinstance(method, _KEYBOARD_EDITS):
                keyboard = keyboard_of(method.reply_markup)
                self._changed(key, Known(keyboard, content_of(method), _stamp(result)))
            else:
                # A live location, a poll stopped: what it shows now is not known.
                self._changed(key, None)
            return
        if "reply_markup" not in type(method).model_fields:
            return  # forwards and albums: whatever buttons they carry are not ours to know
        markup = getattr(method, "reply_markup", None)
        if isinstance(result, Message):
            known = Known(keyboard_of(markup), content_of(method), _stamp(result))
            self._changed((result.chat.id, result.message_id), known)
        elif isinstance(method, CopyMessage) and method.reply_markup is not None:
            copied = _key(method.chat_id, getattr(result, "message_id", None))
            if copied is not None:
                self._changed(copied, Known(keyboard_of(method.reply_markup)))
