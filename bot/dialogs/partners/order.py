"""Ordering a service (点单): the skill, what is needed (text or a voice note), when, and
the phone through the contact button if the resident never shared it; a grid worker
ordering for a household without the chat (代点单) first picks the building and names the
household. Submitted once: a doubled 提交 finds the order already placed."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    CallbackQuery,
    ContentType,
    Message,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row

from bot.dialogs.partners.common import ask_phone, take_phone
from bot.dialogs.partners.states import OrderForm
from bot.dialogs.partners.views import (
    resident_keyboard,
    skill_label,
    tier_text,
    when_label,
    when_text,
)
from bot.formatting import e
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.hierarchy import Node, NodeKind
from storage.partners import OrderDraft, PartnerError, PartnerService
from storage.partners.rules import PROXIES
from storage.partners.service import MAX_TEXT
from storage.partners.slots import ANY, open_slots, slot_open


def _proxy(manager: DialogManager) -> bool:
    return bool(start_data(manager).get("proxy"))


def _service(c: Ctx) -> PartnerService:
    return c.services.get(PartnerService)


async def _buildings(c: Ctx) -> list[Node]:
    """The buildings a grid worker (or staff above) may order for."""
    seen: dict[int, Node] = {}
    for scope in c.staffing.scopes(PROXIES):
        for node in await c.services.hierarchy.of_kind(NodeKind.BUILDING, within=scope):
            seen.setdefault(node.id, node)
            if len(seen) >= 200:
                break
    return sorted(seen.values(), key=lambda n: n.name)


async def on_building(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    node = await c.services.hierarchy.get(int(item_id))
    if node is None or not c.staffing.covers(node, PROXIES):
        say(manager, c.t("partner.problem.not_allowed"))
        return
    manager.dialog_data["building_id"] = node.id
    manager.dialog_data["building"] = node.name
    await manager.switch_to(OrderForm.household)


async def on_household(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    text = (message.text or "").strip()
    if not 2 <= len(text) <= 120:
        say(manager, c.t("partner.order.household_bad"))
        return
    manager.dialog_data["household"] = text
    clear_notice(manager)
    await manager.switch_to(OrderForm.skill)


async def on_skill(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if item_id not in _service(c).policy.skills:
        return
    manager.dialog_data["skill"] = item_id
    clear_notice(manager)
    await manager.switch_to(OrderForm.details)


async def on_details(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    if message.voice is not None:
        data["voice"] = message.voice.file_id
        data["voice_seconds"] = message.voice.duration
        say(manager, c.t("partner.order.voice_saved", seconds=message.voice.duration))
        return
    if message.text is None:
        say(manager, c.t("partner.order.unsupported"))
        return
    combined = "\n".join(p for p in (str(data.get("text") or ""), message.text.strip()) if p)
    if len(combined) > MAX_TEXT:
        say(manager, c.t("partner.order.details_too_long", max=MAX_TEXT, length=len(combined)))
        return
    data["text"] = combined
    say(manager, c.t("partner.order.text_saved"))


async def on_details_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    data = manager.dialog_data
    if not (str(data.get("text") or "").strip() or data.get("voice")):
        say(manager, ctx(manager).t("partner.order.details_missing"))
        return
    clear_notice(manager)
    await manager.switch_to(OrderForm.when)


async def on_when(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if not slot_open(item_id, c.clock.now(), _service(c).policy.zone):
        # A press on choices shown a while ago: the window shows what is still open.
        say(manager, c.t("partner.order.when_past"))
        return
    manager.dialog_data["preferred"] = item_id
    clear_notice(manager)
    if _proxy(manager) or (c.user is not None and c.user.phone):
        await manager.switch_to(OrderForm.confirm)
        return
    await ask_phone(c)
    await manager.switch_to(OrderForm.phone, show_mode=ShowMode.SEND)


async def on_contact(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    if await take_phone(c, manager, message) is None:
        return
    clear_notice(manager)
    await manager.switch_to(OrderForm.confirm, show_mode=ShowMode.SEND)


async def on_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    if c.user is None:
        return
    # A doubled 提交 is handled after this one (one update per chat at a time) and
    # finds the form closed: it cannot place the order twice.
    service = _service(c)
    preferred = str(data.get("preferred") or ANY)
    if not slot_open(preferred, c.clock.now(), service.policy.zone):
        # The form stayed open past the chosen half day: choose again, nothing else lost.
        say(manager, c.t("partner.order.when_past"))
        await manager.switch_to(OrderForm.when)
        return
    building = None
    if _proxy(manager):
        building = await c.services.hierarchy.get(int(data.get("building_id", 0)))
    draft = OrderDraft(
        skill=str(data.get("skill", "")),
        description=str(data.get("text") or ""),
        voice_file_id=data.get("voice"),
        preferred=preferred,
        household=data.get("household"),
    )
    try:
        order = await service.place(c.user, draft, building=building, staffing=c.staffing)
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.done()
    await c.bot.send_message(
        c.user_id,
        c.t("partner.order.placed", number=order.number),
        reply_markup=resident_keyboard(c.t, order),
    )


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    policy = _service(c).policy
    skill = str(data.get("skill") or "")
    got = ""
    if data.get("text"):
        got += "\n\n✍️ " + e(data["text"])
    if data.get("voice"):
        got += "\n" + c.t("partner.order.voice_saved", seconds=data.get("voice_seconds", 0))
    options = [(s.code, when_label(c.t, s)) for s in open_slots(c.clock.now(), policy.zone)]
    options.append((ANY, c.t("partner.when.any")))
    place = data.get("building") or ""
    if not place and c.user is not None and c.user.building_id:
        node = await c.services.hierarchy.get(c.user.building_id)
        place = node.name if node else ""
    phone = data.get("household") if _proxy(dialog_manager) else (c.user.phone if c.user else "")
    buildings = (
        await _buildings(c) if _proxy(dialog_manager) and not data.get("building_id") else []
    )
    return {
        "notice": notice(dialog_manager),
        "skills": [(s, skill_label(c.t, s)) for s in policy.skills],
        "buildings": [(str(n.id), n.name) for n in buildings],
        "times": options,
        "skill": skill_label(c.t, skill) if skill else "",
        "tier": tier_text(c.t, policy, policy.tier(skill)) if skill else "",
        "got": got,
        "text": e(data.get("text") or "") or "🎤",
        "voice": (
            c.t("partner.order.voice_line", seconds=data.get("voice_seconds", 0))
            if data.get("voice")
            else ""
        ),
        "when": when_text(c.t, str(data.get("preferred") or "any")),
        "place": e(place),
        "phone": e(phone or "") or c.t("partner.order.no_phone"),
        "household": e(data.get("household") or ""),
        "building": e(data.get("building") or ""),
        "proxy": _proxy(dialog_manager),
        "own": not _proxy(dialog_manager),
    }


def _cancel(where: str) -> Button:
    return Button(L("partner.cancel_form"), id=f"order_cancel_{where}", on_click=close)


def order_dialog() -> Dialog:
    s = OrderForm
    return Dialog(
        Window(
            notice_text(),
            L("partner.order.building"),
            picker("order_building", "buildings", on_building, width=2, height=6),
            _cancel("1"),
            state=s.building,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.household"),
            MessageInput(on_household, content_types=ContentType.ANY),
            _cancel("2"),
            state=s.household,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.skill", when="own"),
            L("partner.order.skill_proxy", when="proxy"),
            picker("order_skill", "skills", on_skill, width=3),
            _cancel("3"),
            state=s.skill,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.details"),
            MessageInput(on_details, content_types=ContentType.ANY),
            Row(
                _cancel("4"), Button(L("partner.next"), id="details_next", on_click=on_details_next)
            ),
            state=s.details,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.when"),
            picker("order_when", "times", on_when, width=2),
            _cancel("5"),
            state=s.when,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.phone"),
            MessageInput(on_contact, content_types=ContentType.ANY),
            _cancel("6"),
            state=s.phone,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.order.confirm"),
            Column(
                Button(L("partner.order.submit"), id="order_submit", on_click=on_submit),
                _cancel("7"),
            ),
            state=s.confirm,
            getter=getter,
        ),
    )
