"""The main menu every user lands on; what it offers depends on the user's roles."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Column, Start
from aiogram_dialog.widgets.text import Format

from bot.dialogs.common import L, ctx, start_data
from bot.dialogs.states import (
    FileAppeal,
    MainMenu,
    MyAppeals,
    Onboarding,
    Privacy,
    StaffAdmin,
    StaffInvite,
    Stats,
    Tasks,
    UrgentCall,
)
from bot.formatting import e, node_path
from bot.roles import describe_grants
from storage.hierarchy import HierarchyRepo
from storage.users import UserRepo


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    # Reloaded: the menu is often opened by the very update that just bound the building.
    user = await UserRepo(c.session).get(c.tg_user.id)
    building = ""
    if user is not None and user.building_id is not None:
        node = await HierarchyRepo(c.session).get(user.building_id)
        if node is not None:
            building = c.t(
                "menu.building", building=node_path(await HierarchyRepo(c.session).ancestors(node))
            )
    notice = start_data(dialog_manager).get("notice", "")
    return {
        "notice": notice,
        "name": e(c.tg_user.first_name),
        "building": building or c.t("menu.no_building"),
        "roles": describe_grants(c.staffing, c.t),
        "is_admin": c.staffing.is_admin,
        "is_staff": c.staffing.is_staff,
        "is_resident": user is not None and user.building_id is not None,
    }


async def on_help(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    from bot.roles import help_text

    c = ctx(manager)
    if call.message is not None:
        await call.message.answer(help_text(c.staffing, c.t))


def main_menu_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("menu.greeting"),
            Format("{building}"),
            Format("{roles}", when="roles"),
            Column(
                Start(
                    L("menu.file_appeal"), id="file", state=FileAppeal.category, when="is_resident"
                ),
                Start(L("menu.urgent"), id="urgent", state=UrgentCall.confirm, when="is_resident"),
                Start(L("menu.my_appeals"), id="mine", state=MyAppeals.list, when="is_resident"),
                Start(L("menu.tasks"), id="tasks", state=Tasks.list, when="is_staff"),
                Start(L("menu.stats"), id="stats", state=Stats.overview, when="is_staff"),
                Start(
                    L("menu.change_building"),
                    id="building",
                    state=Onboarding.community,
                    data={"mode": "change"},
                ),
                Start(L("menu.privacy"), id="privacy", state=Privacy.overview),
                Start(L("menu.invite"), id="invite", state=StaffInvite.role, when="is_admin"),
                Start(L("menu.staff"), id="staff", state=StaffAdmin.staff, when="is_admin"),
                Button(L("menu.help"), id="help", on_click=on_help),
            ),
            state=MainMenu.main,
            getter=main_getter,
        ),
    )
