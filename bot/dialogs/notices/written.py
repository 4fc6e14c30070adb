"""A notice a feature writes by itself (a recruitment call, a council reminder, a vote's
result): plain text whose title reads bold, through the notices engine like any other,
so it is paced, resumable, respects quiet hours and mutes, and lands in the archive."""

from __future__ import annotations

from typing import Any

from bot.dialogs.notices.views import utf16_len
from storage.hierarchy import Node
from storage.notices import AudienceRole, Notice, NoticeService
from storage.notices.service import Content
from storage.services import Services


async def send_text_notice(
    services: Services,
    *,
    author_id: int,
    node: Node,
    roles: list[AudienceRole],
    body: str,
    title: str,
    actions: list[tuple[str, str]] | None = None,
    venue: dict[str, Any] | None = None,
) -> Notice:
    """``title`` must be part of ``body``; ``venue`` (latitude, longitude, title,
    address) goes out as a map pin just before the text."""
    start = body.index(title)
    bold = {"type": "bold", "offset": utf16_len(body[:start]), "length": utf16_len(title)}
    return await services.get(NoticeService).send(
        author_id=author_id,
        node=node,
        roles=roles,
        content=Content(
            chat_id=author_id, message_id=0, media=None, body=body, entities=[bold], venue=venue
        ),
        title=title[:80],
        actions=actions or [],
    )
