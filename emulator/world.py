"""The emulated Telegram world: users, private chats, their messages and bot settings."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]

# getUpdates without allowed_updates delivers everything except these.
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


@dataclass
class EmulatedUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class EmulatedGroup:
    """A channel or (super)group the bot may post to; its members are not modelled."""

    id: int
    title: str
    kind: str = "channel"  # "channel" or "supergroup"
    bot_member: bool = True
    bot_can_post: bool = True

    def chat_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.kind, "title": self.title}


@dataclass
class StoredMessage:
    """One message as the user currently sees it; ``raw`` is the Bot API Message dict."""

    chat_id: int
    from_bot: bool
    raw: dict[str, Any]
    html: str | None = None
    parse_mode: str | None = None
    sent_reply_markup: dict[str, Any] | None = None

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def date(self) -> int:
        return int(self.raw["date"])

    @property
    def text(self) -> str | None:
        return self.raw.get("text")

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.raw.get("reply_markup")

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        return self.raw.get("photo")

    @property
    def voice(self) -> dict[str, Any] | None:
        return self.raw.get("voice")

    @property
    def document(self) -> dict[str, Any] | None:
        return self.raw.get("document")

    @property
    def location(self) -> dict[str, Any] | None:
        return self.raw.get("location")

    @property
    def contact(self) -> dict[str, Any] | None:
        return self.raw.get("contact")

    @property
    def media_group_id(self) -> str | None:
        return self.raw.get("media_group_id")

    @property
    def edited(self) -> bool:
        return "edit_date" in self.raw

    def inline_buttons(self) -> list[list[tuple[str, str | None]]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data") or b.get("url")) for b in row] for row in rows]

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)


@dataclass
class CallbackRecord:
    id: str
    chat_id: int
    message_id: int
    data: str | None
    answered: bool = False


@dataclass
class ChatState:
    user: EmulatedUser
    messages: list[StoredMessage] = field(default_factory=list)
    next_message_id: int = 1
    opened: bool = False
    reply_keyboard: dict[str, Any] | None = None
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    menu_button: dict[str, Any] | None = None
    group: EmulatedGroup | None = None

    def chat_dict(self) -> dict[str, Any]:
        return self.group.chat_dict() if self.group else self.user.chat_dict()

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def find(self, message_id: int) -> StoredMessage | None:
        for message in self.messages:
            if message.message_id == message_id:
                return message
        return None


class UpdateQueue:
    """getUpdates semantics: updates stay until a later call confirms them via ``offset``."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.allowed_updates: list[str] = []
        self.poll_generation = 0
        self.closing = False

    def next_id(self) -> int:
        return next(self._ids)

    def push(self, update: dict[str, Any]) -> None:
        self._pending.append(update)
        self.wake()

    def wake(self) -> None:
        # Swap in a fresh Event so every current waiter wakes exactly once.
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def drop_all(self) -> None:
        self._pending.clear()

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_UPDATES

    def take(self, limit: int) -> list[dict[str, Any]]:
        # Updates the bot opted out of are never delivered, so forget them.
        self._pending = [u for u in self._pending if self._allowed(u)]
        return [copy.deepcopy(u) for u in self._pending[:limit]]

    async def wait(self, seconds: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


class World:
    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot_user = bot_user
        self.chats: dict[int, ChatState] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.updates = UpdateQueue()
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.webhook: dict[str, Any] = {"url": ""}
        self._listeners: list[EventCallback] = []

    # --- events -------------------------------------------------------------------------

    def on_event(self, callback: EventCallback) -> None:
        self._listeners.append(callback)

    def emit(self, event: dict[str, Any]) -> None:
        event.setdefault("at", time.time())
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken listener must not break the Bot API
                log.exception("emulator event listener failed")

    # --- chats and messages -------------------------------------------------------------

    def chat_state(self, chat_id: int) -> ChatState:
        state = self.chats.get(chat_id)
        if state is None:
            raise KeyError(chat_id)
        return state

    def add_message(
        self,
        chat: ChatState,
        from_bot: bool,
        content: dict[str, Any],
        *,
        html: str | None = None,
        parse_mode: str | None = None,
        sent_reply_markup: dict[str, Any] | None = None,
    ) -> StoredMessage:
        raw: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": dict(self.bot_user) if from_bot else chat.user.to_dict(),
            "chat": chat.chat_dict(),
            "date": int(time.time()),
            **content,
        }
        if chat.group is not None and chat.group.kind == "channel":
            # A channel post is signed by the channel, not by the bot that wrote it.
            del raw["from"]
            raw["sender_chat"] = chat.group.chat_dict()
        message = StoredMessage(chat.user.id, from_bot, raw, html, parse_mode, sent_reply_markup)
        chat.messages.append(message)
        self.emit(
            {
                "type": "message",
                "chat_id": chat.user.id,
                "from_bot": from_bot,
                "message": message.snapshot(),
            }
        )
        return message

    def replace_content(
        self, message: StoredMessage, content: dict[str, Any], *, keep: tuple[str, ...] = ()
    ) -> None:
        fixed = ("message_id", "from", "chat", "date", *keep)
        base: dict[str, Any] = {k: message.raw[k] for k in fixed if k in message.raw}
        message.raw = {**base, **content, "edit_date": int(time.time())}
        self.emit({"type": "edit", "chat_id": message.chat_id, "message": message.snapshot()})

    def delete_message(self, chat: ChatState, message: StoredMessage) -> None:
        chat.messages.remove(message)
        self.emit({"type": "delete", "chat_id": chat.user.id, "message_id": message.message_id})

    def commands_for(self, chat: ChatState) -> list[dict[str, str]]:
        lang = (chat.user.language_code or "")[:2].lower()
        codes = (lang, "") if lang else ("",)
        for scope in (f"chat:{chat.user.id}", "all_private_chats", "default"):
            for code in codes:
                found = self.commands.get((scope, code))
                if found:
                    return [dict(c) for c in found]
        return []
