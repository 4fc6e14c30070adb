"""Staff turn an appeal into a service order (e.g. a repair for an elderly resident): its
number, then the skill; the order goes to the partners like any other, linked both ways."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.partners.states import PartnerFromAppeal
from bot.dialogs.partners.views import skill_label
from bot.kit.context import ctx
from bot.kit.menu import close, close_to_menu
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.partners import PartnerError, PartnerService


async def on_number(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    text = (message.text or "").strip().lstrip("#").upper().removeprefix("A")
    if not text.isdigit():
        say(manager, c.t("partner.from_appeal.number_bad"))
        return
    manager.dialog_data["appeal_id"] = int(text)
    clear_notice(manager)
    await manager.next()


async def on_skill(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    try:
        order = await c.services.get(PartnerService).from_appeal(
            c.staffing, int(manager.dialog_data.get("appeal_id", 0)), item_id
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await close_to_menu(manager)
    await c.bot.send_message(c.user_id, c.t("partner.from_appeal.done", number=order.number))


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    policy = c.services.get(PartnerService).policy
    return {
        "notice": notice(dialog_manager),
        "skills": [(s, skill_label(c.t, s)) for s in policy.skills],
    }


def from_appeal_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.from_appeal.ask_number"),
            MessageInput(on_number, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="fa_cancel_1", on_click=close),
            state=PartnerFromAppeal.number,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.from_appeal.ask_skill"),
            picker("fa_skill", "skills", on_skill, width=3),
            Button(L("partner.cancel_form"), id="fa_cancel_2", on_click=close),
            state=PartnerFromAppeal.skill,
            getter=getter,
        ),
    )
