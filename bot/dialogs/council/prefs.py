"""The council's line in /settings: whether the person gets the council's reminders,
agenda and results (residents are subscribed unless they say otherwise; staff always
get them)."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.council.states import CouncilPrefs
from bot.kit.context import ctx
from bot.kit.menu import close
from bot.kit.text import L
from storage.council import CouncilService


async def prefs_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    on = await c.services.get(CouncilService).subscribed(c.user_id)
    return {"on": on, "off": not on}


def _set(on: bool) -> Any:
    """Sets, never flips: a doubled tap changes nothing the first did not."""

    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        await c.services.get(CouncilService).subscribe(c.user_id, on)

    return handler


def prefs_dialog() -> Dialog:
    return Dialog(
        Window(
            L("council.prefs.title_on", when="on"),
            L("council.prefs.title_off", when="off"),
            Button(L("council.prefs.off"), id="cp_off", on_click=_set(False), when="on"),
            Button(L("council.prefs.on"), id="cp_on", on_click=_set(True), when="off"),
            Button(L("council.back"), id="cp_back", on_click=close),
            state=CouncilPrefs.main,
            getter=prefs_getter,
        ),
    )
