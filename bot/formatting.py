"""Small helpers that turn stored things into safe HTML for messages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from storage.hierarchy import Node

SEPARATOR = " › "
MESSAGE_LIMIT = 4000  # Telegram allows 4096 visible characters; room for a headline
_TAG = re.compile(r"<[^>]+>")


def e(value: object) -> str:
    """Escape anything user- or admin-supplied before it goes into an HTML message."""
    return escape(str(value), quote=False)


def node_path(nodes: Iterable[Node]) -> str:
    return SEPARATOR.join(e(n.name) for n in nodes)


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def span(delta: timedelta, t: Translator) -> str:
    """A duration as people say it: "2 天 3 小时", "5 小时 20 分钟", "45 分钟"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = t("common.span.days", n=days)
        return text + (" " + t("common.span.hours", n=hours) if hours else "")
    if hours:
        text = t("common.span.hours", n=hours)
        return text + (" " + t("common.span.minutes", n=minutes) if minutes else "")
    return t("common.span.minutes", n=max(1, minutes))


def visible_length(html_text: str) -> int:
    return len(html.unescape(_TAG.sub("", html_text)))


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join HTML blocks (each well under ``limit`` and with balanced tags) into as few
    messages as fit, breaking only between blocks."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        length = visible_length(block) + 1
        if current and size + length > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        current.append(block)
        size += length
    if current:
        messages.append("\n".join(current))
    return messages
