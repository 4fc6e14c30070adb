"""Read-only views of a chat, as the user on the other side would see it."""

from __future__ import annotations

from typing import Any

from .world import ChatState, EmulatedUser, StoredMessage, World


class ChatView:
    """Live view: every property reflects the current state, not a snapshot."""

    def __init__(self, world: World, state: ChatState) -> None:
        self._world = world
        self._state = state

    @property
    def id(self) -> int:
        return self._state.user.id

    @property
    def user(self) -> EmulatedUser:
        return self._state.user

    @property
    def messages(self) -> list[StoredMessage]:
        return list(self._state.messages)

    @property
    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self._state.messages if m.from_bot]

    @property
    def user_messages(self) -> list[StoredMessage]:
        return [m for m in self._state.messages if not m.from_bot]

    @property
    def last_bot_message(self) -> StoredMessage | None:
        bot_messages = self.bot_messages
        return bot_messages[-1] if bot_messages else None

    def find(self, message_id: int) -> StoredMessage | None:
        return self._state.find(message_id)

    def inline_buttons(
        self, msg: StoredMessage | None = None
    ) -> list[list[tuple[str, str | None]]]:
        target = msg if msg is not None else self.last_bot_message
        return target.inline_buttons() if target is not None else []

    @property
    def reply_keyboard(self) -> list[list[dict[str, Any]]] | None:
        markup = self._state.reply_keyboard
        if markup is None:
            return None
        return [[dict(button) for button in row] for row in markup["keyboard"]]

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        return list(self._state.callback_answers)

    @property
    def commands(self) -> list[dict[str, str]]:
        return self._world.commands_for(self._state)

    @property
    def menu_button(self) -> dict[str, Any]:
        return self._state.menu_button or dict(self._world.default_menu_button)

    def transcript(self) -> str:
        """Human-readable dump for assertion messages."""
        lines = []
        for m in self._state.messages:
            who = "bot" if m.from_bot else "user"
            body = m.text if m.text is not None else m.caption or _kind(m)
            buttons = " | ".join(t for row in m.inline_buttons() for t, _ in row)
            lines.append(f"[{m.message_id}] {who}: {body}" + (f"  [{buttons}]" if buttons else ""))
        return "\n".join(lines)


def _kind(message: StoredMessage) -> str:
    for key in ("photo", "voice", "document", "location", "contact", "video", "audio"):
        if key in message.raw:
            return f"<{key}>"
    return "<message>"
