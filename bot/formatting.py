"""Small helpers that turn stored things into safe HTML for messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

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
