"""Admins list the staff of the nodes they administer, and revoke roles and unused
invites."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.commands import apply_chat_commands
from bot.dialogs.staff.common import PAGE_HEIGHT, deny
from bot.dialogs.staff.states import StaffAdmin
from bot.formatting import e, local_time, node_path
from bot.kit.context import Ctx, ctx
from bot.kit.menu import to_menu
from bot.kit.roles import role_name
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.hierarchy import Node
from storage.roles import Role
from storage.staff.invites import InviteRepo
from storage.staff.rules import admin_scopes, may_manage
from storage.users import User


async def _names(c: Ctx, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = (await c.session.execute(select(User).where(User.id.in_(user_ids)))).scalars().all()
    return {u.id: u.display_name for u in rows}


def _scope_root(c: Ctx) -> tuple[bool, list[Node]]:
    scopes = admin_scopes(c.staffing)
    return None in scopes, [n for n in scopes if n is not None]


async def staff_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = c.services.staff
    everywhere, roots = _scope_root(c)
    if everywhere:
        rows = list(await repo.active_assignments())
    else:
        rows = []
        for root in roots:
            rows.extend(await repo.active_assignments(within=root))
    names = await _names(c, [r.user_id for r in rows])
    items = [
        (
            r.id,
            f"{names.get(r.user_id, r.user_id)} · {role_name(Role(r.role), c.t)} · "
            f"{r.node.name if r.node else c.t('roles.everywhere')}",
        )
        for r in rows
    ]
    return {"items": items, "count": len(items)}


async def on_member(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    manager.dialog_data["assignment_id"] = int(item)
    await manager.switch_to(StaffAdmin.member)


async def member_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    a = await c.services.staff.get_assignment(int(dialog_manager.dialog_data["assignment_id"]))
    if a is None:
        return {"details": c.t("common.stale_button"), "active": False}
    names = await _names(c, [a.user_id])
    where = (
        node_path(await c.services.hierarchy.ancestors(a.node))
        if a.node
        else c.t("roles.everywhere")
    )
    return {
        "details": c.t(
            "staff.member",
            name=e(names.get(a.user_id, a.user_id)),
            user_id=a.user_id,
            role=role_name(Role(a.role), c.t),
            where=where,
            since=local_time(a.created_at, c.settings.zone),
        ),
        "active": a.revoked_at is None,
    }


async def on_revoke(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    repo = c.services.staff
    a = await repo.get_assignment(int(manager.dialog_data["assignment_id"]))
    if a is None or not may_manage(c.staffing, a.node):
        await deny(manager)
        return
    now = c.clock.now()
    if await repo.revoke(a, by=c.user_id, now=now):
        await c.services.audit.record(
            actor_id=c.user_id,
            action="staff.revoke",
            at=now,
            object_type="role_assignment",
            object_id=a.id,
            user_id=a.user_id,
            role=a.role,
            node_id=a.node_id,
        )
        staffing = await repo.staffing(a.user_id, config_admins=c.settings.admin_ids)
        target = await c.session.get(User, a.user_id)
        language = (target.language if target else None) or c.t.language
        await apply_chat_commands(c.bot, c.features, a.user_id, staffing, language)
    await toast(manager, c.t("staff.revoked"))
    await manager.switch_to(StaffAdmin.staff)


async def invites_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    invites = await c.services.get(InviteRepo).open(c.clock.now())
    visible = [i for i in invites if may_manage(c.staffing, i.node)]
    items = [
        (
            i.id,
            f"{role_name(Role(i.role), c.t)} · "
            f"{i.node.name if i.node else c.t('roles.everywhere')} · "
            f"{local_time(i.expires_at, c.settings.zone)}",
        )
        for i in visible
    ]
    return {"items": items, "count": len(items)}


async def on_invite(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    invite = await c.services.get(InviteRepo).get(int(item))
    if invite is None or not may_manage(c.staffing, invite.node):
        await deny(manager)
        return
    now = c.clock.now()
    if await c.services.get(InviteRepo).revoke(invite, now):
        await c.services.audit.record(
            actor_id=c.user_id,
            action="staff.revoke_invite",
            at=now,
            object_type="invite",
            object_id=invite.id,
        )
        await toast(manager, c.t("staff.invite_revoked"))
    else:
        await toast(manager, c.t("staff.invite_gone"), alert=True)


def staff_dialog() -> Dialog:
    return Dialog(
        Window(
            L("staff.list_title"),
            picker("m", "items", on_member, height=PAGE_HEIGHT),
            Row(
                SwitchTo(L("staff.open_invites"), id="invites", state=StaffAdmin.invites),
                Button(L("common.back"), id="menu", on_click=to_menu),
            ),
            state=StaffAdmin.staff,
            getter=staff_getter,
        ),
        Window(
            Format("{details}"),
            Row(
                Button(L("staff.revoke"), id="revoke", on_click=on_revoke, when="active"),
                SwitchTo(L("common.back"), id="member_list", state=StaffAdmin.staff),
            ),
            state=StaffAdmin.member,
            getter=member_getter,
        ),
        Window(
            L("staff.invites_title"),
            picker("i", "items", on_invite, height=PAGE_HEIGHT, label="✖ {item[1]}"),
            SwitchTo(L("common.back"), id="invites_list", state=StaffAdmin.staff),
            state=StaffAdmin.invites,
            getter=invites_getter,
        ),
    )
