"""Resident onboarding: privacy consent, then a building from the QR deep link or picked
community → grid → building from paged menus. Also used to change one's building."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format

from bot.dialogs.onboarding.states import Onboarding
from bot.formatting import e, node_path
from bot.kit.context import ctx, start_data
from bot.kit.menu import MainMenu, open_menu
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.hierarchy import NodeKind
from storage.onboarding.residents import ConsentMissing, bind

PAGE_HEIGHT = 8


async def consent_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    building_id = dialog_manager.dialog_data.get("building_id") or start_data(dialog_manager).get(
        "building_id"
    )
    where = ""
    if building_id is not None:
        building = await c.services.hierarchy.get(int(building_id))
        if building is not None:
            chain = await c.services.hierarchy.ancestors(building)
            where = c.t("onboarding.scanned", building=node_path(chain))
    bad_link = bool(start_data(dialog_manager).get("bad_link"))
    return {"where": where, "bad_link": c.t("onboarding.bad_link") if bad_link else ""}


async def on_consent(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["consented"] = True
    building_id = manager.dialog_data.get("building_id") or start_data(manager).get("building_id")
    if building_id is not None:
        await _bind(manager, int(building_id))
        return
    await manager.switch_to(Onboarding.community)


async def on_decline(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await manager.done()
    if call.message is not None:
        await call.message.answer(c.t("onboarding.declined"))


async def switch_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = c.services.hierarchy
    new = await repo.get(int(start_data(dialog_manager)["building_id"]))
    old = await repo.get(c.user.building_id) if c.user and c.user.building_id else None
    return {
        "new_building": node_path(await repo.ancestors(new)) if new else "—",
        "old_building": node_path(await repo.ancestors(old)) if old else "—",
    }


async def on_switch(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _bind(manager, int(start_data(manager)["building_id"]))


async def on_keep(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await open_menu(manager)


async def communities_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    repo = c.services.hierarchy
    streets = {s.id: s for s in await repo.of_kind(NodeKind.STREET)}
    items = [
        (
            n.id,
            c.t("common.in_parens", what=n.name, where=streets[n.parent_id].name)
            if n.parent_id in streets
            else n.name,
        )
        for n in await repo.of_kind(NodeKind.COMMUNITY)
    ]
    return {"items": items, "empty": c.t("onboarding.none_yet") if not items else ""}


def _children_getter(key: str) -> Any:
    async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
        c = ctx(dialog_manager)
        repo = c.services.hierarchy
        parent = await repo.get(int(dialog_manager.dialog_data[key]))
        children = await repo.children(parent.id) if parent else []
        return {
            "items": [(n.id, n.name) for n in children],
            "parent": e(parent.name) if parent else "—",
            "empty": c.t("onboarding.none_here") if not children else "",
        }

    return getter


async def on_community(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not await _is_child(manager, item, NodeKind.COMMUNITY, parent_id=None):
        return
    manager.dialog_data["community_id"] = int(item)
    await manager.switch_to(Onboarding.grid)


async def on_grid(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not await _is_child(manager, item, NodeKind.GRID, manager.dialog_data.get("community_id")):
        return
    manager.dialog_data["grid_id"] = int(item)
    await manager.switch_to(Onboarding.building)


async def _is_child(
    manager: DialogManager, item: str, kind: NodeKind, parent_id: int | None
) -> bool:
    """Ids come back from buttons; only accept the kind of node the window listed."""
    c = ctx(manager)
    node = await c.services.hierarchy.get(int(item)) if item.isdigit() else None
    ok = (
        node is not None
        and node.node_kind is kind
        and (parent_id is None or node.parent_id == parent_id)
    )
    if not ok:
        await toast(manager, c.t("common.stale_button"), alert=True)
    return ok


async def on_building(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not await _is_child(manager, item, NodeKind.BUILDING, manager.dialog_data.get("grid_id")):
        return
    await _bind(manager, int(item))


async def _bind(manager: DialogManager, building_id: int) -> None:
    c = ctx(manager)
    repo = c.services.hierarchy
    building = await repo.get(building_id)
    if building is None or building.node_kind is not NodeKind.BUILDING:
        await manager.switch_to(Onboarding.community)
        return
    users = c.services.users
    now = c.clock.now()
    user = c.user or await users.touch(
        user_id=c.tg_user.id,
        first_name=c.tg_user.first_name,
        last_name=c.tg_user.last_name,
        username=c.tg_user.username,
        telegram_language=c.tg_user.language_code,
        now=now,
    )
    previous = user.building_id
    try:
        await bind(
            c.session, user, building, now, consenting=bool(manager.dialog_data.get("consented"))
        )
    except ConsentMissing:
        # Never bound without the notice: show it, and bind this building once agreed.
        manager.dialog_data["building_id"] = building.id
        await manager.switch_to(Onboarding.consent)
        return
    if previous is not None and previous != building.id:
        await c.services.audit.record(
            actor_id=user.id,
            action="resident.change_building",
            at=now,
            object_type="user",
            object_id=user.id,
            old=previous,
            new=building.id,
        )
    chain = await repo.ancestors(building)
    await manager.start(
        MainMenu.main,
        mode=StartMode.RESET_STACK,
        show_mode=ShowMode.EDIT,
        data={"notice": c.t("onboarding.bound", building=node_path(chain))},
    )


def _picker(state: Any, key: str, getter: Any, on_click: Any, back: bool) -> Window:
    name = state.state.split(":")[-1]
    buttons: list[Any] = [Button(L("common.cancel"), id=f"{name}_cancel", on_click=_cancel)]
    if back:
        buttons.insert(0, Button(L("common.back"), id=f"{name}_back", on_click=_back))
    return Window(
        L(key),
        Format("{empty}"),
        picker(name, "items", on_click, width=2, height=PAGE_HEIGHT),
        Row(*buttons),
        state=state,
        getter=getter,
    )


async def _back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    order = [Onboarding.community, Onboarding.grid, Onboarding.building]
    current = manager.current_context().state
    if current in order and order.index(current) > 0:
        await manager.switch_to(order[order.index(current) - 1])


async def _cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if c.user is not None and c.user.building_id is not None:
        await open_menu(manager)
        return
    await manager.done()
    if call.message is not None:
        await call.message.answer(c.t("onboarding.cancelled"))


async def on_start(data: Any, manager: DialogManager) -> None:
    """Whatever opened it (the menu, /building, a link), someone who has not agreed to
    the privacy notice sees it first."""
    c = ctx(manager)
    consented = c.user is not None and c.user.has_consented
    if not consented and manager.current_context().state != Onboarding.consent:
        await manager.switch_to(Onboarding.consent)


def onboarding_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{bad_link}"),
            L("privacy.notice"),
            Format("{where}"),
            Row(
                Button(L("onboarding.agree"), id="agree", on_click=on_consent),
                Button(L("onboarding.decline"), id="decline", on_click=on_decline),
            ),
            state=Onboarding.consent,
            getter=consent_getter,
        ),
        Window(
            L("onboarding.switch_question"),
            Row(
                Button(L("onboarding.switch_yes"), id="switch", on_click=on_switch),
                Button(L("onboarding.switch_no"), id="keep", on_click=on_keep),
            ),
            state=Onboarding.switch,
            getter=switch_getter,
        ),
        _picker(
            Onboarding.community,
            "onboarding.pick_community",
            communities_getter,
            on_community,
            back=False,
        ),
        _picker(
            Onboarding.grid,
            "onboarding.pick_grid",
            _children_getter("community_id"),
            on_grid,
            back=True,
        ),
        _picker(
            Onboarding.building,
            "onboarding.pick_building",
            _children_getter("grid_id"),
            on_building,
            back=True,
        ),
        on_start=on_start,
    )
