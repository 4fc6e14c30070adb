"""Buttons on pushed partner messages that change something (forms.py opens the ones
that need more than a press). Each asks the service, which asks the rules: a
forged press (a partner without the skill, another community, someone else's order)
changes nothing but gets a sentence saying why. A press that changed something updates
the pressed message's buttons to what the new state allows; one that changed nothing
leaves the message alone (Telegram refuses an edit that changes nothing). A change is
committed before the presser is told of it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from bot.dialogs.notices.written import send_text_notice
from bot.dialogs.partners.callbacks import PartnerPress
from bot.dialogs.partners.views import (
    CONFIRMS,
    keyboard,
    partner_keyboard,
    rated_line,
    resident_keyboard,
)
from bot.handlers.partners.forms import FORMS, on_form
from bot.i18n import Translator
from bot.remark import remark
from storage.notices import AudienceRole
from storage.partners import (
    PartnerError,
    PartnerService,
    Rating,
    Recognition,
    ServiceOrder,
)
from storage.roles import Staffing
from storage.services import Services

RATINGS = {
    "confirm_satisfied": Rating.SATISFIED,
    "confirm_fair": Rating.FAIR,
    "confirm_unsatisfied": Rating.UNSATISFIED,
}


async def on_press(
    call: CallbackQuery,
    callback_data: PartnerPress,
    services: Services,
    staffing: Staffing,
    t: Translator,
) -> None:
    service = services.get(PartnerService)
    action, ref, me = callback_data.action, callback_data.ref, call.from_user.id
    if action in ("nominee_no", "join", "join_no"):
        try:
            if action == "nominee_no":
                await service.decline_nomination(ref, me)
            else:
                await service.answer_invite(ref, me, accept=action == "join")
        except PartnerError as exc:
            await call.answer(t(f"partner.problem.{exc.problem.value}"), show_alert=True)
            return
        await services.commit()
        await call.answer(t(f"partner.done.{action}"))
        await remark(call, None)
        return
    if action == "recognise":
        try:
            recognition = await service.publish_recognition(staffing, ref)
        except PartnerError as exc:
            await call.answer(t(f"partner.problem.{exc.problem.value}"), show_alert=True)
            return
        sent = await publish_recognition(services, t, recognition, me)
        await services.commit()
        await call.answer(t("partner.done.recognise", n=sent))
        await remark(call, None)
        return
    order: ServiceOrder | None = None
    try:
        if action == "take":
            order = await service.take(ref, me)
        elif action == "team_take":
            order = await service.take_as_team(ref, me)
        elif action in ("accept", "decline"):
            order = await service.answer_assignment(ref, me, accept=action == "accept")
        elif action in ("visited", "done", "release"):
            order = await service.progress(ref, me, action)
        elif action in CONFIRMS:
            order = await service.confirm(ref, me, RATINGS[action])
        elif action == "not_done":
            order = await service.not_done(ref, me)
        elif action in ("show", "hide"):
            order = await service.set_showcase(ref, me, action == "show")
        elif action == "cancel":
            order = await service.cancel(ref, me, staffing)
        elif action == "approve":
            await service.decide(staffing, ref, approve=True)
        else:
            await call.answer(t("partner.problem.wrong_state"), show_alert=True)
            return
    except PartnerError as exc:
        await call.answer(t(f"partner.problem.{exc.problem.value}"), show_alert=True)
        return
    # Committed before anyone is told: "接单成功" is never said of a take that then fails
    # to commit, and no row lock is held while the Bot API answers.
    await services.commit()
    done = "confirm" if action in CONFIRMS else "take" if action == "team_take" else action
    await call.answer(t(f"partner.done.{done}"))
    if order is not None and (action in CONFIRMS or action in ("show", "hide")):
        # The resident's message says what she decided, not only its buttons: rated,
        # then the 晒单 question, then her answer.
        await _replace_text(call, _rated_text(t, order, action), _after(t, action, order, me))
        return
    await remark(call, _after(t, action, order, me))


def _rated_text(t: Translator, order: ServiceOrder, action: str) -> str:
    rated = rated_line(t, order)
    follow = {"show": "partner.done.show", "hide": "partner.done.hide"}.get(
        action, "partner.showcase_ask"
    )
    return f"{rated}\n{t(follow)}"


async def _replace_text(
    call: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    message = call.message
    if message is None or call.bot is None:
        return
    shown = getattr(message, "text", None)
    if shown == text and (getattr(message, "reply_markup", None) or None) == (markup or None):
        return
    await call.bot.edit_message_text(
        text, chat_id=call.from_user.id, message_id=message.message_id, reply_markup=markup
    )


def _after(
    t: Translator, action: str, order: ServiceOrder | None, me: int
) -> InlineKeyboardMarkup | None:
    """What the pressed message offers next: what the new state allows its presser (the
    card of a taken order is the one sent after taking it, not the offer)."""
    if order is None or action in ("take", "team_take", "accept", "cancel", "decline"):
        return None
    if action in ("show", "hide"):
        # 晒单 answered: what is left to offer is a comment, if she has not written one.
        has_comment = order.comment or order.comment_voice_file_id
        return None if has_comment else keyboard(t, [["comment"]], order.id)
    if order.partner_id == me and action in ("visited", "done"):
        return partner_keyboard(t, order)
    if action in CONFIRMS:
        return resident_keyboard(t, order)
    return None


async def publish_recognition(
    services: Services, t: Translator, recognition: Recognition, author_id: int
) -> int:
    """The confirmed recognition goes out as a notice to the community's residents and
    partners (plain text with entities, as every notice); how many it reaches."""
    community = await services.hierarchy.get(recognition.community_id)
    if community is None:
        return 0
    names = []
    for partner_id in recognition.partner_ids:
        partner = await services.get(PartnerService).partner(partner_id)
        if partner is not None:
            names.append(partner.real_name)
    notice = await send_text_notice(
        services,
        author_id=author_id,
        node=community,
        roles=[AudienceRole.RESIDENTS, AudienceRole.PARTNERS],
        body=t(
            "partner.recognise.body",
            month=recognition.month,
            names=t("common.list_sep").join(names),
        ),
        title=t("partner.recognise.title", month=recognition.month),
    )
    recognition.notice_id = notice.id
    return notice.recipients


def build_router() -> Router:
    router = Router(name="partners.buttons")
    router.callback_query.register(on_form, PartnerPress.filter(F.action.in_(FORMS)))
    router.callback_query.register(on_press, PartnerPress.filter())
    return router
