"""Votes, for staff: the question, the default options or 2-10 of their own, when it
closes, the quorum, live or hidden counts, attendees only; then each vote's turnout (its
counts only once closed, unless live), paper ballots, and closing it (asked first: it
cannot be undone) with the result published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.council.common import council, hosted_meeting, problem_text
from bot.dialogs.council.publish import publish_result
from bot.dialogs.council.states import CouncilHost
from bot.dialogs.council.views import (
    option_label,
    short,
    tally_lines,
)
from bot.formatting import e
from bot.kit.choice import chosen
from bot.kit.context import ctx
from bot.kit.notice import clear_notice, notice, say
from storage.council import (
    CouncilError,
    VoteState,
)
from storage.council.rules import DEFAULT_OPTIONS, MAX_OPTIONS

CLOSE_AFTER = {
    "none": None,
    "30m": timedelta(minutes=30),
    "2h": timedelta(hours=2),
    "24h": timedelta(hours=24),
}
QUORUMS = (0, 10, 30, 50, 100)


# --- votes -----------------------------------------------------------------------------


async def on_question(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    question = (message.text or "").strip()
    if not question or len(question) > 300:
        say(manager, c.t("council.host.question_bad"))
        return
    manager.dialog_data.update(
        question=question, options=None, closes="none", quorum=0, live=False, attendees=False
    )
    clear_notice(manager)
    await manager.switch_to(CouncilHost.vote_options)


async def on_default_options(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["options"] = None
    await manager.switch_to(CouncilHost.vote_confirm)


async def on_options(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """One option per line, 2 to 10."""
    c = ctx(manager)
    options = [line.strip() for line in (message.text or "").splitlines() if line.strip()]
    if (
        not 2 <= len(options) <= MAX_OPTIONS
        or any(len(o) > 40 for o in options)
        or len(set(options)) != len(options)
    ):
        say(manager, c.t("council.host.options_bad"))
        return
    manager.dialog_data["options"] = options
    clear_notice(manager)
    await manager.switch_to(CouncilHost.vote_confirm)


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    d = dialog_manager.dialog_data
    options = d.get("options") or [f"={k}" for k in DEFAULT_OPTIONS]
    return {
        "notice": notice(dialog_manager),
        "question": e(d.get("question", "")),
        "options": e(" / ".join(option_label(c.t, o) for o in options)),
        "closes": [
            (k, chosen(c.t(f"council.host.closes_{k}"), d.get("closes") == k)) for k in CLOSE_AFTER
        ],
        "quorums": [
            (
                str(q),
                chosen(c.t("council.host.no_quorum") if q == 0 else str(q), d.get("quorum") == q),
            )
            for q in QUORUMS
        ],
        "live_on": bool(d.get("live")),
        "live_off": not d.get("live"),
        "att_on": bool(d.get("attendees")),
        "att_off": not d.get("attendees"),
    }


async def on_closes(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id in CLOSE_AFTER:
        manager.dialog_data["closes"] = item_id


async def on_quorum(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit() and int(item_id) in QUORUMS:
        manager.dialog_data["quorum"] = int(item_id)


def flag(name: str, value: bool) -> Any:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        manager.dialog_data[name] = value

    return handler


async def on_open_vote(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await hosted_meeting(c, manager))[1]
    d = manager.dialog_data
    if meeting is None or not d.get("question"):
        await manager.switch_to(CouncilHost.main)
        return
    after = CLOSE_AFTER.get(str(d.get("closes")))
    try:
        vote = await council(c).open_vote(
            c.staffing,
            meeting.id,
            str(d["question"]),
            options=d.get("options"),
            attendees_only=bool(d.get("attendees")),
            live=bool(d.get("live")),
            quorum=int(d.get("quorum") or 0),
            closes_at=c.clock.now() + after if after else None,
        )
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    for key in ("question", "options"):
        d.pop(key, None)
    manager.dialog_data["vote"] = vote.id
    say(manager, c.t("council.host.vote_opened"))
    await manager.switch_to(CouncilHost.vote)


async def votes_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    votes = await council(c).votes(meeting.id) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "items": [
            (v.id, ("🗳 " if v.state == VoteState.OPEN else "🔒 ") + short(v.question))
            for v in votes
        ],
        "has": bool(votes),
        "empty": not votes,
    }


async def on_vote(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["vote"] = int(item_id)
        await manager.switch_to(CouncilHost.vote)


async def vote_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = council(c)
    vote = await (await c.scoped()).vote(int(dialog_manager.dialog_data.get("vote", 0)))
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    if vote is None or meeting is None or vote.meeting_id != meeting.id:
        return {
            "notice": notice(dialog_manager),
            "text": c.t("council.problem.not_found"),
            "open": False,
        }
    counts = await service.counts(vote)
    paper = list(vote.paper or [])
    if vote.state == VoteState.CLOSED:
        body = tally_lines(c.t, vote, (vote.result or {}).get("counts") or counts)
    elif vote.live:
        body = tally_lines(c.t, vote, counts)
    else:
        body = c.t("council.host.hidden_until_close")
    return {
        "notice": notice(dialog_manager),
        "text": c.t(
            "council.host.vote",
            question=e(vote.question),
            state=c.t(f"council.vote_state.{vote.state}"),
            body=e(body),
            ballots=sum(counts),
            paper=sum(paper),
            eligible=len(await service.eligible(vote, meeting)),
        ),
        "open": vote.state == VoteState.OPEN,
    }


async def close_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Closing asks first, with the figures it will publish."""
    c = ctx(dialog_manager)
    service = council(c)
    vote = await (await c.scoped()).vote(int(dialog_manager.dialog_data.get("vote", 0)))
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    if vote is None or meeting is None or vote.meeting_id != meeting.id:
        return {"text": c.t("council.problem.not_found"), "open": False}
    if vote.state != VoteState.OPEN:
        return {"text": c.t("council.problem.closed"), "open": False}
    return {
        "text": c.t(
            "council.host.close_ask",
            question=e(vote.question),
            ballots=sum(await service.counts(vote)),
            paper=sum(vote.paper or []),
            eligible=len(await service.eligible(vote, meeting)),
        ),
        "open": True,
    }


async def on_close_vote(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    try:
        vote = await council(c).close_vote(int(manager.dialog_data.get("vote", 0)), c.staffing)
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        await manager.switch_to(CouncilHost.vote)
        return
    told = await publish_result(c.services, c.t, vote)
    say(manager, c.t("council.host.vote_closed", n=told))
    await manager.switch_to(CouncilHost.vote)


async def on_paper(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "12 3 1": paper ballots per option, in order."""
    c = ctx(manager)
    parts = (message.text or "").replace(",", " ").replace("，", " ").split()
    if not parts or not all(p.isdigit() for p in parts):
        say(manager, c.t("council.host.paper_bad"))
        return
    try:
        await council(c).record_paper(
            c.staffing, int(manager.dialog_data.get("vote", 0)), [int(p) for p in parts]
        )
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    say(manager, c.t("council.host.paper_saved"))
    await manager.switch_to(CouncilHost.vote)


async def paper_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    vote = await (await c.scoped()).vote(int(dialog_manager.dialog_data.get("vote", 0)))
    options = vote.options if vote else []
    return {
        "notice": notice(dialog_manager),
        "options": e(" / ".join(option_label(c.t, o) for o in options)),
        "n": len(options),
    }
