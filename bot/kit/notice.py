"""The one-line notice a window shows after an input ("photo added", "too long…"): set by
a handler, shown once by the next render of the window that asks for ``notice``."""

from __future__ import annotations

from typing import Any

from aiogram_dialog import DialogManager


def notice(manager: DialogManager) -> str:
    return str(manager.dialog_data.get("notice") or "")


def say(manager: DialogManager, *parts: str) -> None:
    manager.dialog_data["notice"] = "\n".join(p for p in parts if p)


def clear_notice(manager: DialogManager) -> None:
    manager.dialog_data.pop("notice", None)


def take_notice(manager: DialogManager) -> str:
    """The notice, once: the next render no longer shows it."""
    return str(manager.dialog_data.pop("notice", "") or "")


async def notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}
