"""Buttons on pushed council messages: RSVP under a reminder, a ballot's options, the live
tally, and 提议题 under the call for topics (which opens the form). The service decides;
a refused press changes nothing and says why. A press that changed something re-marks
the pressed message's buttons when that message is there to see (one that changed
nothing leaves it alone: Telegram refuses an edit that changes nothing)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.council.callbacks import CouncilPress
from bot.dialogs.council.states import CouncilHome
from bot.dialogs.council.views import (
    ANSWERS,
    ballot_keyboard,
    closed_card_text,
    marked,
    option_label,
    rsvp_actions,
    rsvp_data,
    tally_lines,
)
from bot.i18n import Translator
from bot.quick import Pressed, QuickPress
from bot.remark import remark
from storage.council import (
    Cast,
    ClosedCard,
    CouncilError,
    CouncilProblem,
    CouncilService,
    VoteState,
)
from storage.council.rules import topics_open
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services
from storage.users import User

ALERT_LIMIT = 200  # characters Telegram shows in a callback alert


def _actions_shown(call: CallbackQuery, meeting_id: int) -> list[tuple[str, str]]:
    """The council buttons under the pressed notice (the call for topics has one more)."""
    shown = getattr(call.message, "reply_markup", None)
    datas = {b.callback_data for row in (shown.inline_keyboard if shown else []) for b in row}
    propose = CouncilPress(action="propose", ref=meeting_id).pack() in datas
    return rsvp_actions(meeting_id, propose=propose)


async def write_rsvps(
    services: Services, presses: Sequence[Pressed]
) -> list[bool | CouncilProblem]:
    """Per press: whether the answer changed, or why it was refused."""
    service = services.get(CouncilService)
    outcomes: list[bool | CouncilProblem] = []
    for press in presses:
        data: CouncilPress = press.data
        if press.user is None or not 0 <= data.arg < len(ANSWERS):
            outcomes.append(CouncilProblem.NOT_RESIDENT)
            continue
        try:
            outcomes.append(await service.rsvp(data.ref, press.user, ANSWERS[data.arg]))
        except CouncilError as exc:
            outcomes.append(exc.problem)
    return outcomes


async def on_rsvp(
    call: CallbackQuery, callback_data: CouncilPress, outcome: bool | CouncilProblem, t: Translator
) -> None:
    if isinstance(outcome, CouncilProblem):
        await call.answer(t(f"council.problem.{outcome.value}"), show_alert=True)
        return
    answer = ANSWERS[callback_data.arg]
    await call.answer(t(f"council.rsvp.done_{answer.value}"))
    if outcome:
        meeting_id = callback_data.ref
        await remark(
            call, marked(t, _actions_shown(call, meeting_id), rsvp_data(meeting_id, answer))
        )


async def write_ballots(
    services: Services, presses: Sequence[Pressed]
) -> list[Cast | ClosedCard | CouncilProblem]:
    """The presses of one vote's ballots, written together (the lane groups by vote). A
    press on one of the vote's cards after it closed gets what the card is to show."""
    vote_id = presses[0].data.ref
    service = services.get(CouncilService)
    outcomes: list[Cast | ClosedCard | CouncilProblem] = list(
        await service.cast_many(vote_id, [(p.user, p.data.arg) for p in presses])
    )
    late = [
        i
        for i, (press, outcome) in enumerate(zip(presses, outcomes, strict=True))
        if outcome is CouncilProblem.CLOSED and _is_card(press.call, vote_id)
    ]
    if late:
        cards = await service.late_cards(
            vote_id, [(presses[i].call.from_user.id, _message_id(presses[i].call)) for i in late]
        )
        for i, card in zip(late, cards, strict=True):
            outcomes[i] = card or CouncilProblem.CLOSED
    return outcomes


def _message_id(call: CallbackQuery) -> int:
    return call.message.message_id if call.message is not None else 0


def _is_card(call: CallbackQuery, vote_id: int) -> bool:
    """The pressed message is a ballot card of this vote (a forged press elsewhere is
    never turned into one)."""
    shown = getattr(call.message, "reply_markup", None)
    for row in shown.inline_keyboard if shown else []:
        for button in row:
            data = button.callback_data or ""
            if data.startswith(CouncilPress.__prefix__ + CouncilPress.__separator__):
                try:
                    press = CouncilPress.unpack(data)
                except (TypeError, ValueError):
                    continue
                if press.action == "ballot" and press.ref == vote_id:
                    return True
    return False


