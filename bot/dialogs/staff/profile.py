"""A staff member's public card (网格员公示牌): a work phone and whether their name and
that phone may be shown to residents, on the building posters of their grid and in the
notice a resident gets when they accept an appeal. Nothing is shown until they choose
to."""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.staff.states import StaffProfile
from bot.formatting import e
from bot.kit.context import ctx
from bot.kit.menu import menu_button
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L
from bot.kit.toast import toast
from storage.staff.profiles import ProfileRepo

# Digits with the separators people type; 7 to 20 digits (landlines with area codes too).
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{5,24}$")


def valid_phone(text: str) -> str | None:
    text = text.strip()
    digits = sum(ch.isdigit() for ch in text)
    return text if PHONE_RE.match(text) and 7 <= digits <= 20 else None


async def card_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_staff:
        return {"text": c.t("common.not_allowed"), "public": False, "private": False}
    profile = await c.services.get(ProfileRepo).get(c.user_id)
    public = bool(profile and profile.public)
    phone = profile.work_phone if profile else None
    text = c.t(
        "staff.profile.card",
        name=e(c.tg_user.full_name),
        phone=e(phone) if phone else c.t("staff.profile.no_phone"),
        shown=c.t("staff.profile.shown" if public else "staff.profile.hidden"),
    )
    return {"text": text, "public": public, "private": not public, "notice": notice(dialog_manager)}


async def _set_public(manager: DialogManager, public: bool) -> None:
    c = ctx(manager)
    if not c.staffing.is_staff:
        await toast(manager, c.t("common.not_allowed"), alert=True)
        return
    await c.services.get(ProfileRepo).update(c.user_id, c.clock.now(), public=public)
    await c.services.audit.record(
        actor_id=c.user_id,
        action="staff.profile_public" if public else "staff.profile_private",
        at=c.clock.now(),
        object_type="user",
        object_id=c.user_id,
    )
    clear_notice(manager)


async def on_publish(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _set_public(manager, True)


async def on_hide(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _set_public(manager, False)


async def on_phone(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    if not c.staffing.is_staff:
        return
    phone = valid_phone(message.text or "")
    if phone is None:
        say(manager, c.t("staff.profile.bad_phone", text=e((message.text or "")[:40])))
        return
    await c.services.get(ProfileRepo).update(c.user_id, c.clock.now(), work_phone=phone)
    say(manager, c.t("staff.profile.phone_saved"))
    await manager.switch_to(StaffProfile.card)


async def on_clear_phone(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if not c.staffing.is_staff:
        return
    await c.services.get(ProfileRepo).update(c.user_id, c.clock.now(), clear_phone=True)
    say(manager, c.t("staff.profile.phone_cleared"))
    await manager.switch_to(StaffProfile.card)


def profile_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            Format("{text}"),
            SwitchTo(L("staff.profile.set_phone"), id="card_phone", state=StaffProfile.phone),
            Button(
                L("staff.profile.publish"), id="card_publish", on_click=on_publish, when="private"
            ),
            Button(L("staff.profile.hide"), id="card_hide", on_click=on_hide, when="public"),
            menu_button(widget_id="card_menu"),
            state=StaffProfile.card,
            getter=card_getter,
        ),
        Window(
            Format("{notice}\n", when="notice"),
            L("staff.profile.phone_prompt"),
            Row(
                Button(L("staff.profile.clear_phone"), id="phone_clear", on_click=on_clear_phone),
                SwitchTo(L("common.back"), id="phone_back", state=StaffProfile.card),
            ),
            MessageInput(on_phone, content_types=ContentType.ANY),
            state=StaffProfile.phone,
            getter=notice_getter,
        ),
    )
