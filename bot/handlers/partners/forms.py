"""Buttons on pushed partner messages that need more than a press — a reason, a partner
to pick, a message, a photo, the application form — open that form, after the same rule
the service will ask again when it is submitted: a forged or stale press opens nothing."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.state import State
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, ShowMode, StartMode

from bot.dialogs.partners.callbacks import PartnerPress
from bot.dialogs.partners.states import (
    PartnerApply,
    PartnerAssign,
    PartnerComment,
    PartnerHand,
    PartnerPhoto,
    PartnerReject,
    PartnerRelay,
)
from bot.dialogs.partners.views import rated_line
from bot.i18n import Translator
from storage.partners import PartnerError, PartnerService, PartnerState
from storage.partners.rules import PartnerProblem, Side, actions, may_decide
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services

FORMS = frozenset({"call", "nominee", "hand", "msg", "photo", "comment", "assign", "reject"})


async def on_form(
    call: CallbackQuery,
    callback_data: PartnerPress,
    services: Services,
    staffing: Staffing,
    t: Translator,
    dialog_manager: DialogManager,
) -> None:
    service = services.get(PartnerService)
    scoped = await Scoped.of(services, staffing)
    try:
        state, data = await _form(service, scoped, callback_data, call.from_user.id, staffing)
    except PartnerError as exc:
        await call.answer(t(f"partner.problem.{exc.problem.value}"), show_alert=True)
        return
    await call.answer()
    # The form opens below the pressed message, never in its place: the card with the
    # address, the application, the rating she gave stay in the chat. Its buttons come
    # back where they still apply (restore_card).
    card = call.message
    if card is not None:
        data["card"] = card.message_id
        markup = getattr(card, "reply_markup", None)
        if markup is not None:
            data["card_markup"] = markup.model_dump(mode="json", exclude_none=True)
    await dialog_manager.start(
        state, data=data, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
    )
    if callback_data.action == "comment":
        await _rating_stays(call, service, callback_data.ref, t)


async def _rating_stays(
    call: CallbackQuery, service: PartnerService, ref: int, t: Translator
) -> None:
    """The comment form took the buttons off the message that asked about 晒单; it keeps
    her rating, and the question is asked again below once she has commented (or
    cancelled), where she will see it."""
    order = await service.order(ref)
    message = call.message
    if order is None or order.may_show is not None or message is None or call.bot is None:
        return
    text = rated_line(t, order)
    if getattr(message, "text", None) == text:
        return
    await call.bot.edit_message_text(text, chat_id=call.from_user.id, message_id=message.message_id)


async def _form(
    service: PartnerService, scoped: Scoped, pressed: PartnerPress, me: int, staffing: Staffing
) -> tuple[State, dict[str, Any]]:
    """The form this press opens and its start data; PartnerError when it may not."""
    action, ref = pressed.action, pressed.ref
    if action == "call":  # 我要报名 under a recruitment call, while it is open
        recruitment = await service.open_call(ref)
        await _not_a_partner_yet(service, me)
        return PartnerApply.name, {"call_id": recruitment.id, "skills": recruitment.skills}
    if action == "nominee":  # 去报名 under a nomination addressed to this person
        nomination = await service.nomination_for(ref, me)
        await _not_a_partner_yet(service, me)
        return PartnerApply.name, {"nominated_by": nomination.by_id or 0}
    if action in ("assign", "reject"):
        await _may_decide(service, scoped, action, ref, staffing)
        return (PartnerAssign.pick if action == "assign" else PartnerReject.reason), {"ref": ref}
    order = await scoped.order(ref)
    if order is None:
        # Out of the presser's scope reads as a button that no longer applies, exactly
        # like an order that does not exist.
        raise PartnerError(PartnerProblem.WRONG_STATE)
    if action == "hand":
        team = await service.team(order.team_id) if order.team_id else None
        if team is None or team.leader_id != me or order.partner_id != me:
            raise PartnerError(PartnerProblem.WRONG_STATE)
        return PartnerHand.pick, {"ref": ref}
    side = (
        Side.PARTNER
        if order.partner_id == me
        else Side.RESIDENT
        if me in (order.resident_id, order.ordered_by)
        else None
    )
    if side is None or action not in actions(side, order.state):
        raise PartnerError(PartnerProblem.WRONG_STATE)
    form = {"msg": PartnerRelay.message, "photo": PartnerPhoto.photo}.get(action)
    return (form or PartnerComment.text), {"ref": ref}


async def _not_a_partner_yet(service: PartnerService, me: int) -> None:
    partner = await service.partner(me)
    if partner is not None and partner.state != PartnerState.REJECTED:
        raise PartnerError(PartnerProblem.ALREADY)


async def _may_decide(
    service: PartnerService, scoped: Scoped, action: str, ref: int, staffing: Staffing
) -> None:
    if action == "assign":
        order = await scoped.order(ref)
        if order is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await service.hierarchy.get(order.community_id))
        if problem is None and "assign" not in actions(Side.STAFF, order.state):
            problem = PartnerProblem.WRONG_STATE
    else:
        partner = await scoped.application(ref)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await service.hierarchy.get(partner.community_id))
        if problem is None and partner.state != PartnerState.PENDING:
            problem = PartnerProblem.ALREADY
    if problem is not None:
        raise PartnerError(problem)
