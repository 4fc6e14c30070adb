"""Where a desk page's action lives in the chat: the bot's own chat (a t.me link when
the bot's username is known) and the command to send there."""

from __future__ import annotations

from dataclasses import dataclass

from web.desk.session import Desk


@dataclass(frozen=True)
class ChatLink:
    command: str  # "/notices"
    href: str | None  # https://t.me/<bot>, or None when the username is not configured


def chat_link(desk: Desk, command: str) -> ChatLink:
    username = desk.app.settings.bot_username
    return ChatLink("/" + command, f"https://t.me/{username}" if username else None)
