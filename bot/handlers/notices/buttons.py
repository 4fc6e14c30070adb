"""Buttons on pushed notice messages: a recipient's 已收到, and the sender's pause,
resume and cancel under the progress message. Each asks the rule in the domain layer;
a forged press (someone the notice never reached, another officer's notice) does
nothing but say so."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.dialogs.notices.callbacks import NoticeAckPress, NoticeControl
from bot.dialogs.notices.views import ack_keyboard
from bot.i18n import Translator
from storage.notices import NoticeService, may_manage
from storage.notices.service import ASKING
from storage.roles import Staffing
from storage.services import Services


async def on_ack(
    call: CallbackQuery, callback_data: NoticeAckPress, services: Services, t: Translator
) -> None:
    result = await services.get(NoticeService).acknowledge(
        callback_data.notice_id, call.from_user.id
    )
    if result is True:
        await call.answer(t("notice.ack_thanks"))
        if call.message is not None:
            markup = ack_keyboard(t, callback_data.notice_id, acked=True)
            # The message had "已收到"; now "已确认": a real change, never an empty edit.
            await call.bot.edit_message_reply_markup(  # type: ignore[union-attr]
                chat_id=call.from_user.id,
                message_id=call.message.message_id,
                reply_markup=markup,
            )
        return
    if result is False:
        await call.answer(t("notice.ack_already"))
        return
    await call.answer(t("notice.ack_not_yours"), show_alert=True)


async def on_control(
    call: CallbackQuery,
    callback_data: NoticeControl,
    services: Services,
    staffing: Staffing,
    t: Translator,
) -> None:
    service = services.get(NoticeService)
    notice = await service.get(callback_data.notice_id)
    node = await services.hierarchy.get(notice.node_id) if notice else None
    problem = may_manage(staffing, notice, node)
    if problem is not None:
        await call.answer(t(f"notice.problem.{problem.value}"), show_alert=True)
        return
    assert notice is not None
    action = callback_data.action
    if action == "pause":
        await service.pause(notice)
    elif action == "resume":
        await service.resume(notice)
    elif action == "cancel" and call.message is not None:
        # Cancelling cannot be undone: ask first, on the same message (once: a second
        # press would change nothing on it).
        if notice.status_shown == ASKING:
            await call.answer(t("notice.cancel_ask"))
            return
        notice.status_shown = ASKING  # the next progress update puts the buttons back
        ask = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("notice.button.cancel_yes"),
                        callback_data=NoticeControl(
                            action="cancel_yes", notice_id=notice.id
                        ).pack(),
                    ),
                    InlineKeyboardButton(
                        text=t("notice.button.cancel_no"),
                        callback_data=NoticeControl(action="cancel_no", notice_id=notice.id).pack(),
                    ),
                ]
            ]
        )
        await call.answer(t("notice.cancel_ask"))
        await call.bot.edit_message_reply_markup(  # type: ignore[union-attr]
            chat_id=call.from_user.id, message_id=call.message.message_id, reply_markup=ask
        )
        return
    elif action == "cancel_yes":
        await service.cancel(notice)
    else:  # "cancel_no": the next progress update puts the buttons back
        await call.answer(t("notice.done.cancel_no"))
        return
    await services.audit.record(
        actor_id=call.from_user.id,
        action=f"notice.{action}",
        at=services.now(),
        object_type="notice",
        object_id=notice.id,
    )
    # The progress message shows the new state at its next update, within seconds.
    await call.answer(t(f"notice.done.{action}"))


def build_router() -> Router:
    router = Router(name="notices.buttons")
    router.callback_query.register(on_ack, NoticeAckPress.filter())
    router.callback_query.register(on_control, NoticeControl.filter())
    return router
