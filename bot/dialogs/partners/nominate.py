"""公推: a resident (or staff) puts a neighbour forward as a 幸福合伙人 — picked with the
chat's own user picker (the nominee is then asked in the chat), or by name and building
for someone who does not use it (staff reach them). A short reason, then a summary."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    CallbackQuery,
    ContentType,
    Message,
    ReplyKeyboardRemove,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, SwitchTo

from bot.dialogs.partners.common import own_community
from bot.dialogs.partners.states import PartnerHome, PartnerNominate
from bot.formatting import e
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from bot.kit.user_picker import user_picker
from bot.kit.widgets import picker
from storage.hierarchy import Node, NodeKind
from storage.partners import PartnerError, PartnerService
from storage.partners.service import MAX_NAME, MAX_TEXT

PICK_REQUEST = 1001  # the request_id of the user-picker button


async def _community(c: Ctx) -> Node | None:
    service = c.services.get(PartnerService)
    mine = await service.community_of(c.user.building_id if c.user else None)
    if mine is not None:
        return mine
    return await own_community(c)


async def on_pick(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    keyboard = user_picker(c.t("partner.nominate.pick_button"), PICK_REQUEST)
    await c.bot.send_message(
        c.user_id, c.t("partner.nominate.pick_keyboard"), reply_markup=keyboard
    )
    await manager.switch_to(PartnerNominate.pick, show_mode=ShowMode.SEND)


async def on_shared(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    shared = message.users_shared
    if shared is None or shared.request_id != PICK_REQUEST or not shared.users:
        say(manager, c.t("partner.nominate.pick_hint"))
        return
    person = shared.users[0]
    name = " ".join(p for p in (person.first_name, person.last_name) if p) or c.t(
        "partner.nominate.someone"
    )
    manager.dialog_data.update(nominee_id=person.user_id, name=name[:MAX_NAME])
    clear_notice(manager)
    await c.bot.send_message(
        c.user_id, c.t("partner.nominate.picked", name=e(name)), reply_markup=ReplyKeyboardRemove()
    )
    await manager.switch_to(PartnerNominate.reason, show_mode=ShowMode.SEND)


async def on_name(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    name = (message.text or "").strip()
    if not name or len(name) > MAX_NAME:
        say(manager, c.t("partner.apply.name_bad"))
        return
    manager.dialog_data.update(name=name, nominee_id=None)
    clear_notice(manager)
    await manager.switch_to(PartnerNominate.building)


async def on_building(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    community = await _community(c)
    node = await c.services.hierarchy.get(int(item_id)) if item_id.isdigit() else None
    if node is None or community is None or not node.is_within(community):
        return
    manager.dialog_data.update(building_id=node.id, building=node.name)
    await manager.switch_to(PartnerNominate.reason)


async def on_reason(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    reason = (message.text or "").strip()
    if not reason or len(reason) > MAX_TEXT:
        say(manager, c.t("partner.nominate.reason_bad", max=MAX_TEXT))
        return
    manager.dialog_data["reason"] = reason
    clear_notice(manager)
    await manager.switch_to(PartnerNominate.confirm)


async def on_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    if c.user is None:
        return
    building_id = data.get("building_id")
    building = await c.services.hierarchy.get(int(building_id)) if building_id else None
    try:
        await c.services.get(PartnerService).nominate(
            c.user,
            c.staffing,
            nominee_id=data.get("nominee_id"),
            nominee_name=str(data.get("name", "")),
            building=building,
            reason=str(data.get("reason", "")),
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.start(PartnerHome.main, data={"notice": c.t("partner.nominate.sent")})


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    buildings: list[tuple[str, str]] = []
    if dialog_manager.current_context().state == PartnerNominate.building:
        community = await _community(c)
        if community is not None:
            nodes = await c.services.hierarchy.of_kind(NodeKind.BUILDING, within=community)
            buildings = [(str(n.id), n.name) for n in sorted(nodes, key=lambda n: n.name)]
    return {
        "notice": notice(dialog_manager),
        "buildings": buildings,
        "name": e(data.get("name", "")),
        "building": e(data.get("building") or c.t("partner.nominate.in_chat")),
        "reason": e(data.get("reason", "")),
    }


def _cancel(n: int) -> Button:
    return Button(L("partner.cancel_form"), id=f"nom_cancel_{n}", on_click=close)


def nominate_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.nominate.how"),
            Column(
                Button(L("partner.nominate.by_pick"), id="nom_pick", on_click=on_pick),
                SwitchTo(
                    L("partner.nominate.by_name"), id="nom_by_name", state=PartnerNominate.name
                ),
                _cancel(1),
            ),
            state=PartnerNominate.how,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.nominate.pick"),
            MessageInput(on_shared, content_types=ContentType.ANY),
            _cancel(2),
            state=PartnerNominate.pick,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.nominate.ask_name"),
            MessageInput(on_name, content_types=ContentType.ANY),
            _cancel(3),
            state=PartnerNominate.name,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.nominate.ask_building"),
            picker("nom_building", "buildings", on_building, width=2, height=6),
            _cancel(4),
            state=PartnerNominate.building,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.nominate.ask_reason"),
            MessageInput(on_reason, content_types=ContentType.ANY),
            _cancel(5),
            state=PartnerNominate.reason,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.nominate.confirm"),
            Row(
                Button(L("partner.nominate.submit"), id="nom_submit", on_click=on_submit),
                _cancel(6),
            ),
            state=PartnerNominate.confirm,
            getter=getter,
        ),
    )
