"""Admins list the staff of the nodes they administer, and revoke roles (after a
confirmation; the person is told) and unused invites.

Every getter and every press asks the domain's rule (storage.staff.rules) itself: a
resident or an admin of another node who sends a hidden or old button's data sees
nothing of anyone and changes nothing."""

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
from bot.formatting import SEPARATOR, e, local_time, node_path
from bot.kit.context import Ctx, ctx
from bot.kit.menu import to_menu
from bot.kit.roles import role_name
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.hierarchy import Node
from storage.outbox import Lane
from storage.roles import Role, RoleAssignment
from storage.staff.invites import InviteRepo
from storage.staff.rules import admin_scopes, may_manage
from storage.users import User


async def _names(c: Ctx, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = (await c.session.execute(select(User).where(User.id.in_(user_ids)))).scalars().all()
    return {u.id: u.display_name for u in rows}


async def short_place(c: Ctx, node: Node | None) -> str:
    """Where a role sits, in words that tell two 第一网格 apart: "通海社区 › 第一网格"."""
    if node is None:
        return c.t("roles.everywhere")
    chain = await c.services.hierarchy.ancestors(node)
    return SEPARATOR.join(n.name for n in chain[-2:])


async def _assignment(c: Ctx, manager: DialogManager) -> RoleAssignment | None:
    """The chosen assignment, if the user may manage it; None otherwise."""
    raw = manager.dialog_data.get("assignment_id")
    if raw is None:
        return None
    a = await c.services.staff.get_assignment(int(raw))
    if a is None or not may_manage(c.staffing, a.node):
        return None
    return a


async def staff_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_admin:
        return {"items": [], "count": 0, "allowed": False, "refused": c.t("common.not_allowed")}
    repo = c.services.staff
    scopes = admin_scopes(c.staffing)
    if None in scopes:
        rows = list(await repo.active_assignments())
    else:
        rows = []
        for root in (n for n in scopes if n is not None):
            rows.extend(await repo.active_assignments(within=root))
    names = await _names(c, [r.user_id for r in rows])
    items = []
    for r in rows:
        label = " · ".join(
            [
                names.get(r.user_id, str(r.user_id)),
                role_name(Role(r.role), c.t),
                await short_place(c, r.node),
            ]
        )
        items.append((r.id, label))
    return {"items": items, "count": len(items), "allowed": True, "refused": ""}


async def on_member(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    manager.dialog_data["assignment_id"] = int(item) if item.isdigit() else None
    if await _assignment(c, manager) is None:
        manager.dialog_data.pop("assignment_id", None)
        await deny(manager)
        return
    await manager.switch_to(StaffAdmin.member)


async def member_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    a = await _assignment(c, dialog_manager)
    if a is None:
        return {"details": c.t("common.not_allowed"), "active": False}
    names = await _names(c, [a.user_id])
    where = (
        node_path(await c.services.hierarchy.ancestors(a.node))
        if a.node
        else c.t("roles.everywhere")
    )
    return {
        "details": c.t(
            "staff.member",
            name=e(names.get(a.user_id, str(a.user_id))),
            user_id=a.user_id,
            role=role_name(Role(a.role), c.t),
            where=where,
            since=local_time(a.created_at, c.settings.zone),
        ),
        "active": a.revoked_at is None,
    }


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    a = await _assignment(c, dialog_manager)
    if a is None:
        return {"question": c.t("common.not_allowed"), "active": False}
    names = await _names(c, [a.user_id])
    return {
        "question": c.t(
            "staff.revoke_confirm",
            name=e(names.get(a.user_id, str(a.user_id))),
            role=role_name(Role(a.role), c.t),
            where=e(await short_place(c, a.node)),
        ),
        "active": a.revoked_at is None,
    }


async def on_revoke_asked(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if await _assignment(c, manager) is None:
        await deny(manager)
        return
    await manager.switch_to(StaffAdmin.confirm_revoke)


async def on_revoke(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    a = await _assignment(c, manager)
    if a is None:
        await deny(manager)
        return
    repo = c.services.staff
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
        # The person hears it from the bot, not by finding buttons gone.
        c.services.outbox.add(
            [a.user_id],
            "staff.revoked",
            now=now,
            lane=Lane.STATUS,
            subject_id=a.id,
        )
        staffing = await repo.staffing(a.user_id, config_admins=c.settings.admin_ids)
        target = await c.session.get(User, a.user_id)
        language = (target.language if target else None) or c.t.language
        await apply_chat_commands(c.bot, c.features, a.user_id, staffing, language)
    await toast(manager, c.t("staff.revoked"))
    await manager.switch_to(StaffAdmin.staff)


async def invites_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_admin:
        return {"items": [], "count": 0}
    invites = await c.services.get(InviteRepo).open(c.clock.now())
    visible = [i for i in invites if may_manage(c.staffing, i.node)]
    items = [
        (
            i.id,
            f"{role_name(Role(i.role), c.t)} · {await short_place(c, i.node)} · "
            f"{local_time(i.expires_at, c.settings.zone)}",
        )
        for i in visible
    ]
    return {"items": items, "count": len(items)}


async def on_invite(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    invite = await c.services.get(InviteRepo).get(int(item)) if item.isdigit() else None
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
            L("staff.list_title", when="allowed"),
            Format("{refused}", when="refused"),
            picker("m", "items", on_member, height=PAGE_HEIGHT),
            Row(
                SwitchTo(
                    L("staff.open_invites"), id="invites", state=StaffAdmin.invites, when="allowed"
                ),
                Button(L("common.back"), id="menu", on_click=to_menu),
            ),
            state=StaffAdmin.staff,
            getter=staff_getter,
        ),
        Window(
            Format("{details}"),
            Row(
                Button(L("staff.revoke"), id="revoke", on_click=on_revoke_asked, when="active"),
                SwitchTo(L("common.back"), id="member_list", state=StaffAdmin.staff),
            ),
            state=StaffAdmin.member,
            getter=member_getter,
        ),
        Window(
            Format("{question}"),
            Row(
                Button(L("staff.revoke_yes"), id="revoke_yes", on_click=on_revoke, when="active"),
                SwitchTo(L("common.cancel"), id="revoke_no", state=StaffAdmin.member),
            ),
            state=StaffAdmin.confirm_revoke,
            getter=confirm_getter,
        ),
        Window(
            L("staff.invites_title"),
            picker("i", "items", on_invite, height=PAGE_HEIGHT, label="✖ {item[1]}"),
            SwitchTo(L("common.back"), id="invites_list", state=StaffAdmin.staff),
            state=StaffAdmin.invites,
            getter=invites_getter,
        ),
    )
