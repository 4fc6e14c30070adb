"""/channels (admins): the channels of the nodes one administers, a new one (a district
or a street, then its name), and for each its key rotated or the channel revoked. A key
is shown once, in a message of its own when it is made, never kept in the dialog's
state or shown again; lists show only its first characters. Every button is derived
from the rule (``storage.channels.rules``) and every press asks it again."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Back, Button, Row
from aiogram_dialog.widgets.text import Format

from bot.dialogs.channels.states import Channels
from bot.formatting import e, local_time
from bot.kit.context import Ctx, ctx
from bot.kit.menu import menu_button
from bot.kit.notice import notice, say
from bot.kit.text import L, notice_text
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.channels.models import Channel
from storage.channels.rules import CHANNEL_NODE_KINDS, administers, create_refusal, manage_refusal
from storage.channels.service import ChannelError, ChannelService
from storage.hierarchy import Node

MAX_NODES = 40
_MAY = "may_manage"  # a district and its streets: what one admin picks from


def _base(c: Ctx) -> str:
    return c.settings.web_url.rstrip("/") + "/open311/v2/"


async def _nodes(c: Ctx) -> list[Node]:
    return await c.services.get(ChannelService).nodes_for(c.staffing, MAX_NODES)


async def home_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    channels = await c.services.get(ChannelService).visible(c.staffing)
    items = [
        (ch.id, c.t("channel.chat.item", name=ch.name, state=_state(c, ch))) for ch in channels
    ]
    return {
        "notice": notice(dialog_manager),
        "channels": items,
        "none": not items,
        "may_create": c.staffing.is_admin,
        "base": e(_base(c)),
    }


def _state(c: Ctx, channel: Channel) -> str:
    return c.t("channel.chat.active") if channel.active else c.t("channel.chat.revoked")


async def on_pick(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    channel = await c.services.get(ChannelService).managed(c.staffing, int(item))
    if channel is None:
        await toast(manager, c.t("channel.chat.problem.not_found"), alert=True)
        return
    manager.dialog_data["channel_id"] = channel.id
    await manager.switch_to(Channels.detail)


async def on_new(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if not c.staffing.is_admin:
        await toast(manager, c.t("channel.chat.problem.not_allowed"), alert=True)
        return
    await manager.switch_to(Channels.node)


async def node_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    nodes = await _nodes(c)
    return {"nodes": [(n.id, f"{c.t('levels.' + n.kind)} · {n.name}") for n in nodes]}


async def on_node(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    node = await c.services.hierarchy.get(int(item))
    if (
        node is None
        or not administers(c.staffing, node)
        or node.node_kind not in CHANNEL_NODE_KINDS
    ):
        await toast(manager, c.t("channel.chat.problem.not_allowed"), alert=True)
        return
    manager.dialog_data["node_id"] = node.id
    await manager.switch_to(Channels.name)


async def name_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    node = await c.services.hierarchy.get(int(dialog_manager.dialog_data.get("node_id", 0)))
    return {"node": e(node.name) if node else "—", "notice": notice(dialog_manager)}


async def on_name(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    name = (message.text or "").strip()
    node = await c.services.hierarchy.get(int(manager.dialog_data.get("node_id", 0)))
    problem = create_refusal(c.staffing, node, name)
    if problem is not None:
        say(manager, c.t(f"channel.chat.problem.{problem.value}"))
        return
    channel, key = await c.services.get(ChannelService).create(c.staffing, node, name)
    manager.dialog_data["channel_id"] = channel.id
    await _send_key(c, channel, key)
    await manager.switch_to(Channels.detail)


async def _send_key(c: Ctx, channel: Channel, key: str) -> None:
    """The key, once, in a message of its own: the dialog never holds it."""
    await c.bot.send_message(
        c.user_id,
        c.t("channel.chat.key", name=e(channel.name), key=e(key), base=e(_base(c))),
    )


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    channel = await c.services.get(ChannelService).managed(
        c.staffing, int(dialog_manager.dialog_data.get("channel_id", 0))
    )
    if channel is None:
        text = c.t("channel.chat.problem.not_found")
        return {"text": text, "may_manage": False, "notice": notice(dialog_manager)}
    node = await c.services.hierarchy.get(channel.node_id)
    lines = [
        c.t("channel.chat.title", name=e(channel.name)),
        c.t(
            "channel.chat.node",
            level=c.t(f"levels.{node.kind}") if node else "—",
            node=e(node.name) if node else "—",
        ),
        c.t("channel.chat.hint", hint=e(channel.key_hint)),
        c.t("channel.chat.created", at=local_time(channel.created_at, c.zone)),
        c.t("channel.chat.state", state=_state(c, channel)),
    ]
    if channel.rotated_at is not None:
        lines.append(c.t("channel.chat.rotated", at=local_time(channel.rotated_at, c.zone)))
    return {
        "text": "\n".join(lines),
        "may_manage": manage_refusal(c.staffing, channel, node) is None,
        "notice": notice(dialog_manager),
    }


async def on_ask(call: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["action"] = "rotate" if button.widget_id == "ch_rotate" else "revoke"
    await manager.switch_to(Channels.confirm)


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    action = dialog_manager.dialog_data.get("action", "revoke")
    return {"question": c.t(f"channel.chat.confirm_{action}")}


async def on_confirm(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    channel_id = int(manager.dialog_data.get("channel_id", 0))
    service = c.services.get(ChannelService)
    try:
        if manager.dialog_data.get("action") == "rotate":
            channel, key = await service.rotate(c.staffing, channel_id)
            await _send_key(c, channel, key)
            # The screen comes again below the key, not above it.
            manager.show_mode = ShowMode.SEND
        else:
            await service.revoke(c.staffing, channel_id)
            say(manager, c.t("channel.chat.revoked_done"))
    except ChannelError as exc:
        await toast(manager, c.t(f"channel.chat.problem.{exc.problem.value}"), alert=True)
    await manager.switch_to(Channels.detail)


def channels_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("channel.chat.home"),
            L("channel.chat.none", when="none"),
            picker("ch_pick", "channels", on_pick),
            Button(L("channel.chat.new"), id="ch_new", on_click=on_new, when="may_create"),
            menu_button(),
            state=Channels.home,
            getter=home_getter,
        ),
        Window(
            L("channel.chat.pick_node"),
            picker("ch_node", "nodes", on_node, height=8),
            Back(L("common.back"), id="ch_node_back"),
            state=Channels.node,
            getter=node_getter,
        ),
        Window(
            notice_text(),
            L("channel.chat.ask_name"),
            MessageInput(on_name, content_types=ContentType.ANY),
            Back(L("common.back"), id="ch_name_back"),
            state=Channels.name,
            getter=name_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            Row(
                Button(
                    L("channel.chat.rotate"), id="ch_rotate", on_click=on_ask, when="may_manage"
                ),
                Button(
                    L("channel.chat.revoke"), id="ch_revoke", on_click=on_ask, when="may_manage"
                ),
            ),
            Button(L("channel.chat.to_list"), id="ch_list", on_click=_to_home),
            state=Channels.detail,
            getter=detail_getter,
        ),
        Window(
            Format("{question}"),
            Row(
                Button(L("channel.chat.sure"), id="ch_yes", on_click=on_confirm),
                Back(L("channel.chat.cancel"), id="ch_no"),
            ),
            state=Channels.confirm,
            getter=confirm_getter,
        ),
    )


async def _to_home(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.switch_to(Channels.home)
