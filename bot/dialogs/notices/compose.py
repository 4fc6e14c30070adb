"""/notice: the officer sends the notice as residents should see it (text with its
formatting, or a photo, file, voice or video with a caption), picks the part of the
hierarchy and who in it, sees how many people that is and a few names, previews it in
their own chat and confirms. Every step asks the rule (``may_send``) again, whatever the
buttons showed: a forged press cannot widen the audience."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row, Start, SwitchTo

from bot.dialogs.notices.states import NoticeCompose, NoticeWhen
from bot.dialogs.notices.views import (
    PREVIEW,
    ack_keyboard,
    header,
    room_left,
    send_media,
    with_header,
)
from bot.formatting import e, local_time, node_path
from bot.kit.choice import ticked
from bot.kit.context import Ctx, ctx
from bot.kit.menu import open_menu, to_menu
from bot.kit.notice import say, take_notice
from bot.kit.text import L, notice_text
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.hierarchy import Node, NodeKind
from storage.notices import AudienceRole, NoticeService, may_send
from storage.notices.audience import parse_roles
from storage.notices.rules import SENDERS
from storage.notices.service import Content, NoticeConfig, NoticeError

MEDIA = {
    ContentType.PHOTO: "photo",
    ContentType.DOCUMENT: "document",
    ContentType.VOICE: "voice",
    ContentType.VIDEO: "video",
    ContentType.AUDIO: "audio",
}
PAGE_HEIGHT = 5


def _file_id(message: Message) -> str | None:
    """The media's file id (a photo's largest size): the notice is sent from it, so it
    does not depend on the officer's message staying in her chat."""
    if message.photo:
        return message.photo[-1].file_id
    for item in (message.document, message.voice, message.video, message.audio):
        if item is not None:
            return item.file_id
    return None


async def _node(c: Ctx, manager: DialogManager) -> Node | None:
    node_id = manager.dialog_data.get("node_id")
    return await c.services.hierarchy.get(int(node_id)) if node_id is not None else None


async def _home(c: Ctx) -> Node | None:
    """Where a new notice starts: the officer's own (widest) node."""
    scopes = c.staffing.scopes(SENDERS)
    if None in scopes:
        districts = await c.services.hierarchy.of_kind(NodeKind.DISTRICT)
        return districts[0] if districts else None
    nodes = [n for n in scopes if n is not None]
    return min(nodes, key=lambda n: n.path.count("/"), default=None)


async def _refuse(manager: DialogManager, c: Ctx) -> None:
    await toast(manager, c.t("notice.not_allowed"), alert=True)


# --- content ----------------------------------------------------------------------------


async def content_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": take_notice(dialog_manager)}