async def _show_closed(call: CallbackQuery, card: ClosedCard, t: Translator) -> None:
    """The late-pressed card becomes what the vote came to; uncounted yet (its time is up,
    the sweep has not closed it), it only loses its buttons."""
    if not card.counted:
        await remark(call, None)
        return
    if call.bot is not None and call.message is not None:
        await call.bot.edit_message_text(
            text=closed_card_text(t, card),
            chat_id=call.from_user.id,
            message_id=call.message.message_id,
            parse_mode=None,
            reply_markup=None,
        )


async def on_ballot(
    call: CallbackQuery,
    callback_data: CouncilPress,
    outcome: Cast | ClosedCard | CouncilProblem,
    t: Translator,
) -> None:
    if isinstance(outcome, ClosedCard):
        await call.answer(t("council.problem.closed"), show_alert=True)
        await _show_closed(call, outcome, t)
        return
    if isinstance(outcome, CouncilProblem):
        await call.answer(t(f"council.problem.{outcome.value}"), show_alert=True)
        return
    vote, changed = outcome.vote, outcome.changed
    choice = option_label(t, vote.options[callback_data.arg])
    await call.answer(t("council.vote.cast" if changed else "council.vote.same", option=choice))
    if changed:
        await remark(call, ballot_keyboard(t, vote, callback_data.arg))


async def on_tally(
    call: CallbackQuery,
    callback_data: CouncilPress,
    services: Services,
    user: User | None,
    staffing: Staffing,
    t: Translator,
) -> None:
    """A live vote's counts so far, to residents of its community."""
    service = services.get(CouncilService)
    vote = await (await Scoped.of(services, staffing)).vote(callback_data.ref)
    meeting = await service.meeting(vote.meeting_id) if vote else None
    mine = await service.community_of(user.building_id if user else None)
    if vote is None or meeting is None or mine is None or mine.id != meeting.community_id:
        await call.answer(t("council.problem.not_resident"), show_alert=True)
        return
    if not vote.live and vote.state == VoteState.OPEN:
        await call.answer(t("council.vote.hidden"), show_alert=True)
        return
    counts = (vote.result or {}).get("counts") or await service.counts(vote)
    text = tally_lines(t, vote, counts)
    if len(text) <= ALERT_LIMIT:
        await call.answer(text, show_alert=True)
        return
    # Too long for an alert (ten long options): as a message, never cut.
    await call.answer()
    if call.bot is not None:
        await call.bot.send_message(call.from_user.id, text, parse_mode=None)


async def on_propose(
    call: CallbackQuery,
    callback_data: CouncilPress,
    services: Services,
    user: User | None,
    staffing: Staffing,
    t: Translator,
    dialog_manager: DialogManager,
) -> None:
    service = services.get(CouncilService)
    meeting = await (await Scoped.of(services, staffing)).meeting(callback_data.ref)
    mine = await service.community_of(user.building_id if user else None)
    if meeting is None or mine is None or mine.id != meeting.community_id:
        await call.answer(t("council.problem.not_resident"), show_alert=True)
        return
    if not topics_open(meeting, services.now(), service.policy):
        await call.answer(t(f"council.problem.{CouncilProblem.CUT_OFF.value}"), show_alert=True)
        return
    await call.answer()
    await dialog_manager.start(
        CouncilHome.propose, data={"meeting_id": meeting.id}, mode=StartMode.RESET_STACK
    )


# A whole community may press these within a minute (bot/quick.py).
QUICK = (
    QuickPress(CouncilPress, lambda d: d.action == "rsvp", write_rsvps, on_rsvp),
    QuickPress(
        CouncilPress,
        lambda d: d.action == "ballot",
        write_ballots,
        on_ballot,
        group=lambda d: d.ref,
    ),
)


def build_router() -> Router:
    router = Router(name="council.buttons")
    router.callback_query.register(on_tally, CouncilPress.filter(F.action == "tally"))
    router.callback_query.register(on_propose, CouncilPress.filter(F.action == "propose"))
    return router
