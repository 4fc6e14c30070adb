"""Admins invite staff with one-time links scoped to a node they administer."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo

from bot.dialogs.staff.common import PAGE_HEIGHT, deny, invite_link
from bot.dialogs.staff.states import StaffInvite
from bot.formatting import e, local_time, node_path
from bot.kit.context import ctx
from bot.kit.menu import to_menu
from bot.kit.roles import role_name
from bot.kit.text import L
from bot.kit.widgets import picker
from storage.hierarchy import Node, NodeKind
from storage.roles import Role
from storage.staff.invites import InviteRepo
from storage.staff.rules import admin_scopes, is_global_admin, may_manage


async def roles_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_admin:
        return {"roles": []}
    return {"roles": [(r.value, role_name(r, c.t)) for r in Role]}


async def on_role(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if not c.staffing.is_admin or item not in Role.__members__.values():
        await deny(manager)
        return
    manager.dialog_data.update(role=item, node_id=None)
    await manager.switch_to(StaffInvite.node)


async def node_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = c.services.hierarchy
    role = Role(dialog_manager.dialog_data["role"])
    node_id = dialog_manager.dialog_data.get("node_id")
    current = await repo.get(node_id) if node_id is not None else None
    if current is None:
        scopes = admin_scopes(c.staffing)
        items = (
            await repo.of_kind(NodeKind.DISTRICT)
            if None in scopes
            else [n for n in scopes if n is not None]
        )
        where = c.t("staff.top_level")
    else:
        items = (
            [] if current.node_kind is NodeKind.BUILDING else list(await repo.children(current.id))
        )
        # Buildings are never a staff scope; stop listing at grids.
        items = [n for n in items if n.node_kind is not NodeKind.BUILDING]
        where = node_path(await repo.ancestors(current))
    fits = current is not None and (role.scope_kind in (None, current.node_kind))
    return {
        "role_name": role_name(role, c.t),
        "where": where,
        "items": [(n.id, n.name) for n in items],
        "can_pick": fits,
        "can_pick_global": role is Role.ADMIN and current is None and is_global_admin(c.staffing),
        "can_go_up": current is not None,
        "hint": c.t("staff.pick_level", level=c.t(f"levels.{role.scope_kind.value}"))
        if role.scope_kind
        else c.t("staff.pick_any_level"),
    }


async def on_node(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    node = await c.services.hierarchy.get(int(item)) if item.isdigit() else None
    if node is None or not may_manage(c.staffing, node):
        await deny(manager)
        return
    manager.dialog_data["node_id"] = node.id


async def on_up(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node_id = manager.dialog_data.get("node_id")
    node = await c.services.hierarchy.get(node_id) if node_id is not None else None
    parent_id = node.parent_id if node else None
    if parent_id is not None and not is_global_admin(c.staffing):
        parent = await c.services.hierarchy.get(parent_id)
        if parent is None or not may_manage(c.staffing, parent):
            parent_id = None
    manager.dialog_data["node_id"] = parent_id


async def _create(manager: DialogManager, node: Node | None) -> None:
    c = ctx(manager)
    role = Role(manager.dialog_data["role"])
    if not may_manage(c.staffing, node) or (
        role.scope_kind and (node is None or node.node_kind is not role.scope_kind)
    ):
        await deny(manager)
        return
    now = c.clock.now()
    invite = await c.services.get(InviteRepo).create(
        role=role, node=node, created_by=c.user_id, now=now
    )
    await c.services.audit.record(
        actor_id=c.user_id,
        action="staff.invite",
        at=now,
        object_type="invite",
        object_id=invite.id,
        role=role.value,
        node_id=node.id if node else None,
    )
    me = await c.bot.me()
    manager.dialog_data.update(
        link=invite_link(me.username or "", invite.token),
        expires=local_time(invite.expires_at, c.settings.zone),
        where=node_path(await c.services.hierarchy.ancestors(node))
        if node
        else c.t("roles.everywhere"),
    )
    await manager.switch_to(StaffInvite.done)


async def on_pick_here(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node_id = manager.dialog_data.get("node_id")
    node = await c.services.hierarchy.get(node_id) if node_id is not None else None
    if node is None:
        await deny(manager)
        return
    await _create(manager, node)


async def on_pick_global(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    if Role(manager.dialog_data["role"]) is not Role.ADMIN:
        await deny(manager)
        return
    await _create(manager, None)


async def done_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    d = dialog_manager.dialog_data
    return {
        "role_name": role_name(Role(d["role"]), c.t),
        "link": e(d["link"]),
        "expires": d["expires"],
        "where": d["where"],
    }


def invite_dialog() -> Dialog:
    return Dialog(
        Window(
            L("staff.choose_role"),
            picker("role", "roles", on_role),
            Button(L("common.back"), id="role_menu", on_click=to_menu),
            state=StaffInvite.role,
            getter=roles_getter,
        ),
        Window(
            L("staff.choose_node"),
            picker("node", "items", on_node, width=2, height=PAGE_HEIGHT),
            Button(L("staff.pick_here"), id="here", on_click=on_pick_here, when="can_pick"),
            Button(
                L("staff.pick_global"), id="global", on_click=on_pick_global, when="can_pick_global"
            ),
            Row(
                Button(L("staff.up"), id="up", on_click=on_up, when="can_go_up"),
                SwitchTo(L("common.back"), id="roles", state=StaffInvite.role),
            ),
            state=StaffInvite.node,
            getter=node_getter,
        ),
        Window(
            L("staff.invite_created"),
            Button(L("common.done"), id="done_menu", on_click=to_menu),
            state=StaffInvite.done,
            getter=done_getter,
        ),
    )
