"""💬 between a partner and the resident whose order it is: what one sends (text, voice,
photo) is copied by the bot to the other, so neither sees the other's account."""

from __future__ import annotations

from typing import Any

from aiogram.types import ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.partners.common import close_form, restore_card
from bot.dialogs.partners.states import PartnerRelay
from bot.kit.context import ctx, start_data
from bot.kit.notice import notice, say
from bot.kit.text import L, notice_text
from storage.partners import PartnerError, PartnerService

RELAYED = (ContentType.TEXT, ContentType.VOICE, ContentType.PHOTO)


async def on_message(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    if message.content_type not in RELAYED:
        say(manager, c.t("partner.relay.unsupported"))
        return
    try:
        await c.services.get(PartnerService).relay(
            int(start_data(manager).get("ref", 0)), c.user_id, c.user_id, message.message_id
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await restore_card(c, manager)
    await manager.done()
    await c.bot.send_message(c.user_id, c.t("partner.relay.sent"))


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}


def relay_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.relay.ask"),
            MessageInput(on_message, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="relay_cancel", on_click=close_form),
            state=PartnerRelay.message,
            getter=getter,
        ),
    )
