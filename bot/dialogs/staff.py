"""Admins invite staff with one-time links scoped to a node, list them and revoke them."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Column, Row, ScrollingGroup, Select, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.common import Ctx, L, ctx
from bot.dialogs.states import MainMenu, StaffAdmin, StaffInvite
from bot.dialogs.toast import toast
from bot.formatting import e, local_time, node_path
from bot.roles import apply_chat_commands, role_name
from storage.audit import AuditRepo
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.staff import Role, StaffRepo
from storage.users import User

PAGE_HEIGHT = 8


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start=i_{token}"


def _admin_scopes(c: Ctx) -> list[Node | None]:
    return c.staffing.scopes([Role.ADMIN])


def _is_global_admin(c: Ctx) -> bool:
    return None in _admin_scopes(c)


def _may_manage(c: Ctx, node: Node | None) -> bool:
    if _is_global_admin(c):
        return True
    return node is not None and c.staffing.covers(node, [Role.ADMIN])


async def _deny(manager: DialogManager) -> None:
    c = ctx(manager)
    await toast(manager, c.t("common.not_allowed"), alert=True)
    await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


async def _to_menu(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


# --- invite -------------------------------------------------------------------------------


async def roles_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    return {"roles": [(r.value, role_name(r, c.t)) for r in Role]}


async def on_role(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if not c.staffing.is_admin or item not in Role.__members__.values():
        await _deny(manager)
        return
    manager.dialog_data.update(role=item, node_id=None)
    await manager.switch_to(StaffInvite.node)


async def node_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = HierarchyRepo(c.session)
    role = Role(dialog_manager.dialog_data["role"])
    node_id = dialog_manager.dialog_data.get("node_id")
    current = await repo.get(node_id) if node_id is not None else None
    if current is None:
        scopes = _admin_scopes(c)
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
        "can_pick_global": role is Role.ADMIN and current is None and _is_global_admin(c),
        "can_go_up": current is not None,
        "hint": c.t("staff.pick_level", level=c.t(f"levels.{role.scope_kind.value}"))
        if role.scope_kind
        else c.t("staff.pick_any_level"),
    }


async def on_node(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    node = await HierarchyRepo(c.session).get(int(item)) if item.isdigit() else None
    if node is None or not _may_manage(c, node):
        await _deny(manager)
        return
    manager.dialog_data["node_id"] = node.id


async def on_up(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node_id = manager.dialog_data.get("node_id")
    node = await HierarchyRepo(c.session).get(node_id) if node_id is not None else None
    parent_id = node.parent_id if node else None
    if parent_id is not None and not _is_global_admin(c):
        parent = await HierarchyRepo(c.session).get(parent_id)
        if parent is None or not _may_manage(c, parent):
            parent_id = None
    manager.dialog_data["node_id"] = parent_id


async def _create(manager: DialogManager, node: Node | None) -> None:
    c = ctx(manager)
    role = Role(manager.dialog_data["role"])
    if not _may_manage(c, node) or (
        role.scope_kind and (node is None or node.node_kind is not role.scope_kind)
    ):
        await _deny(manager)
        return
    now = c.clock.now()
    invite = await StaffRepo(c.session).create_invite(
        role=role, node=node, created_by=c.user_id, now=now
    )
    await AuditRepo(c.session).record(
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
        where=node_path(await HierarchyRepo(c.session).ancestors(node))
        if node
        else c.t("roles.everywhere"),
    )
    await manager.switch_to(StaffInvite.done)


async def on_pick_here(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node_id = manager.dialog_data.get("node_id")
    node = await HierarchyRepo(c.session).get(node_id) if node_id is not None else None
    if node is None:
        await _deny(manager)
        return
    await _create(manager, node)


async def on_pick_global(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    if Role(manager.dialog_data["role"]) is not Role.ADMIN:
        await _deny(manager)
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
            Column(
                Select(
                    Format("{item[1]}"),
                    id="role",
                    item_id_getter=lambda x: x[0],
                    items="roles",
                    on_click=on_role,
                )
            ),
            Button(L("common.back"), id="menu", on_click=_to_menu),
            state=StaffInvite.role,
            getter=roles_getter,
        ),
        Window(
            L("staff.choose_node"),
            ScrollingGroup(
                Select(
                    Format("{item[1]}"),
                    id="node",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_node,
                ),
                id="nodes",
                width=2,
                height=PAGE_HEIGHT,
                hide_on_single_page=True,
            ),
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
            Button(L("common.done"), id="menu", on_click=_to_menu),
            state=StaffInvite.done,
            getter=done_getter,
        ),
    )


# --- staff list and revocation -----------------------------------------------------------


async def _names(c: Ctx, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = (await c.session.execute(select(User).where(User.id.in_(user_ids)))).scalars().all()
    return {u.id: u.display_name for u in rows}


def _scope_root(c: Ctx) -> tuple[bool, list[Node]]:
    scopes = _admin_scopes(c)
    return None in scopes, [n for n in scopes if n is not None]


async def staff_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = StaffRepo(c.session)
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
    a = await StaffRepo(c.session).get_assignment(int(dialog_manager.dialog_data["assignment_id"]))
    if a is None:
        return {"details": c.t("common.stale_button"), "active": False}
    names = await _names(c, [a.user_id])
    where = (
        node_path(await HierarchyRepo(c.session).ancestors(a.node))
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
    repo = StaffRepo(c.session)
    a = await repo.get_assignment(int(manager.dialog_data["assignment_id"]))
    if a is None or not _may_manage(c, a.node):
        await _deny(manager)
        return
    now = c.clock.now()
    if await repo.revoke(a, by=c.user_id, now=now):
        await AuditRepo(c.session).record(
            actor_id=c.user_id,
            action="staff.revoke",
            at=now,
            object_type="role_assignment",
            object_id=a.id,
            user_id=a.user_id,
            role=a.role,
            node_id=a.node_id,
        )
        await c.session.commit()
        staffing = await repo.staffing(a.user_id, config_admins=c.settings.admin_ids)
        target = await c.session.get(User, a.user_id)
        await apply_chat_commands(
            c.bot, a.user_id, staffing, target.language or c.t.language if target else c.t.language
        )
    await toast(manager, c.t("staff.revoked"))
    await manager.switch_to(StaffAdmin.staff)


async def invites_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    invites = await StaffRepo(c.session).open_invites(c.clock.now())
    visible = [i for i in invites if _may_manage(c, i.node)]
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
    invite = await StaffRepo(c.session).get_invite(int(item))
    if invite is None or not _may_manage(c, invite.node):
        await _deny(manager)
        return
    now = c.clock.now()
    if await StaffRepo(c.session).revoke_invite(invite, now):
        await AuditRepo(c.session).record(
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
            ScrollingGroup(
                Select(
                    Format("{item[1]}"),
                    id="m",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_member,
                ),
                id="members",
                width=1,
                height=PAGE_HEIGHT,
                hide_on_single_page=True,
            ),
            Row(
                SwitchTo(L("staff.open_invites"), id="invites", state=StaffAdmin.invites),
                Button(L("common.back"), id="menu", on_click=_to_menu),
            ),
            state=StaffAdmin.staff,
            getter=staff_getter,
        ),
        Window(
            Format("{details}"),
            Row(
                Button(L("staff.revoke"), id="revoke", on_click=on_revoke, when="active"),
                SwitchTo(L("common.back"), id="list", state=StaffAdmin.staff),
            ),
            state=StaffAdmin.member,
            getter=member_getter,
        ),
        Window(
            L("staff.invites_title"),
            ScrollingGroup(
                Select(
                    Format("✖ {item[1]}"),
                    id="i",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_invite,
                ),
                id="inv",
                width=1,
                height=PAGE_HEIGHT,
                hide_on_single_page=True,
            ),
            SwitchTo(L("common.back"), id="list", state=StaffAdmin.staff),
            state=StaffAdmin.invites,
            getter=invites_getter,
        ),
    )
