"""/council for residents: the next meeting (when, where, what they answered), RSVP, the
topics proposed so far with +1, proposing one (typed or spoken, with a photo if they
like), checking in with the code shown at the meeting, and past meetings; staff get a
button to run it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.council.states import CouncilHome, CouncilHost, CouncilTasks
from bot.dialogs.council.views import (
    ANSWERS,
    agenda_lines,
    ballot_keyboard,
    ballot_text,
    day_of,
    decision_status,
    place_of,
    short,
    when,
)
from bot.formatting import MESSAGE_LIMIT, e, local_time, visible_length
from bot.kit.choice import chosen
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close, menu_button
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.council import (
    Answer,
    CouncilError,
    CouncilService,
    Meeting,
    TopicState,
    VoteState,
)
from storage.council.decisions import DecisionService
from storage.council.rules import HOSTS, checkin_open, rsvp_open, topics_open
from storage.hierarchy import Node

DECISIONS_SHOWN = 15  # decisions listed under a past meeting (the XLSX has them all)
LAST_SHOWN = timedelta(days=31)  # the meeting just held is named on the screen this long


def _service(c: Ctx) -> CouncilService:
    return c.services.get(CouncilService)


async def _mine(c: Ctx) -> tuple[Node | None, Meeting | None]:
    community = await _service(c).community_of(c.user.building_id if c.user else None)
    if community is None:
        return None, None
    return community, await _service(c).next_meeting(community.id)


def _problem(c: Ctx, exc: CouncilError) -> str:
    return c.t(f"council.problem.{exc.problem.value}")


async def home_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    community, meeting = await _mine(c)
    data: dict[str, Any] = {
        "notice": notice(dialog_manager),
        "host": bool(c.staffing.scopes(HOSTS)),
        "none": meeting is None,
        "some": meeting is not None,
        "answers": [],
        "votes": [],
        "rsvp": False,
        "propose": False,
        "checkin": False,
        "subscribed": False,
        "unsubscribed": False,
        "tasks": bool(await c.services.get(DecisionService).decisions_of(c.user_id)),
        "day": day_of(c.t, meeting, service.policy.zone),
    }
    if community is None or meeting is None:
        return data
    now = c.clock.now()
    held = await service.past_meetings(community.id, limit=1)
    last = held[0] if held else None
    answer = await service.answer_of(meeting.id, c.user_id)
    topics = await service.topics(meeting.id)
    data.update(
        community=e(community.name),
        when=when(meeting, service.policy.zone),
        place=e(place_of(c.t, meeting)),
        moved=c.t("council.moved_note", reason=e(meeting.moved_reason))
        if meeting.moved_reason
        else "",
        mine=c.t(f"council.rsvp.mine_{answer}") if answer else c.t("council.rsvp.mine_none"),
        topics=len(topics),
        cutoff=local_time(meeting.starts_at - service.policy.topic_cutoff, service.policy.zone),
        rsvp=rsvp_open(meeting, now),
        answers=[
            (a.value, chosen(c.t(f"council.rsvp.{a.value}"), a.value == answer)) for a in ANSWERS
        ],
        propose=topics_open(meeting, now, service.policy),
        checkin=checkin_open(meeting, now) and not await service.attended(meeting.id, c.user_id),
        # The meeting just held is this month's for residents: where to find it is said.
        last=c.t(
            "council.home.last",
            when=when(last, service.policy.zone),
            state=c.t(f"council.meeting_state.{last.state}"),
        )
        if last is not None and last.id != meeting.id and now - last.starts_at < LAST_SHOWN
        else "",
    )
    data["votes"] = [
        (v.id, "🗳 " + short(v.question))
        for v in await service.votes(meeting.id)
        if v.state == VoteState.OPEN
    ]
    subscribed = await service.subscribed(c.user_id)
    data.update(subscribed=subscribed, unsubscribed=not subscribed)
    return data


async def on_answer(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    meeting = (await _mine(c))[1]
    if meeting is None or c.user is None or item_id not in {a.value for a in ANSWERS}:
        return
    try:
        await _service(c).rsvp(meeting.id, c.user, Answer(item_id))
    except CouncilError as exc:
        say(manager, _problem(c, exc))


async def on_vote_card(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    """The ballot card again (deleted, or never received): the same buttons as the push."""
    c = ctx(manager)
    service = _service(c)
    community, meeting = await _mine(c)
    vote = await (await c.scoped()).vote(int(item_id)) if item_id.isdigit() else None
    if vote is None or meeting is None or community is None or vote.meeting_id != meeting.id:
        return
    if vote.state != VoteState.OPEN:
        say(manager, c.t("council.problem.closed"))
        return
    await c.bot.send_message(
        c.user_id,
        ballot_text(c.t, vote, community.name, service.policy.zone),
        parse_mode=None,
        reply_markup=ballot_keyboard(c.t, vote, await service.choice_of(vote.id, c.user_id)),
    )


def _subscribe(on: bool) -> Any:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        if await _service(c).subscribe(c.user_id, on):
            say(manager, c.t("council.prefs.on_done" if on else "council.prefs.off_done"))

    return handler


# --- topics ----------------------------------------------------------------------------


async def topics_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _mine(c))[1]
    rows = await _service(c).topics(meeting.id) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "items": [
            (
                row.topic.id,
                ("📌 " if row.topic.state == TopicState.ACCEPTED else "")
                + c.t(
                    "council.topic_item",
                    text=short(row.topic.text or c.t("council.voice_topic")),
                    n=row.supports,
                ),
            )
            for row in rows
        ],
        "has": bool(rows),
        "empty": not rows,
        "propose": bool(meeting and topics_open(meeting, c.clock.now(), _service(c).policy)),
        "day": day_of(c.t, meeting, _service(c).policy.zone),
    }


async def on_topic(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["topic"] = int(item_id)
        await manager.switch_to(CouncilHome.topic)


async def topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    topic = await (await c.scoped()).topic(int(dialog_manager.dialog_data.get("topic", 0)))
    meeting = (await _mine(c))[1]
    if topic is None or meeting is None or topic.meeting_id != meeting.id:
        return {
            "notice": notice(dialog_manager),
            "text": c.t("council.problem.not_found"),
            "can": False,
        }
    rows = {r.topic.id: r.supports for r in await service.topics(meeting.id)}
    supported = await service.supported(topic.id, c.user_id)
    return {
        "notice": notice(dialog_manager),
        "text": c.t(
            "council.topic_full",
            text=e(topic.text) or c.t("council.voice_topic"),
            n=rows.get(topic.id, 0),
            state=c.t(f"council.topic_state.{topic.state}"),
        ),
        "can": topic.author_id != c.user_id
        and not supported
        and topic.state in (TopicState.OPEN, TopicState.ACCEPTED)
        and rsvp_open(meeting, c.clock.now()),
        "done": supported,
    }


async def on_support(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if c.user is None:
        return
    try:
        if await _service(c).support(int(manager.dialog_data.get("topic", 0)), c.user):
            say(manager, c.t("council.supported"))
    except CouncilError as exc:
        say(manager, _problem(c, exc))


# --- proposing -------------------------------------------------------------------------


async def propose_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _mine(c))[1]
    service = _service(c)
    return {
        "notice": notice(dialog_manager),
        "when": when(meeting, service.policy.zone) if meeting else "—",
        "max": 1000,
    }


async def on_proposal(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """Text, a voice note, or a photo with a caption: one message is one topic."""
    c = ctx(manager)
    meeting = (await _mine(c))[1]
    wanted = start_data(manager).get("meeting_id")
    if c.user is None or meeting is None or (wanted and wanted != meeting.id):
        say(manager, c.t("council.problem.cut_off"))
        return
    text = message.text or message.caption or ""
    voice = message.voice.file_id if message.voice else None
    photo = message.photo[-1].file_id if message.photo else None
    if not text.strip() and voice is None:
        say(manager, c.t("council.propose.empty"))
        return
    if len(text) > 1000:
        say(manager, c.t("council.propose.too_long", n=len(text), max=1000))
        return
    try:
        topic = await _service(c).propose(
            meeting.id, c.user, text, voice_file_id=voice, photo_file_id=photo
        )
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    clear_notice(manager)
    manager.dialog_data["topic"] = topic.id
    say(manager, c.t("council.propose.done"))
    await manager.switch_to(CouncilHome.topics)


# --- check-in --------------------------------------------------------------------------


async def on_code(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    if c.user is None:
        return
    try:
        await _service(c).check_in(c.user, message.text or "")
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    say(manager, c.t("council.checked_in"))
    await manager.switch_to(CouncilHome.main)


# --- past meetings ---------------------------------------------------------------------


async def past_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    community = (await _mine(c))[0]
    meetings = await service.past_meetings(community.id, limit=12) if community else []
    return {
        "items": [
            (
                m.id,
                c.t(
                    "council.past_line",
                    when=when(m, service.policy.zone),
                    state=c.t(f"council.meeting_state.{m.state}"),
                ),
            )
            for m in meetings
        ],
        "has": bool(meetings),
        "empty": not meetings,
    }


async def on_past(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["past"] = int(item_id)
        await manager.switch_to(CouncilHome.past_item)


async def past_item_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """One past meeting in full: agenda, attendance, votes, the minutes, the decisions."""
    c = ctx(dialog_manager)
    service = _service(c)
    community = (await _mine(c))[0]
    meeting = await (await c.scoped()).meeting(int(dialog_manager.dialog_data.get("past", 0)))
    if meeting is None or community is None or meeting.community_id != community.id:
        return {"text": c.t("council.problem.not_found")}
    agenda = await service.topics(meeting.id, states=(TopicState.ACCEPTED,))
    votes = [v for v in await service.votes(meeting.id) if v.state == VoteState.CLOSED]
    decided = await c.services.get(DecisionService).decisions(meeting.id)
    now = c.clock.now()

    def render(minutes: str) -> str:
        return c.t(
            "council.past_item",
            when=when(meeting, service.policy.zone),
            state=c.t(f"council.meeting_state.{meeting.state}"),
            agenda=e(agenda_lines(c.t, agenda, outcomes=True)),
            attended=len(attended),
            votes=len(votes),
            minutes=minutes,
            decisions="\n".join(
                c.t(
                    "council.decision.line",
                    what=e(short(d.what, 60)),
                    status=decision_status(c.t, d, now),
                )
                for d in decided[:DECISIONS_SHOWN]
            )
            or "—",
        )

    attended = await service.attendance(meeting.id)
    minutes = meeting.minutes or "—"
    text = render(e(minutes))
    overflow = visible_length(text) - MESSAGE_LIMIT
    if overflow > 0:
        # Long minutes beside a long agenda: their start, marked, and the XLSX has them whole.
        cut = c.t("council.minutes_cut")
        text = render(e(minutes[: max(0, len(minutes) - overflow - len(cut))]) + cut)
    return {"text": text}


def home_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("council.home.none", when="none"),
            L("council.home.main", when="some"),
            picker("rsvp", "answers", on_answer, width=3, when="rsvp"),
            picker("vote_card", "votes", on_vote_card),
            Column(
                SwitchTo(
                    L("council.propose.button"),
                    id="go_propose",
                    state=CouncilHome.propose,
                    when="propose",
                ),
                SwitchTo(
                    L("council.topics_button"),
                    id="go_topics",
                    state=CouncilHome.topics,
                    when="some",
                ),
                SwitchTo(
                    L("council.checkin_button"),
                    id="go_checkin",
                    state=CouncilHome.checkin,
                    when="checkin",
                ),
                SwitchTo(
                    L("council.past_button"), id="go_past", state=CouncilHome.past, when="some"
                ),
                Button(
                    L("council.prefs.off"),
                    id="unsub",
                    on_click=_subscribe(False),
                    when="subscribed",
                ),
                Button(
                    L("council.prefs.on"), id="sub", on_click=_subscribe(True), when="unsubscribed"
                ),
                Start(
                    L("council.tasks.button"), id="go_tasks", state=CouncilTasks.main, when="tasks"
                ),
                Start(L("council.host_button"), id="go_host", state=CouncilHost.main, when="host"),
                menu_button(),
            ),
            state=CouncilHome.main,
            getter=home_getter,
        ),
        Window(
            notice_text(),
            L("council.topics_title", when="has"),
            L("council.topics_empty", when="empty"),
            picker("topic", "items", on_topic, height=8),
            SwitchTo(
                L("council.propose.button"),
                id="t_propose",
                state=CouncilHome.propose,
                when="propose",
            ),
            SwitchTo(L("council.back"), id="t_back", state=CouncilHome.main),
            state=CouncilHome.topics,
            getter=topics_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            Button(L("council.support"), id="plus1", on_click=on_support, when="can"),
            SwitchTo(L("council.back"), id="topic_back", state=CouncilHome.topics),
            state=CouncilHome.topic,
            getter=topic_getter,
        ),
        Window(
            notice_text(),
            L("council.propose.ask"),
            MessageInput(on_proposal, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="p_back", state=CouncilHome.main),
            state=CouncilHome.propose,
            getter=propose_getter,
        ),
        Window(
            notice_text(),
            L("council.checkin_ask"),
            MessageInput(on_code, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="c_back", state=CouncilHome.main),
            state=CouncilHome.checkin,
            getter=notice_getter,
        ),
        Window(
            L("council.past_title", when="has"),
            L("council.past_empty", when="empty"),
            picker("past_pick", "items", on_past, height=6),
            Row(
                SwitchTo(L("council.back"), id="past_back", state=CouncilHome.main),
                Button(L("council.close"), id="past_close", on_click=close),
            ),
            state=CouncilHome.past,
            getter=past_getter,
        ),
        Window(
            Format("{text}"),
            SwitchTo(L("council.back"), id="past_item_back", state=CouncilHome.past),
            state=CouncilHome.past_item,
            getter=past_item_getter,
        ),
    )
