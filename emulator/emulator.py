"""The public facade: a Bot API server plus the users who talk to the bot."""

from __future__ import annotations

import html
import secrets
import time
from typing import Any

from .errors import EmulatorUsageError
from .files import sample_ogg, sample_png
from .formatting import detect_entities
from .limits import Limits, Monotonic
from .methods import photo_sizes
from .server import BotApiServer
from .views import ChatView
from .world import CallbackRecord, ChatState, EmulatedGroup, EmulatedUser, StoredMessage

UserRef = EmulatedUser | int


class BotAPIEmulator(BotApiServer):
    """A fake Telegram: the bot talks HTTP to it, tests act as users through methods.

    Every ``send_*``/``press*`` call records the user's action in the chat, builds the
    Update dict Telegram would deliver, queues it for getUpdates unless ``queue=False``
    (when the caller feeds it to the Dispatcher itself) and returns it.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "gridbot_test_bot",
        bot_name: str = "GridBot",
        *,
        strict_html: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        super().__init__(
            token,
            bot_username,
            bot_name,
            strict_html=strict_html,
            host=host,
            port=port,
            limits=limits,
            monotonic=monotonic,
        )
        self.users: dict[int, EmulatedUser] = {}

    # --- users and chats ----------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
    ) -> EmulatedUser:
        user = EmulatedUser(user_id, first_name, last_name, username, language_code, phone)
        self.users[user_id] = user
        state = self.world.chats.get(user_id)
        if state is None:
            self.world.chats[user_id] = ChatState(user)
        else:
            state.user = user
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        kind: str = "channel",
        bot_member: bool = True,
        bot_can_post: bool = True,
    ) -> EmulatedGroup:
        """A channel or supergroup (negative id) the bot was added to, or not
        (``bot_member=False``): sending there then fails as Telegram's does."""
        if chat_id >= 0:
            raise EmulatorUsageError("group and channel ids are negative")
        if kind not in ("channel", "supergroup"):
            raise EmulatorUsageError("kind is 'channel' or 'supergroup'")
        group = EmulatedGroup(chat_id, title, kind, bot_member, bot_can_post)
        state = self.world.chats.get(chat_id)
        if state is None:
            # The state's user stands for nobody: only the bot writes in a modelled group.
            self.world.chats[chat_id] = ChatState(EmulatedUser(chat_id, title), group=group)
        else:
            state.group = group
        return group

    def group_chat(self, chat_id: int) -> ChatView:
        state = self.world.chats.get(chat_id)
        if state is None or state.group is None:
            raise EmulatorUsageError(f"unknown group {chat_id}; call add_group first")
        return ChatView(self.world, state)

    def user(self, user: UserRef) -> EmulatedUser:
        user_id = user if isinstance(user, int) else user.id
        try:
            return self.users[user_id]
        except KeyError:
            raise EmulatorUsageError(f"unknown user {user_id}; call add_user first") from None

    def chat(self, chat_id: UserRef) -> ChatView:
        return ChatView(self.world, self._state(chat_id))

    def _state(self, user: UserRef) -> ChatState:
        return self.world.chats[self.user(user).id]

    def enqueue(self, update: dict[str, Any]) -> None:
        """Queue a hand-built update for getUpdates."""
        self.world.updates.push(update)

    # --- user actions -------------------------------------------------------------------

    def _user_message(
        self, user: UserRef, content: dict[str, Any], queue: bool, html_text: str | None = None
    ) -> dict[str, Any]:
        state = self._state(user)
        # A private chat exists for the bot once the user wrote; writing also unblocks it.
        state.opened = True
        self._blocked.discard(state.user.id)
        message = self.world.add_message(state, False, content, html=html_text)
        return self._deliver({"message": message.snapshot()}, queue)

    def _deliver(self, payload: dict[str, Any], queue: bool) -> dict[str, Any]:
        update = {"update_id": self.world.updates.next_id(), **payload}
        if queue:
            self.world.updates.push(update)
        return update

    def send_text(self, user: UserRef, text: str, *, queue: bool = True) -> dict[str, Any]:
        if not text.strip():
            raise EmulatorUsageError("Telegram clients cannot send an empty message")
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user, content, queue, html.escape(text, quote=False))

    def send_command(
        self, user: UserRef, command: str, args: str | None = None, *, queue: bool = True
    ) -> dict[str, Any]:
        text = "/" + command.removeprefix("/")
        if args:
            text += " " + args
        return self.send_text(user, text, queue=queue)

    def send_contact(
        self, user: UserRef, phone: str | None = None, *, queue: bool = True
    ) -> dict[str, Any]:
        person = self.user(user)
        number = phone or person.phone
        if not number:
            raise EmulatorUsageError(f"user {person.id} has no phone; pass phone=")
        contact: dict[str, Any] = {
            "phone_number": number,
            "first_name": person.first_name,
            "user_id": person.id,
        }
        if person.last_name:
            contact["last_name"] = person.last_name
        return self._user_message(user, {"contact": contact}, queue)

    def share_users(
        self,
        user: UserRef,
        request_id: int,
        shared: list[UserRef],
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        """The user picks people with a reply keyboard's ``request_users`` button: the
        client sends ``users_shared`` only for a button the bot really showed (same
        ``request_id``), and at most its ``max_quantity`` people, with their names when
        the button asked for them (``request_name``)."""
        state = self._state(user)
        button = None
        for message in reversed(state.messages):
            markup = message.sent_reply_markup if message.from_bot else None
            rows = (markup or {}).get("keyboard") or []
            found = [
                b.get("request_users")
                for row in rows
                for b in row
                if isinstance(b, dict)
                and (b.get("request_users") or {}).get("request_id") == request_id
            ]
            if found:
                button = found[0]
                break
        if button is None:
            raise EmulatorUsageError(f"no request_users button with request_id {request_id}")
        if len(shared) > int(button.get("max_quantity", 1)):
            raise EmulatorUsageError("more users than the button's max_quantity")
        people = []
        for ref in shared:
            person = self.user(ref)
            entry: dict[str, Any] = {"user_id": person.id}
            if button.get("request_name"):
                entry["first_name"] = person.first_name
                if person.last_name:
                    entry["last_name"] = person.last_name
            people.append(entry)
        content = {"users_shared": {"request_id": request_id, "users": people}}
        return self._user_message(user, content, queue)

    def share_chat(
        self, user: UserRef, request_id: int, chat_id: int, *, queue: bool = True
    ) -> dict[str, Any]:
        """The user picks a channel or group with a ``request_chat`` button the bot really
        showed; the client only offers chats of the kind the button asked for."""
        state = self._state(user)
        button = None
        for message in reversed(state.messages):
            markup = message.sent_reply_markup if message.from_bot else None
            rows = (markup or {}).get("keyboard") or []
            found = [
                b.get("request_chat")
                for row in rows
                for b in row
                if isinstance(b, dict)
                and (b.get("request_chat") or {}).get("request_id") == request_id
            ]
            if found:
                button = found[0]
                break
        if button is None:
            raise EmulatorUsageError(f"no request_chat button with request_id {request_id}")
        target = self.world.chats.get(chat_id)
        group = target.group if target else None
        if group is None:
            raise EmulatorUsageError(f"unknown group {chat_id}; call add_group first")
        if bool(button.get("chat_is_channel")) != (group.kind == "channel"):
            raise EmulatorUsageError("the button asks for another kind of chat")
        if button.get("bot_is_member") and not group.bot_member:
            raise EmulatorUsageError("the button offers only chats the bot is in")
        rights = button.get("bot_administrator_rights") or {}
        if rights.get("can_post_messages") and not (group.bot_member and group.bot_can_post):
            raise EmulatorUsageError("the button offers only chats where the bot may post")
        shared: dict[str, Any] = {"request_id": request_id, "chat_id": chat_id}
        if button.get("request_title"):
            shared["title"] = group.title
        return self._user_message(user, {"chat_shared": shared}, queue)

    def send_location(
        self, user: UserRef, latitude: float, longitude: float, *, queue: bool = True
    ) -> dict[str, Any]:
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._user_message(user, {"location": location}, queue)

    def send_photo(
        self,
        user: UserRef,
        image_bytes: bytes | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        stored = self.files.add("photo", image_bytes or sample_png(), "photo.png")
        content: dict[str, Any] = {"photo": photo_sizes(stored)}
        if caption:
            content["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                content["caption_entities"] = entities
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self._user_message(user, content, queue, caption)

    def send_voice(
        self,
        user: UserRef,
        ogg_bytes: bytes | None = None,
        duration: int = 3,
        *,
        queue: bool = True,
    ) -> dict[str, Any]:
        stored = self.files.add("voice", ogg_bytes or sample_ogg(duration), None, "audio/ogg")
        stored.duration = duration
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self._user_message(user, {"voice": voice}, queue)

    def send_document(
        self,
        user: UserRef,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        queue: bool = True,
    ) -> dict[str, Any]:
        stored = self.files.add("document", data, filename, mime_type)
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "file_size": stored.size,
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content, queue, caption)

    def delete_own_message(self, user: UserRef, message_id: int) -> None:
        """The user deletes one of their own messages, for everyone: the bot is not told
        (Telegram sends no update for it), and it can no longer be copied or forwarded."""
        state = self._state(user)
        message = state.find(message_id)
        if message is None or message.from_bot:
            raise EmulatorUsageError(f"no message {message_id} of the user in chat {state.user.id}")
        self.world.delete_message(state, message)

    def delete_bot_message(self, user: UserRef, message_id: int) -> None:
        """The user deletes a message of the bot from their private chat (Telegram lets
        them, for both sides). The bot is not told; a press that was already on its way
        then reaches the bot with the message inaccessible."""
        state = self._state(user)
        message = state.find(message_id)
        if message is None or not message.from_bot:
            raise EmulatorUsageError(f"no bot message {message_id} in chat {state.user.id}")
        self.world.delete_message(state, message)

    # --- buttons ------------------------------------------------------------------------

    def press(
        self, user: UserRef, message_id: int, callback_data: str, *, queue: bool = True
    ) -> dict[str, Any]:
        """Press a callback button that really is on the bot's message right now."""
        state = self._state(user)
        message = state.find(message_id)
        if message is None or not message.from_bot:
            raise EmulatorUsageError(
                f"no bot message {message_id} in chat {state.user.id}:\n"
                + ChatView(self.world, state).transcript()
            )
        if not _has_callback(message, callback_data):
            raise EmulatorUsageError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"buttons: {message.inline_buttons()}"
            )
        return self._callback(state, message_id, callback_data, queue)

    def press_forged(
        self, user: UserRef, message_id: int, callback_data: str, *, queue: bool = True
    ) -> dict[str, Any]:
        """A callback the client could not produce honestly: stale, deleted or forged."""
        return self._callback(self._state(user), message_id, callback_data, queue)

    def press_button(self, user: UserRef, text: str, *, queue: bool = True) -> dict[str, Any]:
        """Press the button labelled ``text`` (exact, else unique substring) on the newest
        bot message that has such a button."""
        state = self._state(user)
        for message in reversed(state.messages):
            if not message.from_bot:
                continue
            buttons = [
                b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row
            ]
            exact = [b for b in buttons if b["text"] == text]
            partial = [b for b in buttons if text in b["text"]]
            if len(partial) > 1 and not exact:
                labels = [b["text"] for b in partial]
                raise EmulatorUsageError(f"{text!r} is ambiguous on message: {labels}")
            chosen = (exact or partial or [None])[0]
            if chosen is None:
                continue
            if "callback_data" not in chosen:
                raise EmulatorUsageError(f"button {chosen['text']!r} is not a callback button")
            return self._callback(state, message.message_id, chosen["callback_data"], queue)
        raise EmulatorUsageError(
            f"no inline button {text!r} in chat {state.user.id}:\n"
            + ChatView(self.world, state).transcript()
        )

    def _callback(
        self, state: ChatState, message_id: int, data: str, queue: bool
    ) -> dict[str, Any]:
        state.opened = True
        message = state.find(message_id)
        if message is not None:
            payload = message.snapshot()
        else:
            # What Telegram sends for messages the bot can no longer access.
            payload = {"message_id": message_id, "chat": state.user.chat_dict(), "date": 0}
        callback_id = str(secrets.randbits(62))
        self.world.callbacks[callback_id] = CallbackRecord(
            callback_id, state.user.id, message_id, data
        )
        query = {
            "id": callback_id,
            "from": state.user.to_dict(),
            "message": payload,
            "chat_instance": str(state.user.id * 2654435761 % 10**18),
            "data": data,
        }
        return self._deliver({"callback_query": query}, queue)


def _has_callback(message: StoredMessage, data: str) -> bool:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return any(button.get("callback_data") == data for row in rows for button in row)