async def on_content(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    home = await _node(c, manager) or await _home(c)
    if may_send(c.staffing, home) is not None:
        await message.answer(c.t("notice.not_allowed"))
        return
    assert home is not None
    media = MEDIA.get(ContentType(message.content_type)) if message.content_type else None
    if message.text is None and media is None:
        say(manager, c.t("notice.input.unsupported"))
        return
    body = message.text if media is None else (message.caption or "")
    entities = message.entities if media is None else message.caption_entities
    over = room_left(header(c.t, home.name, urgent=True), body or "", media)
    if over > 0:
        # Nothing is cut: the officer shortens it and sends it again.
        key = "notice.input.caption_too_long" if media else "notice.input.too_long"
        say(manager, c.t(key, over=over))
        return
    manager.dialog_data.update(
        chat_id=message.chat.id,
        message_id=message.message_id,
        media=media,
        file_id=_file_id(message),
        body=body or "",
        entities=[x.model_dump(exclude_none=True, mode="json") for x in entities or []],
    )
    manager.dialog_data.setdefault("node_id", home.id)
    manager.dialog_data.setdefault("roles", [AudienceRole.RESIDENTS.value])
    await manager.switch_to(NoticeCompose.audience, show_mode=ShowMode.SEND)


# --- audience ---------------------------------------------------------------------------


async def audience_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    node = await _node(c, dialog_manager)
    if may_send(c.staffing, node) is not None:
        return {
            "allowed": False,
            "items": [],
            "buildings": [],
            "bhint": "",
            "roles": [],
            "where": "—",
            "count": 0,
            "blocked": 0,
            "sample": "",
            "notice": c.t("notice.not_allowed"),
            "held": "",
            "ack_on": False,
            "ack_off": False,
            "urgent_on": False,
            "urgent_off": False,
            "can_go_up": False,
            "can_send": False,
        }
    assert node is not None
    repo = c.services.hierarchy
    roles = parse_roles(dialog_manager.dialog_data.get("roles", []))
    d = dialog_manager.dialog_data
    buildings = await _buildings(c, dialog_manager, node)
    chosen = set(d.get("buildings", []))
    plan = await c.services.get(NoticeService).plan(
        node,
        roles,
        bool(d.get("urgent")),
        [b.id for b in buildings if b.id in chosen],
        author_id=c.user_id,
    )
    recipients = plan.recipients
    children = [] if node.node_kind is NodeKind.GRID else list(await repo.children(node.id))
    parent = await repo.get(node.parent_id) if node.parent_id else None
    return {
        "allowed": True,
        "where": e(node_path(await repo.ancestors(node))),
        "items": [(n.id, n.name) for n in children if n.node_kind is not NodeKind.BUILDING],
        "bhint": c.t("notice.buildings_hint") if buildings else "",
        # In a grid, residents of only some buildings; none ticked means all of them.
        "buildings": [
            (f"{b.id}:{0 if b.id in chosen else 1}", ticked(b.name, b.id in chosen))
            for b in buildings
        ],
        # Each role's button says what pressing it makes it, so a double tap sets the
        # same thing twice instead of undoing itself.
        "roles": [
            (
                f"{r.value}:{0 if r in roles else 1}",
                ticked(c.t(f"notice.role.{r.value}"), r in roles),
            )
            for r in AudienceRole
        ],
        "count": plan.count,
        "blocked": recipients.blocked,
        "held": c.t("notice.held", muted=plan.muted, later=plan.deferred)
        if plan.muted or plan.deferred
        else "",
        "sample": e(c.t("common.list_sep").join(recipients.sample)) if recipients.sample else "—",
        "ack_on": bool(d.get("ack")),
        "ack_off": not d.get("ack"),
        "urgent_on": bool(d.get("urgent")),
        "urgent_off": not d.get("urgent"),
        "can_go_up": parent is not None and may_send(c.staffing, parent) is None,
        "can_send": plan.count > 0,
        "notice": take_notice(dialog_manager),
    }


async def on_role(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    value, _sep, wanted = item.partition(":")
    picked = parse_roles([value])
    if not picked or wanted not in ("0", "1"):
        return  # a forged value
    chosen = set(parse_roles(manager.dialog_data.get("roles", [])))
    if wanted == "1":
        chosen.add(picked[0])
    else:
        chosen.discard(picked[0])
    manager.dialog_data["roles"] = [r.value for r in parse_roles(r.value for r in chosen)]


async def _buildings(c: Ctx, manager: DialogManager, node: Node) -> list[Node]:
    if node.node_kind is not NodeKind.GRID:
        return []
    return list(await c.services.hierarchy.children(node.id))


async def on_building(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    node = await _node(c, manager)
    value, _sep, wanted = item.partition(":")
    known = {b.id for b in await _buildings(c, manager, node)} if node else set()
    if not value.isdigit() or int(value) not in known or wanted not in ("0", "1"):
        return  # forged, or a building of another grid
    chosen = set(manager.dialog_data.get("buildings", []))
    if wanted == "1":
        chosen.add(int(value))
    else:
        chosen.discard(int(value))
    manager.dialog_data["buildings"] = sorted(chosen)


async def on_narrow(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    node = await c.services.hierarchy.get(int(item)) if item.isdigit() else None
    if may_send(c.staffing, node) is not None:
        await _refuse(manager, c)
        return
    assert node is not None
    manager.dialog_data["node_id"] = node.id
    manager.dialog_data["buildings"] = []


async def on_up(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node = await _node(c, manager)
    parent = await c.services.hierarchy.get(node.parent_id) if node and node.parent_id else None
    if may_send(c.staffing, parent) is not None:
        await _refuse(manager, c)
        return
    assert parent is not None
    manager.dialog_data["node_id"] = parent.id
    manager.dialog_data["buildings"] = []


def _option(name: str, value: bool) -> Any:
    """Set an option rather than flip it: a double tap leaves it as the first tap did."""

    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        manager.dialog_data[name] = value

    return handler


async def on_review(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """Show the notice in the officer's own chat exactly as recipients will get it, its
    已收到 button included (pressed there, it only explains itself), then ask to confirm
    below it."""
    c = ctx(manager)
    node = await _node(c, manager)
    if may_send(c.staffing, node) is not None:
        await _refuse(manager, c)
        return
    assert node is not None
    d = manager.dialog_data
    text, entities = with_header(
        header(c.t, node.name, bool(d.get("urgent"))), d["body"], d["entities"]
    )
    markup = ack_keyboard(c.t, PREVIEW, acked=False) if d.get("ack") else None
    if d.get("media") and d.get("file_id"):
        await send_media(c.bot, c.user_id, d["media"], d["file_id"], text, entities, markup)
    elif d.get("media"):
        await c.bot.copy_message(
            c.user_id,
            d["chat_id"],
            d["message_id"],
            caption=text,
            caption_entities=entities,
            parse_mode=None,
            reply_markup=markup,
        )
    else:
        await c.bot.send_message(
            c.user_id, text, entities=entities, parse_mode=None, reply_markup=markup
        )
    await manager.switch_to(NoticeCompose.confirm, show_mode=ShowMode.SEND)


# --- confirm ----------------------------------------------------------------------------


async def confirm_getter(dialog_manager: DialogManager, **kwargs: Any) -> dict[str, Any]:
    data = await audience_getter(dialog_manager, **kwargs)
    c = ctx(dialog_manager)
    send_at = _send_at(c, dialog_manager)
    data["when"] = (
        c.t("notice.schedule.at", when=local_time(send_at, c.zone))
        if send_at
        else c.t("notice.schedule.now")
    )
    data["later"] = send_at is not None
    data["receipt"] = receipt_line(c, bool(dialog_manager.dialog_data.get("ack")))
    data["send_now"] = data["can_send"] and send_at is None
    data["send_later"] = data["can_send"] and send_at is not None
    return data


def receipt_line(c: Ctx, ack: bool) -> str:
    """Whether residents will be asked for 已收到, and what follows if they are."""
    if not ack:
        return c.t("notice.receipt.not_asked")
    config = c.services.config(NoticeConfig)
    hours = [f"{d.total_seconds() / 3600:g}" for d in (config.remind_after, config.visit_after)]
    return c.t("notice.receipt.asked", remind=hours[0], visit=hours[1])


def _send_at(c: Ctx, manager: DialogManager) -> datetime | None:
    """The chosen time, if still ahead (one chosen minutes ago may have passed)."""
    raw = manager.dialog_data.get("send_at")
    if not raw:
        return None
    moment = datetime.fromisoformat(str(raw))
    return moment if moment > c.clock.now() + timedelta(minutes=1) else None


async def on_when(start_data: Any, result: Any, manager: DialogManager) -> None:
    if isinstance(result, dict) and result.get("send_at"):
        manager.dialog_data["send_at"] = str(result["send_at"])


async def on_now(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data.pop("send_at", None)


async def on_send(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node = await _node(c, manager)
    if may_send(c.staffing, node) is not None:
        await _refuse(manager, c)
        return
    assert node is not None
    d = manager.dialog_data
    roles = parse_roles(d.get("roles", []))
    content = Content(
        d["chat_id"],
        d["message_id"],
        d.get("media"),
        d["body"],
        d["entities"],
        file_id=d.get("file_id"),
    )
    send_at = _send_at(c, manager)
    if d.get("send_at") and send_at is None:
        d.pop("send_at", None)
        await toast(manager, c.t("notice.schedule.bad_time"), alert=True)
        return
    try:
        sent = await c.services.get(NoticeService).send(
            author_id=c.user_id,
            node=node,
            roles=roles,
            content=content,
            ack=bool(d.get("ack")),
            urgent=bool(d.get("urgent")),
            send_at=send_at,
            buildings=[int(b) for b in d.get("buildings", [])],
        )
    except NoticeError:
        await toast(manager, c.t("notice.nobody"), alert=True)
        await manager.switch_to(NoticeCompose.audience)
        return
    await c.services.audit.record(
        actor_id=c.user_id,
        action="notice.send",
        at=c.clock.now(),
        object_type="notice",
        object_id=sent.id,
        node_id=node.id,
        roles=",".join(r.value for r in roles),
        recipients=sent.recipients,
    )
    if send_at is not None:
        when = local_time(send_at, c.zone)
        await open_menu(manager, c.t("notice.scheduled", id=sent.id, when=when))
        return
    await open_menu(manager, c.t("notice.started", id=sent.id, count=sent.recipients))


def compose_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("notice.ask_content"),
            MessageInput(on_content),
            Button(L("common.cancel"), id="content_menu", on_click=to_menu),
            state=NoticeCompose.content,
            getter=content_getter,
        ),
        Window(
            notice_text(),
            L("notice.audience"),
            picker("role", "roles", on_role, width=3, when="allowed"),
            picker("narrow", "items", on_narrow, width=2, height=PAGE_HEIGHT, when="allowed"),
            picker("bld", "buildings", on_building, width=3, height=PAGE_HEIGHT, when="allowed"),
            Row(
                Button(L("notice.button.up"), id="up", on_click=on_up, when="can_go_up"),
                Button(
                    L("notice.option.ack_off"),
                    id="ack_on",
                    on_click=_option("ack", True),
                    when="ack_off",
                ),
                Button(
                    L("notice.option.ack_on"),
                    id="ack_off",
                    on_click=_option("ack", False),
                    when="ack_on",
                ),
                Button(
                    L("notice.option.urgent_off"),
                    id="urgent_on",
                    on_click=_option("urgent", True),
                    when="urgent_off",
                ),
                Button(
                    L("notice.option.urgent_on"),
                    id="urgent_off",
                    on_click=_option("urgent", False),
                    when="urgent_on",
                ),
            ),
            Button(L("notice.button.review"), id="review", on_click=on_review, when="can_send"),
            Row(
                SwitchTo(L("notice.button.rewrite"), id="rewrite", state=NoticeCompose.content),
                Button(L("common.cancel"), id="audience_menu", on_click=to_menu),
            ),
            state=NoticeCompose.audience,
            getter=audience_getter,
        ),
        Window(
            notice_text(),
            L("notice.confirm"),
            Button(L("notice.button.send"), id="send", on_click=on_send, when="send_now"),
            Button(
                L("notice.button.send_later"),
                id="send_later",
                on_click=on_send,
                when="send_later",
            ),
            Row(
                Start(L("notice.button.schedule"), id="schedule", state=NoticeWhen.date),
                Button(L("notice.button.now"), id="now", on_click=on_now, when="later"),
            ),
            Row(
                SwitchTo(L("notice.button.edit"), id="back", state=NoticeCompose.audience),
                Button(L("common.cancel"), id="confirm_menu", on_click=to_menu),
            ),
            state=NoticeCompose.confirm,
            getter=confirm_getter,
        ),
        on_process_result=on_when,
    )
