"""Resident side of appeals outside the dialogs: /new, /sos, /appeals, the rating buttons
on "resolved" messages and the "view" button on status messages.

Buttons on pushed messages can be old, forwarded or forged: every press re-checks who
presses and the appeal's state, and a refused press changes nothing."""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, ShowMode, StartMode

from bot.dialogs.appeals.callbacks import AppealOpen, RateAction
from bot.dialogs.appeals.states import FileAppeal, MyAppeals, RateAppeal, UrgentCall
from bot.dialogs.appeals.views import holder_name
from bot.dialogs.onboarding.states import Onboarding
from bot.i18n import Translator
from storage.appeals import AppealError, AppealFollower, AppealService, Problem, Rating
from storage.appeals import State as AppealState
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services
from storage.users import User

# A dialog pushed on top of an unfinished form keeps the form underneath; past this many
# dialogs the stack is reset instead.
MAX_STACK = 10


def _in_form(manager: DialogManager) -> bool:
    return manager.has_context() and manager.current_context().state.group is FileAppeal


def _start_mode(manager: DialogManager) -> StartMode:
    """Open on top of an unfinished form (so nothing typed is lost), else afresh."""
    if _in_form(manager) and len(manager.current_stack().intents) < MAX_STACK:
        return StartMode.NORMAL
    return StartMode.RESET_STACK


async def _needs_onboarding(
    message: Message, manager: DialogManager, user: User | None, t: Translator, building: bool
) -> bool:
    if user is None or not user.has_consented:
        await message.answer(t("resident_appeal.need_consent"))
        await manager.start(Onboarding.consent, mode=StartMode.RESET_STACK, data={})
        return True
    if building and user.building_id is None:
        await message.answer(t("resident_appeal.need_building"))
        await manager.start(
            Onboarding.community, mode=StartMode.RESET_STACK, data={"mode": "change"}
        )
        return True
    return False


async def _open(manager: DialogManager, state: State) -> None:
    await manager.start(state, mode=_start_mode(manager), show_mode=ShowMode.SEND)


async def on_new(
    message: Message, dialog_manager: DialogManager, user: User | None, t: Translator
) -> None:
    if await _needs_onboarding(message, dialog_manager, user, t, building=True):
        return
    if _in_form(dialog_manager):
        # Already filing: show the form again where it was, with everything kept.
        await dialog_manager.show(ShowMode.SEND)
        return
    await _open(dialog_manager, FileAppeal.category)


async def on_sos(
    message: Message, dialog_manager: DialogManager, user: User | None, t: Translator
) -> None:
    if await _needs_onboarding(message, dialog_manager, user, t, building=True):
        return
    await _open(dialog_manager, UrgentCall.confirm)


async def on_appeals(
    message: Message, dialog_manager: DialogManager, user: User | None, t: Translator
) -> None:
    if await _needs_onboarding(message, dialog_manager, user, t, building=False):
        return
    await _open(dialog_manager, MyAppeals.list)


async def on_open(
    callback: CallbackQuery,
    callback_data: AppealOpen,
    dialog_manager: DialogManager,
    services: Services,
    staffing: Staffing,
    t: Translator,
) -> None:
    # Read within the presser's scope; staff who may see it at work still open only
    # their own or followed appeals here (the resident's screens).
    appeal = await (await Scoped.of(services, staffing)).appeal(callback_data.appeal_id)
    user_id = callback.from_user.id
    allowed = appeal is not None and (
        appeal.resident_id == user_id
        or await services.session.get(AppealFollower, (appeal.id, user_id)) is not None
    )
    if appeal is None or not allowed:
        await callback.answer(t("appeal.problem.not_allowed"), show_alert=True)
        return
    await callback.answer()
    await dialog_manager.start(
        MyAppeals.detail,
        data={"appeal_id": appeal.id},
        mode=_start_mode(dialog_manager),
        show_mode=ShowMode.SEND,
    )


async def on_rate(
    callback: CallbackQuery,
    callback_data: RateAction,
    dialog_manager: DialogManager,
    services: Services,
    staffing: Staffing,
    t: Translator,
) -> None:
    try:
        rating = Rating(callback_data.rating)
    except ValueError:
        await callback.answer(t("resident_appeal.rate.stale"), show_alert=True)
        return
    appeal = await (await Scoped.of(services, staffing)).appeal(callback_data.appeal_id)
    if appeal is None or appeal.resident_id != callback.from_user.id:
        await callback.answer(t("resident_appeal.rate.not_yours"), show_alert=True)
        return
    if appeal.state != AppealState.RESOLVED:
        # (rated_at alone says nothing: it stays set when a rating reopened the appeal.)
        done = appeal.rating is not None and appeal.state in (
            AppealState.RATED,
            AppealState.CLOSED,
        )
        key = "resident_appeal.rate.already" if done else "resident_appeal.rate.stale"
        await callback.answer(t(key), show_alert=True)
        return
    try:
        appeal = await services.get(AppealService).rate(appeal.id, callback.from_user.id, rating)
    except AppealError as exc:
        key = (
            "resident_appeal.rate.stale"
            if exc.problem is Problem.WRONG_STATE
            else f"appeal.problem.{exc.problem.value}"
        )
        await callback.answer(t(key), show_alert=True)
        return
    reopened = appeal.state == AppealState.REOPENED
    unsatisfied = rating is Rating.UNSATISFIED
    await callback.answer(t("resident_appeal.rate.thanks"))
    # The comment window first: opening it takes the buttons off the pressed message,
    # which is then edited to show the rating. After 不满意 it asks for the reason, which
    # goes to whoever handled the appeal.
    await dialog_manager.start(
        RateAppeal.comment,
        data={"appeal_id": appeal.id, "reason": reopened},
        mode=_start_mode(dialog_manager),
        show_mode=ShowMode.SEND,
    )
    message = callback.message
    if isinstance(message, Message):
        shown = message.html_text if (message.text or message.caption) else ""
        result = t("resident_appeal.rate.done", rating=t(f"appeal.rating.{rating.value}"))
        level = await holder_name(services.session, appeal, t)
        if reopened:
            result += "\n" + t("resident_appeal.rate.reopened", level=level)
        elif unsatisfied:
            result += "\n" + t("resident_appeal.rate.closed_unsatisfied", level=level)
        with contextlib.suppress(TelegramAPIError):
            await message.edit_text(f"{shown}\n\n{result}".strip(), reply_markup=None)


def build_router() -> Router:
    router = Router(name="appeals_resident")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_new, Command("new"))
    router.message.register(on_sos, Command("sos"))
    router.message.register(on_appeals, Command("appeals"))
    router.callback_query.register(on_open, AppealOpen.filter())
    router.callback_query.register(on_rate, RateAction.filter())
    return router
