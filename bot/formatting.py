"""Small helpers that turn stored things into safe HTML for messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from storage.hierarchy import Node

SEPARATOR = " › "


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
