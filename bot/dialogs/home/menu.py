"""The main menu every user lands on. Its buttons are the features' menu entries the
user's roles admit (bot.registry); a press is checked again, since a hidden button's
callback can still be sent."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.text import Format

from bot.commands import help_text
from bot.formatting import e, node_path
from bot.kit.context import ctx, start_data
from bot.kit.menu import MainMenu
from bot.kit.notice import notice, say
from bot.kit.roles import describe_grants
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from bot.registry import admits


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    # Reloaded: the menu is often opened by the very update that just bound the building.
    user = await c.services.users.get(c.tg_user.id)
    building = ""
    if user is not None and user.building_id is not None:
        node = await c.services.hierarchy.get(user.building_id)
        if node is not None:
            chain = await c.services.hierarchy.ancestors(node)
            building = c.t("menu.building", building=node_path(chain))
    entries = c.features.menu_for(user, c.staffing)
    return {
        "notice": notice(dialog_manager),
        "name": e(c.tg_user.first_name),
        "building": building or c.t("menu.no_building"),
        "roles": describe_grants(c.staffing, c.t),
        "entries": [(entry.id, c.t(entry.label)) for entry in entries],
    }


async def on_entry(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    entry = c.features.menu_entry(item)
    user = await c.services.users.get(c.tg_user.id)
    if entry is None or not admits(entry.audience, user, c.staffing):
        await toast(manager, c.t("common.not_allowed"), alert=True)
        return
    await manager.start(entry.state, data=dict(entry.data or {}))


async def on_start(data: Any, manager: DialogManager) -> None:
    # What brought the person here (a notice sent, a bad link) is said once, like any
    # window's notice: coming back to the menu later does not say it again.
    if text := start_data(manager).get("notice"):
        say(manager, str(text))


async def on_help(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await c.bot.send_message(c.user_id, help_text(c.features, c.staffing, c.t))


def main_menu_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("menu.greeting"),
            Format("{building}"),
            Format("{roles}", when="roles"),
            picker("entry", "entries", on_entry),
            Button(L("menu.help"), id="help", on_click=on_help),
            state=MainMenu.main,
            getter=main_getter,
        ),
        on_start=on_start,
    )
