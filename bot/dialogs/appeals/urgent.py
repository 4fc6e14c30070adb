"""The urgent call (一键呼叫): one tap tells every worker of the resident's grid and the
community staff at once; a location sent on the confirmation screen goes with it."""

from __future__ import annotations

import secrets
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.text import Format

from bot.dialogs.appeals.common import (
    bind_button,
    building_path,
    not_bound_getter,
    problem_text,
    resident_building,
    service,
)
from bot.dialogs.appeals.states import UrgentCall
from bot.kit.context import ctx
from bot.kit.menu import close
from bot.kit.notice import notice, say
from bot.kit.text import L
from storage.appeals import AppealError, Draft
from storage.appeals.policy import URGENT_CATEGORY


async def on_urgent_start(data: Any, manager: DialogManager) -> None:
    # The call's id, fixed before the button can be pressed: pressing twice calls once.
    manager.dialog_data.setdefault("key", secrets.token_hex(8))


async def urgent_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    building = await resident_building(c)
    base = {"notice": notice(dialog_manager)}
    if building is None:
        return base | await not_bound_getter(c) | {"building": ""}
    return base | {
        "bound": True,
        "unbound": False,
        "may_bind": False,
        "need_building": "",
        "building": await building_path(c, building),
    }


async def on_urgent(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    building = await resident_building(c)
    if building is None:
        return
    data = manager.dialog_data
    lat, lon = data.get("lat"), data.get("lon")
    draft = Draft(
        category=URGENT_CATEGORY,
        urgent=True,
        text=c.t("resident_appeal.urgent.text"),
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        contact_phone=c.user.phone if c.user is not None else None,
        key=str(data.get("key") or secrets.token_hex(8)),
    )
    try:
        await service(c).file(c.user_id, building, draft)
    except AppealError as exc:
        say(manager, problem_text(c.t, exc))
        return
    # "Help is on its way" is owed through the outbox, in the urgent lane, written with
    # the call itself.
    await manager.done()


async def on_urgent_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """A location sent on the confirmation screen goes with the call."""
    c = ctx(manager)
    if message.location is not None:
        manager.dialog_data["lat"] = message.location.latitude
        manager.dialog_data["lon"] = message.location.longitude
        say(manager, c.t("resident_appeal.input.location_added"))


def urgent_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("resident_appeal.urgent.confirm", when="bound"),
            Format("{need_building}", when="unbound"),
            Button(L("resident_appeal.urgent.button"), id="call", on_click=on_urgent, when="bound"),
            bind_button(),
            Button(L("resident_appeal.urgent.cancel"), id="cancel", on_click=close),
            MessageInput(on_urgent_input, content_types=ContentType.LOCATION),
            state=UrgentCall.confirm,
            getter=urgent_getter,
        ),
        on_start=on_urgent_start,
    )
