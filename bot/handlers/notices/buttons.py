"""Buttons on pushed notice messages: a recipient's 已收到, and the sender's pause,
resume and cancel under the progress message. Each asks the rule in the domain layer;
a forged press (someone the notice never reached, another officer's notice) does
nothing but say so."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.notices.callbacks import NoticeAckPress, NoticeControl
from bot.dialogs.notices.states import NoticeWhen
from bot.dialogs.notices.views import (
    PREVIEW,
    ack_keyboard,
    ask_keyboard,
    copy_keyboard,
    progress_keyboard,
    without_receipt,
)
from bot.i18n import Translator
from bot.remark import remark
from storage.notices import NoticeProblem, NoticeService, NoticeState, may_manage
from storage.notices.rules import actions
from storage.notices.service import Shown
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services


async def on_ack(
    call: CallbackQuery, callback_data: NoticeAckPress, services: Services, t: Translator
) -> None:
    if callback_data.notice_id == PREVIEW:  # the sender's preview: nothing to confirm
        await call.answer(t("notice.ack_preview"), show_alert=True)
        return
    service = services.get(NoticeService)
    result = await service.acknowledge(callback_data.notice_id, call.from_user.id)
    if result is NoticeProblem.STOPPED:
        notice = await service.get(callback_data.notice_id)
        recalled = notice is None or notice.state == NoticeState.RECALLED
        key = "notice.receipt_stopped.recalled" if recalled else "notice.receipt_stopped.cancelled"
        await call.answer(t(key))
        shown = getattr(call.message, "reply_markup", None)
        await remark(call, without_receipt(shown, notice))
        return
    if result is True:
        await call.answer(t("notice.ack_thanks"))
        if call.message is not None:
            notice = await service.get(callback_data.notice_id)
            markup = (
                copy_keyboard(t, notice, acked=True)
                if notice is not None
                else ack_keyboard(t, callback_data.notice_id, acked=True)
            )
            # The message had "已收到"; now "已确认": a real change, never an empty edit.
            await remark(call, markup)
        return
    if result is False:
        await call.answer(t("notice.ack_already"))
        return
    await call.answer(t("notice.ack_not_yours"), show_alert=True)


CONFIRMS = ("cancel", "recall")  # irreversible: asked first
ANSWERS = {"cancel_yes": "cancel", "recall_yes": "recall"}
DECLINES = ("cancel_no", "recall_no")


async def on_control(
    call: CallbackQuery,
    callback_data: NoticeControl,
    services: Services,
    staffing: Staffing,
    t: Translator,
    dialog_manager: DialogManager,
) -> None:
    service = services.get(NoticeService)
    notice = await (await Scoped.of(services, staffing)).notice(callback_data.notice_id)
    node = await services.hierarchy.get(notice.node_id) if notice else None
    # Out of scope, or no such notice: only its sender may press these, whatever it is.
    problem = may_manage(staffing, notice, node) if notice else NoticeProblem.NOT_ALLOWED
    if problem is not None:
        await call.answer(t(f"notice.problem.{problem.value}"), show_alert=True)
        return
    assert notice is not None
    action = callback_data.action
    if action in DECLINES:
        # The question leaves the message at once; nothing else changes.
        await call.answer(t(f"notice.done.{action}"))
        if service.ask(notice, None) and notice.status_shown:
            shown = Shown.decode(notice.status_shown)
            await remark(call, progress_keyboard(t, notice, shown, services.now()))
        return
    progress = await service.progress(notice)
    allowed = actions(notice.state, progress.failed, notice.created_at, services.now())
    if ANSWERS.get(action, action) not in allowed:
        await call.answer(t("notice.problem.unavailable"), show_alert=True)
        return
    if action in CONFIRMS:
        # Cannot be undone: asked first, on the same message, where the question stays
        # through the progress updates until answered (a double tap asks once).
        await call.answer(t(f"notice.{action}_ask"))
        if service.ask(notice, action):
            await remark(call, ask_keyboard(t, notice.id, action))
        return
    if action == "reschedule":
        await call.answer()
        await dialog_manager.start(
            NoticeWhen.date, data={"notice_id": notice.id}, mode=StartMode.RESET_STACK
        )
        return
    if action == "pause":
        await service.pause(notice)
    elif action == "resume":
        await service.resume(notice)
    elif action == "cancel_yes":
        await service.cancel(notice)
    elif action == "resend":
        await service.resend_failed(notice)
    elif action == "recall_yes":
        await service.recall(notice)
    await services.audit.record(
        actor_id=call.from_user.id,
        action=f"notice.{ANSWERS.get(action, action)}",
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
