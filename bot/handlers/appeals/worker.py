"""Staff side of appeals: the buttons on pushed task and reminder messages, and /tasks.

A pushed button may be old, pressed twice, pressed by two workers at once, or forged:
every press re-reads the appeal and asks the domain's rule (storage.appeals.rules), and
the service decides again when it acts; a refusal is shown as an alert and changes
nothing."""

from __future__ import annotations

import html
import logging
import re

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram_dialog import DialogManager, ShowMode, StartMode

from bot.config import Settings
from bot.dialogs.appeals.callbacks import TaskAction
from bot.dialogs.appeals.common import problem_text
from bot.dialogs.appeals.states import Tasks
from bot.dialogs.appeals.tasks import INPUT_ACTIONS
from bot.dialogs.appeals.views import (
    Viewing,
    full_pages,
    owner_name,
    task_buttons,
    task_card,
)
from bot.i18n import Translator
from storage.appeals import (
    Action,
    Appeal,
    AppealError,
    AppealPolicy,
    AppealService,
    Problem,
    refusal,
)
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services
from storage.users import User

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1  # the appeals.id column; a forged bigger number is simply not found

# Refusals after which the presser may still see the appeal: refresh their message.
_REFRESH = (
    Problem.ALREADY_TAKEN,
    Problem.WRONG_STATE,
    Problem.CONFLICT,
    Problem.TOP_LEVEL,
    Problem.ESCALATED,
)

_TAG = re.compile(r"<[^>]+>")


def _buttons(markup: InlineKeyboardMarkup | None) -> list[list[tuple[str, str | None]]]:
    rows = markup.inline_keyboard if markup else []
    return [[(b.text, b.callback_data) for b in row] for row in rows]


def _unchanged(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Telegram refuses an edit that changes nothing; the stale press changed nothing."""
    visible = html.unescape(_TAG.sub("", text))
    return message.text == visible and _buttons(message.reply_markup) == _buttons(markup)


async def _show(
    call: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Put ``text`` on the pressed message, or send it when that message is gone."""
    message = call.message
    if isinstance(message, Message) and message.text is not None:
        if _unchanged(message, text, markup):
            return
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("could not edit task message %s: %s", message.message_id, exc)
    await bot.send_message(call.from_user.id, text, reply_markup=markup)


def _action(value: str) -> Action | None:
    return Action(value) if value in set(Action) else None


async def on_task_action(
    call: CallbackQuery,
    callback_data: TaskAction,
    services: Services,
    staffing: Staffing,
    user: User | None,
    t: Translator,
    settings: Settings,
    bot: Bot,
    dialog_manager: DialogManager,
) -> None:
    me = call.from_user.id
    appeal_id = callback_data.appeal_id
    view = Viewing(
        services.session, t, settings.zone, services.config(AppealPolicy), services.now()
    )

    async def load() -> Appeal | None:
        return await (await Scoped.of(services, staffing)).appeal(appeal_id)

    async def refuse(problem: Problem) -> None:
        appeal = await load()
        if problem is Problem.CONFLICT and appeal is not None and appeal.owner_id:
            problem = Problem.ALREADY_TAKEN
        text = problem_text(t, problem)
        if problem is Problem.ALREADY_TAKEN and appeal is not None and appeal.owner_id:
            if appeal.owner_id == me:
                text = t("tasks.already_yours")
            else:
                text = t("tasks.taken_by", who=html.unescape(await owner_name(view, appeal)))
        await call.answer(text, show_alert=True)
        if (
            appeal is None
            or problem not in _REFRESH
            or refusal(Action.OPEN, appeal, staffing) is not None
        ):
            return
        headline = ""
        if problem is Problem.ALREADY_TAKEN:
            headline = t("tasks.card.yours" if appeal.owner_id == me else "tasks.card.taken")
        card = await task_card(view, appeal, staffing, headline=headline)
        await _show(call, bot, card, task_buttons(appeal, staffing, t))

    action = _action(callback_data.action)
    appeal = await load()
    if appeal is None:
        # Nothing of it is shown; the refusal only says whether the number is one of
        # someone else's tasks (numbers are sequential: that much is no secret).
        known = (
            0 < appeal_id <= MAX_ID and (await services.session.get(Appeal, appeal_id)) is not None
        )
        await refuse(Problem.NOT_ALLOWED if known else Problem.NOT_FOUND)
        return
    problem = Problem.NOT_ALLOWED if action is None else refusal(action, appeal, staffing)
    if problem is not None or action is None:
        await refuse(problem or Problem.NOT_FOUND)
        return

    if action is Action.ACCEPT:
        try:
            appeal = await services.get(AppealService).accept(appeal_id, staffing)
        except AppealError as exc:
            if exc.problem is Problem.CONFLICT:
                # Someone else's accept won the race: start again from what is stored.
                nodes = [g.node for g in staffing.grants if g.node is not None]
                await services.rollback(user, *nodes)
            await refuse(exc.problem)
            return
        await call.answer(t("tasks.accepted_toast"))
        card = await task_card(view, appeal, staffing, headline=t("tasks.card.accepted"))
        await _show(call, bot, card, task_buttons(appeal, staffing, t))
        return

    if action is Action.OPEN:
        await call.answer()
        pages = await full_pages(view, appeal, staffing, headline=t("tasks.card.opened"))
        await _show(call, bot, pages[0], task_buttons(appeal, staffing, t))
        for page in pages[1:]:
            await bot.send_message(me, page)
        return

    await call.answer()
    await dialog_manager.start(
        INPUT_ACTIONS[action],
        data={"appeal_id": appeal_id, "action": action.value},
        mode=StartMode.RESET_STACK,
        show_mode=ShowMode.SEND,
    )


async def on_bad_task_data(call: CallbackQuery, t: Translator) -> None:
    """A task button whose data does not even parse: forged or from an old version."""
    await call.answer(t("common.stale_button"), show_alert=True)


async def on_tasks(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_staff:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(Tasks.list, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="appeals_worker")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_tasks, Command("tasks"))
    router.callback_query.register(on_task_action, TaskAction.filter())
    router.callback_query.register(on_bad_task_data, F.data.startswith(f"{TaskAction.__prefix__}:"))
    return router
