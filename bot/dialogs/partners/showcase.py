"""晒单: the community's done orders whose residents agreed to show them, one per page with
the partner's photo — the skill, the date, the partner's name and the rating; nothing of
the resident. And the two forms around it: the partner adding the photo of an order
they did, the resident adding a comment (typed or spoken) to her rating."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType as MediaType
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.api.entities import MediaAttachment, MediaId
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.media import DynamicMedia

from bot.dialogs.partners.common import close_form, restore_card
from bot.dialogs.partners.states import PartnerComment, PartnerPhoto, Showcase
from bot.dialogs.partners.views import showcase_keyboard, skill_label
from bot.formatting import e, local_time
from bot.kit.context import ctx, start_data
from bot.kit.menu import menu_button
from bot.kit.notice import notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import current_page, pager
from storage.partners import OrderState, Partner, PartnerError, PartnerService, ServiceOrder

SCROLL = "showcase_pages"


async def showcase_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = c.services.get(PartnerService)
    community = await service.community_of(c.user.building_id if c.user else None)
    orders = await service.showcase(community.id, limit=30) if community else []
    page = min(await current_page(dialog_manager, SCROLL), max(len(orders) - 1, 0))
    data: dict[str, Any] = {
        "pages": max(len(orders), 1),
        "has": bool(orders),
        "empty": not orders,
        "community": e(community.name) if community else "",
        "photo": None,
    }
    if orders:
        order = orders[page]
        partner = await c.session.get(Partner, order.partner_id) if order.partner_id else None
        data.update(
            skill=skill_label(c.t, order.skill),
            date=local_time(order.confirmed_at, c.zone)[:10],
            partner=e(partner.real_name) if partner else "—",
            rating=c.t(f"partner.rating.{order.rating or 'satisfied'}"),
            at=page + 1,
            of=len(orders),
        )
        if order.photo_file_id:
            data["photo"] = MediaAttachment(
                type=MediaType.PHOTO, file_id=MediaId(order.photo_file_id)
            )
    return data


def showcase_dialog() -> Dialog:
    return Dialog(
        Window(
            DynamicMedia("photo", when="photo"),
            L("partner.showcase.item", when="has"),
            L("partner.showcase.empty", when="empty"),
            *pager(SCROLL),
            menu_button(),
            state=Showcase.main,
            getter=showcase_getter,
        ),
    )


async def on_photo(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    if not message.photo:
        say(manager, c.t("partner.photo.not_photo"))
        return
    try:
        await c.services.get(PartnerService).add_photo(
            int(start_data(manager).get("ref", 0)), c.user_id, message.photo[-1].file_id
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await restore_card(c, manager)
    await manager.done()
    await c.bot.send_message(c.user_id, c.t("partner.photo.saved"))


async def _notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}


def photo_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.photo.ask"),
            MessageInput(on_photo, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="photo_cancel", on_click=close_form),
            state=PartnerPhoto.photo,
            getter=_notice_getter,
        ),
    )


def _asks_showcase(order: ServiceOrder | None) -> bool:
    """Whether the 晒单 question is still open (she has not said show or hide)."""
    return order is not None and order.may_show is None and order.state == OrderState.CONFIRMED


async def on_comment(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    text, voice = message.text or "", message.voice.file_id if message.voice else None
    if not text.strip() and voice is None:
        say(manager, c.t("partner.comment.unsupported"))
        return
    try:
        order = await c.services.get(PartnerService).set_comment(
            int(start_data(manager).get("ref", 0)), c.user_id, text, voice
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.done()
    saved = c.t("partner.comment.saved")
    if _asks_showcase(order):
        # The question the comment form took the place of, asked again here.
        await c.bot.send_message(
            c.user_id,
            f"{saved}\n{c.t('partner.showcase_ask')}",
            reply_markup=showcase_keyboard(c.t, order),
        )
        return
    await c.bot.send_message(c.user_id, saved)


async def on_comment_cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """No comment after all: the form becomes the 晒单 question again if it is still open
    (with 写几句评价, should she change her mind)."""
    c = ctx(manager)
    order = await c.services.get(PartnerService).order(int(start_data(manager).get("ref", 0)))
    if not _asks_showcase(order) or order is None or call.message is None:
        await close_form(call, _, manager)  # 写几句评价 comes back where it was
        return
    await manager.done()
    await c.bot.edit_message_text(
        c.t("partner.showcase_ask"),
        chat_id=c.user_id,
        message_id=call.message.message_id,
        reply_markup=showcase_keyboard(c.t, order),
    )


def comment_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.comment.ask"),
            MessageInput(on_comment, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="comment_cancel", on_click=on_comment_cancel),
            state=PartnerComment.text,
            getter=_notice_getter,
        ),
    )
