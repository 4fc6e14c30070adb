"""Widgets every feature's dialogs use the same way: a picker over (id, label) items and a
paged list over a paged query (aiogram-dialog's StubScroll keeps the page; the getter's
query returns just that page and how many there are; "‹ previous / next ›" move it, shown
only where there is somewhere to go: a grid worker's 400 households make too many pages
for a button per page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.common import ManagedScroll, WhenCondition
from aiogram_dialog.widgets.kbd import (
    Column,
    CurrentPage,
    Group,
    Keyboard,
    NextPage,
    PrevPage,
    Row,
    ScrollingGroup,
    Select,
    StubScroll,
)
from aiogram_dialog.widgets.text import Format

from bot.kit.text import L

OnPick = Any  # aiogram-dialog's OnItemClick: (callback, widget, manager, item_id)


def picker(
    widget_id: str,
    items: str,
    on_click: OnPick,
    *,
    width: int = 1,
    height: int | None = None,
    when: WhenCondition = None,
    label: str = "{item[1]}",
) -> Keyboard:
    """Buttons for ``items`` (a getter key of (id, label) pairs), ``width`` per row;
    with ``height``, scrolled in pages of that many rows."""
    select: Select[Any] = Select(
        Format(label), id=widget_id, item_id_getter=itemgetter(0), items=items, on_click=on_click
    )
    if height is not None:
        scroll_id = f"{widget_id}_pages"
        # aiogram-dialog's own pager reads "1 < 1 > 2"; ours says where one is.
        return Group(
            ScrollingGroup(select, id=scroll_id, width=width, height=height, hide_pager=True),
            Row(
                PrevPage(
                    scroll=scroll_id,
                    id=f"{scroll_id}_prev",
                    text=L("common.prev_page"),
                    when=_has_prev,
                ),
                CurrentPage(
                    scroll=scroll_id, id=f"{scroll_id}_at", text=L("common.page_of"), when=_several
                ),
                NextPage(
                    scroll=scroll_id,
                    id=f"{scroll_id}_next",
                    text=L("common.next_page"),
                    when=_has_next,
                ),
            ),
            when=when,
        )
    if width == 1:
        return Column(select, when=when)
    return Group(select, width=width, when=when)


def _has_prev(data: dict[str, Any], _: Any, __: DialogManager) -> bool:
    return bool(data["current_page"] > 0)


def _has_next(data: dict[str, Any], _: Any, __: DialogManager) -> bool:
    return bool(data["current_page"] + 1 < data["pages"])


def _several(data: dict[str, Any], _: Any, __: DialogManager) -> bool:
    return bool(data["pages"] > 1)


def pager(
    scroll_id: str, prev: str = "common.prev_page", next_: str = "common.next_page"
) -> list[Keyboard]:
    """The page buttons of a paged list; the getter returns ``pages`` (how many)."""
    return [
        StubScroll(id=scroll_id, pages="pages"),
        Row(
            PrevPage(scroll=scroll_id, id=f"{scroll_id}_prev", text=L(prev), when=_has_prev),
            NextPage(scroll=scroll_id, id=f"{scroll_id}_next", text=L(next_), when=_has_next),
        ),
    ]


def scroll(manager: DialogManager, scroll_id: str) -> ManagedScroll:
    found = manager.find(scroll_id)
    assert isinstance(found, ManagedScroll), scroll_id
    return found


async def current_page(manager: DialogManager, scroll_id: str) -> int:
    return await scroll(manager, scroll_id).get_page()


def page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


T = TypeVar("T")
Fetch = Callable[[int, int], Awaitable[tuple[Sequence[T], int]]]


async def fetch_page(
    manager: DialogManager, scroll_id: str, page_size: int, fetch: Fetch[T]
) -> tuple[Sequence[T], int]:
    """The rows of the current page and how many rows there are in all. ``fetch(offset,
    limit)`` runs the paged query; when the list shrank meanwhile the last page that
    still has rows is shown."""
    page = await current_page(manager, scroll_id)
    rows, total = await fetch(page * page_size, page_size)
    last = page_count(total, page_size) - 1
    if page > last:
        await scroll(manager, scroll_id).set_page(last)
        rows, total = await fetch(last * page_size, page_size)
    return rows, total
