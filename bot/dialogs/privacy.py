"""/privacy: what the bot stores about the user, who sees it, and deleting it."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.common import L, ctx
from bot.dialogs.states import MainMenu, Privacy
from bot.formatting import e, local_time, node_path
from bot.roles import apply_chat_commands, describe_grants
from storage.appeals import AppealService
from storage.audit import AuditRepo
from storage.hierarchy import HierarchyRepo
from storage.staff import Staffing
from storage.users import UserRepo


async def overview_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    user = c.user
    if user is None:
        return {"data": c.t("privacy.nothing_stored"), "has_data": False}
    building = "—"
    if user.building_id is not None:
        node = await HierarchyRepo(c.session).get(user.building_id)
        if node is not None:
            building = node_path(await HierarchyRepo(c.session).ancestors(node))
    data = c.t(
        "privacy.stored",
        user_id=user.id,
        name=e(user.display_name),
        username=e("@" + user.username) if user.username else "—",
        language=c.t(f"language.name_{user.language}") if user.language else c.t("language.auto"),
        phone=e(user.phone) if user.phone else "—",
        building=building,
        consent=local_time(user.consent_at, c.settings.zone),
        roles=describe_grants(c.staffing, c.t) or "—",
        appeals=(
            await AppealService(c.session, c.policy, c.clock.now()).of_resident(user.id, limit=1)
        )[1],
    )
    return {"data": data, "has_data": True}


async def on_delete(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if c.user is not None:
        now = c.clock.now()
        await UserRepo(c.session).delete(c.user.id)
        await AuditRepo(c.session).record(
            actor_id=c.user.id,
            action="user.delete_data",
            at=now,
            object_type="user",
            object_id=c.user.id,
        )
        await c.session.commit()
    await apply_chat_commands(c.bot, c.user_id, Staffing(c.user_id), c.t.language)
    await manager.done()
    if isinstance(call.message, Message):
        await call.message.edit_text(c.t("privacy.deleted"))


async def on_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


def privacy_dialog() -> Dialog:
    return Dialog(
        Window(
            L("privacy.title"),
            Format("{data}"),
            L("privacy.notice_short"),
            Row(
                SwitchTo(
                    L("privacy.delete"), id="delete", state=Privacy.confirm_delete, when="has_data"
                ),
                Button(L("common.back"), id="back", on_click=on_back),
            ),
            state=Privacy.overview,
            getter=overview_getter,
        ),
        Window(
            L("privacy.confirm_delete"),
            Row(
                Button(L("privacy.delete_yes"), id="yes", on_click=on_delete),
                SwitchTo(L("common.cancel"), id="no", state=Privacy.overview),
            ),
            state=Privacy.confirm_delete,
        ),
    )
