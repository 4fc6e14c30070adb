"""/privacy: what the bot stores about the user, who sees it, and deleting it."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.commands import apply_chat_commands
from bot.dialogs.privacy.states import Privacy
from bot.formatting import e, local_time, node_path
from bot.kit.context import ctx
from bot.kit.menu import to_menu
from bot.kit.roles import describe_grants
from bot.kit.text import L
from storage.privacy.forget import forget_user
from storage.roles import Staffing


async def overview_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    user = c.user
    if user is None:
        return {"data": c.t("privacy.nothing_stored"), "has_data": False}
    building = "—"
    if user.building_id is not None:
        node = await c.services.hierarchy.get(user.building_id)
        if node is not None:
            building = node_path(await c.services.hierarchy.ancestors(node))
    data = c.t(
        "privacy.stored",
        user_id=user.id,
        name=e(user.display_name),
        username=e("@" + user.username) if user.username else "—",
        language=c.t(f"language.name_{user.language}") if user.language else c.t("language.auto"),
        phone=e(user.phone) if user.phone else "—",
        building=building,
        consent=local_time(user.consent_at, c.zone),
        roles=describe_grants(c.staffing, c.t) or "—",
    )
    # Every kind of row a feature's forget hook would delete or unlink (registry
    # ``held``), each named where the person has any.
    held = []
    for kept in c.features.held():
        n = await kept.count(c.session, user.id)
        if n:
            held.append(c.t(kept.label, n=n))
    return {"data": "\n".join([data, *held]), "has_data": True}


async def on_delete(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if c.user is not None:
        await forget_user(c.session, c.user.id, c.features.forget_hooks())
        await c.services.audit.record(
            actor_id=c.user.id,
            action="user.delete_data",
            at=c.clock.now(),
            object_type="user",
            object_id=c.user.id,
        )
    await apply_chat_commands(c.bot, c.features, c.user_id, Staffing(c.user_id), c.t.language)
    await manager.done()
    if isinstance(call.message, Message):
        await call.message.edit_text(c.t("privacy.deleted"))


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
                Button(L("common.back"), id="back", on_click=to_menu),
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
