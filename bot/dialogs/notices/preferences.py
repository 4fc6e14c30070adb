"""/settings: a person turns ordinary notices off or on and sets their quiet hours, when
non-urgent notices wait until morning. Urgent notices always arrive."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.notices.states import NoticePrefs
from bot.kit.choice import CHOSEN
from bot.kit.context import ctx
from bot.kit.menu import menu_button
from bot.kit.text import L
from bot.kit.widgets import picker
from storage.notices.quiet import choice_of, choose

STARTS = (20, 21, 22, 23)  # hours quiet time may start at
ENDS = (6, 7, 8, 9)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def prefs_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    choice = await choice_of(c.session, c.user_id)
    mark = CHOSEN
    return {
        "state": c.t("notice.prefs.muted" if choice.muted else "notice.prefs.enabled"),
        "quiet": c.t(
            "notice.prefs.quiet_on" if choice.quiet else "notice.prefs.quiet_off",
            start=_hhmm(choice.quiet_from),
            end=_hhmm(choice.quiet_to),
        ),
        "muted": choice.muted,
        "on": not choice.muted,
        "quiet_off": not choice.quiet,
        "starts": [
            (
                h,
                (mark if choice.quiet_from == h * 60 else "")
                + c.t("notice.prefs.from", at=f"{h}:00"),
            )
            for h in STARTS
        ],
        "ends": [
            (h, (mark if choice.quiet_to == h * 60 else "") + c.t("notice.prefs.to", at=f"{h}:00"))
            for h in ENDS
        ],
        "quiet_on": choice.quiet,
        "views": [(v.id, c.t(v.label)) for v in c.features.settings_views_for(c.user, c.staffing)],
    }


def _set(**changes: object) -> Any:
    """A button that sets a value rather than flipping it: a double tap changes nothing
    the first tap did not."""

    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        await choose(c.session, c.user_id, **changes)

    return handler


async def on_start(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if item.isdigit() and int(item) in STARTS:  # anything else is a forged press
        c = ctx(manager)
        await choose(c.session, c.user_id, quiet_from=int(item) * 60)


async def on_end(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if item.isdigit() and int(item) in ENDS:
        c = ctx(manager)
        await choose(c.session, c.user_id, quiet_to=int(item) * 60)


async def on_view(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    """Another feature's line in /settings (bot.registry ``settings_views``)."""
    c = ctx(manager)
    entry = next(
        (v for v in c.features.settings_views_for(c.user, c.staffing) if v.id == item_id), None
    )
    if entry is not None:
        await manager.start(entry.state)


def preferences_dialog() -> Dialog:
    return Dialog(
        Window(
            L("notice.prefs.title"),
            Button(L("notice.prefs.mute"), id="mute", on_click=_set(muted=True), when="on"),
            Button(L("notice.prefs.unmute"), id="unmute", on_click=_set(muted=False), when="muted"),
            Button(
                L("notice.prefs.quiet_disable"),
                id="quiet_off",
                on_click=_set(quiet=False),
                when="quiet_on",
            ),
            Button(
                L("notice.prefs.quiet_enable"),
                id="quiet_on",
                on_click=_set(quiet=True),
                when="quiet_off",
            ),
            picker("start", "starts", on_start, width=4, when="quiet_on"),
            picker("end", "ends", on_end, width=4, when="quiet_on"),
            picker("feature_settings", "views", on_view),
            menu_button(widget_id="prefs_menu"),
            state=NoticePrefs.main,
            getter=prefs_getter,
        ),
    )
