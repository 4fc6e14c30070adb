"""The one-line notice a window shows after an input ("photo added", "too long…"): set by
a handler, shown by the render that answers that input, whatever window it shows.

A notice belongs to the screen that answers the action it is about: it is stamped with
the update that said it, and a later update (the person pressed or sent something else:
going back, opening another item, another screen of the same dialog) no longer shows it
and forgets it. Renders within the update that said it (a handler that says and then
switches, one that starts a sub-dialog that returns at once) all show it. aiogram-
dialog's own background updates (no person acted) leave it as it is."""

from __future__ import annotations

from typing import Any

from aiogram_dialog import DialogManager

_TEXT = "notice"
_SAID_IN = "notice_said_in"


def _update_id(manager: DialogManager) -> int | None:
    """The update being handled; None for aiogram-dialog's background updates (their id
    is 0) and outside an update."""
    update = manager.middleware_data.get("event_update")
    update_id = getattr(update, "update_id", None)
    return int(update_id) if update_id else None


def notice(manager: DialogManager) -> str:
    data = manager.dialog_data
    text = data.get(_TEXT)
    if not text:
        return ""
    said_in, now = data.get(_SAID_IN), _update_id(manager)
    if said_in is not None and now is not None and said_in != now:
        # Said in answer to an earlier action: the screen it was about has been left.
        clear_notice(manager)
        return ""
    return str(text)


def say(manager: DialogManager, *parts: str) -> None:
    manager.dialog_data[_TEXT] = "\n".join(p for p in parts if p)
    manager.dialog_data[_SAID_IN] = _update_id(manager)


def clear_notice(manager: DialogManager) -> None:
    manager.dialog_data.pop(_TEXT, None)
    manager.dialog_data.pop(_SAID_IN, None)


def take_notice(manager: DialogManager) -> str:
    """The notice, once: the next render no longer shows it."""
    text = notice(manager)
    clear_notice(manager)
    return text


async def notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}
