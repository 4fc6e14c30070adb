"""Applying as a 幸福合伙人 (自荐): real name, the phone through the chat's contact button
(never typed), skills and free times (multi-select), a short introduction and optionally
a certificate photo, then a summary to check. Everything entered stays while the form is
open: a wrong input only gets a sentence saying what to send instead."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    CallbackQuery,
    ContentType,
    Message,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Column,
    ManagedMultiselect,
    Next,
    Row,
)

from bot.dialogs.partners.common import (
    ask_phone,
    checked,
    close_form,
    multiselect,
    take_phone,
)
from bot.dialogs.partners.states import PartnerApply, PartnerHome
from bot.dialogs.partners.views import skills_text, slots_text
from bot.formatting import e
from bot.kit.context import ctx, start_data
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from storage.partners import Application, PartnerError, PartnerService
from storage.partners.rules import AVAILABILITY
from storage.partners.service import MAX_NAME, MAX_TEXT


async def on_name(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    name = (message.text or "").strip()
    if not name or len(name) > MAX_NAME:
        say(manager, c.t("partner.apply.name_bad"))
        return
    manager.dialog_data["name"] = name
    clear_notice(manager)
    if not manager.dialog_data.get(ASK_PHONE, True) and c.user is not None and c.user.phone:
        manager.dialog_data["phone"] = c.user.phone
        await manager.switch_to(PartnerApply.skills)
        return
    await ask_phone(c)
    await manager.switch_to(PartnerApply.phone, show_mode=ShowMode.SEND)


async def on_contact(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    phone = await take_phone(c, manager, message)
    if phone is None:
        return
    manager.dialog_data["phone"] = phone
    clear_notice(manager)
    await manager.switch_to(PartnerApply.skills, show_mode=ShowMode.SEND)


async def on_skills_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    if not checked(manager, "skills"):
        say(manager, ctx(manager).t("partner.apply.skills_none"))
        return
    clear_notice(manager)
    await manager.switch_to(PartnerApply.slots)


async def on_intro(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    if message.photo:
        data["certificate"] = message.photo[-1].file_id
        say(manager, c.t("partner.apply.photo_saved"))
        if message.caption:
            data["intro"] = message.caption.strip()[:MAX_TEXT]
        return
    if message.text is None:
        say(manager, c.t("partner.apply.unsupported"))
        return
    text = message.text.strip()
    if len(text) > MAX_TEXT:
        say(manager, c.t("partner.apply.intro_too_long", max=MAX_TEXT, length=len(text)))
        return
    data["intro"] = text
    clear_notice(manager)
    await manager.switch_to(PartnerApply.confirm)


async def on_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    if c.user is None:
        return
    application = Application(
        real_name=str(data.get("name", "")),
        phone=str(data.get("phone", "")),
        skills=tuple(checked(manager, "skills")),
        availability=tuple(checked(manager, "slots")),
        intro=str(data.get("intro", "")),
        certificate_file_id=data.get("certificate"),
        call_id=start_data(manager).get("call_id"),
        nominated_by=start_data(manager).get("nominated_by"),
    )
    try:
        await c.services.get(PartnerService).apply(c.user, application)
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.start(PartnerHome.main, data={"notice": c.t("partner.apply.submitted")})


ASK_PHONE = "ask_phone"


def _steps(manager: DialogManager) -> dict[str, int]:
    """Step numbers as this applicant meets them: without the phone step (her number is
    known) the form has four, and they count 1, 2, 3, 4."""
    asks_phone = bool(manager.dialog_data.get(ASK_PHONE, True))
    skipped = 0 if asks_phone else 1
    return {
        "total": 5 - skipped,
        "skills_step": 3 - skipped,
        "slots_step": 4 - skipped,
        "intro_step": 5 - skipped,
    }


async def skills_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    policy = c.services.get(PartnerService).policy
    return {
        **_steps(dialog_manager),
        "notice": notice(dialog_manager),
        "skills": [(s, c.t(f"partner.skill.{s}")) for s in policy.skills],
        "slots": [(s, c.t(f"partner.slot.{s}")) for s in AVAILABILITY],
    }


async def intro_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    extra = ""
    if dialog_manager.dialog_data.get("intro"):
        extra = "\n\n" + c.t("partner.apply.intro_saved")
    return {**_steps(dialog_manager), "notice": notice(dialog_manager), "extra": extra}


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    return {
        "notice": notice(dialog_manager),
        "name": e(data.get("name", "")),
        "phone": e(data.get("phone", "")),
        "skills": skills_text(c.t, checked(dialog_manager, "skills")),
        "slots": slots_text(c.t, checked(dialog_manager, "slots")),
        "intro": e(data.get("intro", "")) or c.t("partner.apply.none"),
        "photo": c.t("partner.apply.photo_line") if data.get("certificate") else "",
    }


async def on_start(data: Any, manager: DialogManager) -> None:
    """Whether the phone step comes (the steps are numbered by it); from a recruitment
    call, its skills come ticked (the applicant may change them)."""
    user = ctx(manager).user
    manager.dialog_data[ASK_PHONE] = not (user is not None and user.phone)
    if isinstance(data, dict):
        found = manager.find("skills")
        assert isinstance(found, ManagedMultiselect)
        for skill in data.get("skills") or []:
            await found.set_checked(str(skill), True)


def _cancel(where: str) -> Button:
    return Button(L("partner.cancel_form"), id=f"apply_cancel_{where}", on_click=close_form)


def apply_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.apply.name"),
            MessageInput(on_name, content_types=ContentType.ANY),
            _cancel("1"),
            state=PartnerApply.name,
            getter=skills_getter,
        ),
        Window(
            notice_text(),
            L("partner.apply.phone"),
            MessageInput(on_contact, content_types=ContentType.ANY),
            _cancel("2"),
            state=PartnerApply.phone,
            getter=skills_getter,
        ),
        Window(
            notice_text(),
            L("partner.apply.skills"),
            multiselect("skills", "skills"),
            Row(
                _cancel("3"),
                Button(L("partner.next"), id="skills_next", on_click=on_skills_next),
            ),
            state=PartnerApply.skills,
            getter=skills_getter,
        ),
        Window(
            notice_text(),
            L("partner.apply.availability"),
            multiselect("slots", "slots"),
            Row(Back(L("partner.back"), id="slots_back"), Next(L("partner.next"), id="slots_next")),
            state=PartnerApply.slots,
            getter=skills_getter,
        ),
        Window(
            notice_text(),
            L("partner.apply.intro"),
            MessageInput(on_intro, content_types=ContentType.ANY),
            Row(Back(L("partner.back"), id="intro_back"), Next(L("partner.skip"), id="intro_next")),
            state=PartnerApply.intro,
            getter=intro_getter,
        ),
        Window(
            notice_text(),
            L("partner.apply.confirm"),
            Column(
                Button(L("partner.apply.submit"), id="apply_submit", on_click=on_submit),
                Back(L("partner.back"), id="confirm_back"),
                _cancel("4"),
            ),
            state=PartnerApply.confirm,
            getter=confirm_getter,
        ),
        on_start=on_start,
    )
