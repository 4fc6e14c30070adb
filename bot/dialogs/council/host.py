"""Running the council, for community staff (and those above, for a community under
them): the meeting with its RSVP counts per building, attendance and check-in code;
curating topics (accept into the ordered agenda, merge duplicates, decline with a
reason); adding a topic from an appeal of the month; opening, watching and closing
votes (with paper ballots); moving one month's meeting; the standing settings; and
closing the meeting with its minutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.council.publish import announce_move, publish_result
from bot.dialogs.council.states import CouncilDecide, CouncilHost
from bot.dialogs.council.views import (
    MARK,
    agenda_lines,
    option_label,
    place_of,
    short,
    tally_lines,
    when,
)
from bot.formatting import e
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close, menu_button
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.appeals.models import Appeal
from storage.appeals.policy import AppealPolicy
from storage.council import (
    Answer,
    CouncilError,
    CouncilService,
    Meeting,
    TopicState,
    VoteState,
)
from storage.council.rules import DEFAULT_OPTIONS, HOSTS, MAX_OPTIONS
from storage.council.service import MAX_MINUTES
from storage.hierarchy import Node, NodeKind

CLOSE_AFTER = {
    "none": None,
    "30m": timedelta(minutes=30),
    "2h": timedelta(hours=2),
    "24h": timedelta(hours=24),
}
QUORUMS = (0, 10, 30, 50, 100)


def _service(c: Ctx) -> CouncilService:
    return c.services.get(CouncilService)


async def _community(c: Ctx, manager: DialogManager) -> Node | None:
    """The community chosen when the dialog started, or the first one the staff member
    runs (their own, or the first under their street or district)."""
    wanted = start_data(manager).get("community_id")
    for scope in c.staffing.scopes(HOSTS):
        if (
            scope is not None
            and scope.node_kind == NodeKind.COMMUNITY
            and wanted in (None, scope.id)
        ):
            return scope
    for scope in c.staffing.scopes(HOSTS):
        found = await c.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope)
        for community in found:
            if wanted in (None, community.id):
                return community
    return None


async def _meeting(c: Ctx, manager: DialogManager) -> tuple[Node | None, Meeting | None]:
    community = await _community(c, manager)
    if community is None:
        return None, None
    return community, await _service(c).next_meeting(community.id)


def _problem(c: Ctx, exc: CouncilError) -> str:
    return c.t(f"council.problem.{exc.problem.value}")


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    community, meeting = await _meeting(c, dialog_manager)
    if community is None or meeting is None:
        return {"notice": notice(dialog_manager), "none": True, "some": False, "started": False}
    counts = await service.rsvp_counts(meeting.id)
    totals = {a.value: 0 for a in Answer}
    per_building: dict[int | None, dict[str, int]] = {}
    for (building, answer), n in counts.items():
        totals[answer] = totals.get(answer, 0) + n
        per_building.setdefault(building, {a.value: 0 for a in Answer})[answer] = n
    lines = []
    for building_id, by in sorted(per_building.items(), key=lambda kv: kv[0] or 0):
        node = await c.services.hierarchy.get(building_id) if building_id else None
        lines.append(
            c.t("council.host.building_line", building=e(node.name) if node else "—", **by)
        )
    topics = await service.topics(meeting.id, states=(TopicState.OPEN,))
    agenda = await service.topics(meeting.id, states=(TopicState.ACCEPTED,))
    now = c.clock.now()
    return {
        "notice": notice(dialog_manager),
        "none": False,
        "some": True,
        "community": e(community.name),
        "when": when(meeting, service.policy.zone),
        "place": e(place_of(c.t, meeting)),
        "yes": totals["yes"],
        "no": totals["no"],
        "maybe": totals["maybe"],
        "buildings": "\n".join(lines) or c.t("council.host.no_rsvp"),
        "attended": len(await service.attendance(meeting.id)),
        "code": meeting.checkin_code,
        "open_topics": len(topics),
        "agenda": e(agenda_lines(c.t, agenda)),
        "started": meeting.starts_at <= now,
        "ahead": meeting.starts_at > now,
    }


# --- who answered, who came -----------------------------------------------------------


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Everyone who answered, by answer, each a button: pressing one records that they
    attended (staff mark attendance at the meeting; residents can check in by code)."""
    c = ctx(dialog_manager)
    service = _service(c)
    meeting = (await _meeting(c, dialog_manager))[1]
    if meeting is None:
        return {"notice": notice(dialog_manager), "people": [], "has": False, "empty": True}
    came = {a.user_id for a in await service.attendance(meeting.id)}
    order = {a.value: i for i, a in enumerate(Answer)}
    people = []
    for rsvp in sorted(await service.rsvps(meeting.id), key=lambda r: (order[r.answer], r.at)):
        user = await c.services.users.get(rsvp.user_id)
        building = await c.services.hierarchy.get(rsvp.building_id) if rsvp.building_id else None
        label = c.t(
            "council.host.person",
            mark="✅" if rsvp.user_id in came else "·",
            name=user.display_name if user else "—",
            building=building.name if building else "",
            answer=c.t(f"council.rsvp.mine_{rsvp.answer}"),
        )
        people.append((rsvp.user_id, label))
    return {
        "notice": notice(dialog_manager),
        "people": people,
        "has": bool(people),
        "empty": not people,
        "started": meeting.starts_at - timedelta(hours=1) <= c.clock.now(),
    }


async def on_person(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    meeting = (await _meeting(c, manager))[1]
    if meeting is None or not item_id.isdigit():
        return
    if meeting.starts_at - timedelta(hours=1) > c.clock.now():
        say(manager, c.t("council.host.mark_later"))
        return
    try:
        if await _service(c).mark_attended(c.staffing, meeting.id, int(item_id)):
            say(manager, c.t("council.host.marked"))
    except CouncilError as exc:
        say(manager, _problem(c, exc))


# --- topics ----------------------------------------------------------------------------


async def topics_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _meeting(c, dialog_manager))[1]
    rows = await _service(c).topics(meeting.id) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "items": [
            (
                r.topic.id,
                ("📌 " if r.topic.state == TopicState.ACCEPTED else "🆕 ")
                + c.t(
                    "council.topic_item",
                    text=short(r.topic.text or c.t("council.voice_topic")),
                    n=r.supports,
                ),
            )
            for r in rows
        ],
        "has": bool(rows),
        "empty": not rows,
    }


async def on_topic(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["topic"] = int(item_id)
        await manager.switch_to(CouncilHost.topic)


async def topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    topic = await service.topic(int(dialog_manager.dialog_data.get("topic", 0)))
    meeting = (await _meeting(c, dialog_manager))[1]
    if topic is None or meeting is None or topic.meeting_id != meeting.id:
        return {"notice": notice(dialog_manager), "text": c.t("council.problem.not_found")}
    author = await c.services.users.get(topic.author_id) if topic.author_id else None
    supports = {r.topic.id: r.supports for r in await service.topics(meeting.id)}
    return {
        "notice": notice(dialog_manager),
        "text": c.t(
            "council.host.topic",
            text=e(topic.text) or c.t("council.voice_topic"),
            author=e(author.display_name) if author else c.t("council.host.by_staff"),
            n=supports.get(topic.id, 0),
            state=c.t(f"council.topic_state.{topic.state}"),
        ),
        "open": topic.state == TopicState.OPEN,
        "accepted": topic.state == TopicState.ACCEPTED,
        "live": topic.state in (TopicState.OPEN, TopicState.ACCEPTED),
        "voice": topic.voice_file_id is not None or topic.photo_file_id is not None,
        "targets": [
            (r.topic.id, short(r.topic.text or c.t("council.voice_topic")))
            for r in await service.topics(meeting.id)
            if r.topic.id != topic.id
        ],
    }


def _topic_action(name: str) -> Any:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        service = _service(c)
        topic_id = int(manager.dialog_data.get("topic", 0))
        try:
            if name == "accept":
                await service.accept(c.staffing, topic_id)
            else:
                await service.move_topic(c.staffing, topic_id, up=name == "up")
        except CouncilError as exc:
            say(manager, _problem(c, exc))
            return
        say(manager, c.t(f"council.host.done_{name}"))

    return handler


async def on_media(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """The proposer's voice note or photo, sent to the staff member to hear or see."""
    c = ctx(manager)
    topic = await _service(c).topic(int(manager.dialog_data.get("topic", 0)))
    if topic is None:
        return
    if topic.voice_file_id:
        await c.bot.send_voice(c.user_id, topic.voice_file_id)
    if topic.photo_file_id:
        await c.bot.send_photo(c.user_id, topic.photo_file_id)


async def on_decline(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    reason = (message.text or "").strip()
    if not reason or len(reason) > 200:
        say(manager, c.t("council.host.reason_bad"))
        return
    try:
        await _service(c).decline(c.staffing, int(manager.dialog_data.get("topic", 0)), reason)
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    say(manager, c.t("council.host.done_decline"))
    await manager.switch_to(CouncilHost.topics)


async def on_merge(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if not item_id.isdigit():
        return
    try:
        await _service(c).merge(c.staffing, int(manager.dialog_data.get("topic", 0)), int(item_id))
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    say(manager, c.t("council.host.done_merge"))
    await manager.switch_to(CouncilHost.topics)


async def candidates_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _meeting(c, dialog_manager))[1]
    appeals = await _service(c).candidate_appeals(meeting) if meeting else []
    policy = c.services.config(AppealPolicy)
    return {
        "notice": notice(dialog_manager),
        "items": [
            (
                a.id,
                f"#{a.number} {policy.category_name(a.category, c.t.language)}"
                f" · {short(a.text, 20)}",
            )
            for a in appeals
        ],
        "has": bool(appeals),
        "empty": not appeals,
    }


async def on_candidate(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["appeal"] = int(item_id)
        await manager.switch_to(CouncilHost.add_topic)


async def add_topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """From an appeal, its text is shown to the staff member (who may read it) to write
    the topic from; the topic itself is what residents see, so it is theirs to word."""
    c = ctx(dialog_manager)
    appeal_id = dialog_manager.dialog_data.get("appeal")
    appeal = await c.session.get(Appeal, appeal_id) if appeal_id else None
    return {
        "notice": notice(dialog_manager),
        "from_appeal": c.t("council.host.from_appeal", number=appeal.number, text=e(appeal.text))
        if appeal
        else "",
    }


async def on_add_topic(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await _meeting(c, manager))[1]
    text = (message.text or "").strip()
    if meeting is None or not text or len(text) > 1000:
        say(manager, c.t("council.propose.empty"))
        return
    appeal_id = manager.dialog_data.get("appeal")
    try:
        await _service(c).add_topic(
            c.staffing, meeting.id, text, appeal_id=int(appeal_id) if appeal_id else None
        )
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    manager.dialog_data.pop("appeal", None)
    say(manager, c.t("council.host.done_accept"))
    await manager.switch_to(CouncilHost.topics)


# --- moving the meeting ----------------------------------------------------------------


async def on_move_when(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "2026-12-27 15:00", local time."""
    c = ctx(manager)
    zone = _service(c).policy.zone
    try:
        moment = datetime.strptime((message.text or "").strip(), "%Y-%m-%d %H:%M").replace(
            tzinfo=zone
        )
    except ValueError:
        say(manager, c.t("council.host.when_bad"))
        return
    if moment <= c.clock.now():
        say(manager, c.t("council.host.when_past"))
        return
    manager.dialog_data["move_to"] = moment.isoformat()
    clear_notice(manager)
    await manager.switch_to(CouncilHost.move_reason)


async def on_move_reason(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await _meeting(c, manager))[1]
    reason = (message.text or "").strip()
    moved_to = manager.dialog_data.get("move_to")
    if meeting is None or not moved_to:
        await manager.switch_to(CouncilHost.main)
        return
    if not reason or len(reason) > 200:
        say(manager, c.t("council.host.reason_bad"))
        return
    try:
        moved = await _service(c).move(
            c.staffing, meeting.id, datetime.fromisoformat(moved_to), reason
        )
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    told = await announce_move(c.services, c.t, moved)
    manager.dialog_data.pop("move_to", None)
    say(manager, c.t("council.host.moved", n=told))
    await manager.switch_to(CouncilHost.main)


async def move_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _meeting(c, dialog_manager))[1]
    return {
        "notice": notice(dialog_manager),
        "when": when(meeting, _service(c).policy.zone) if meeting else "—",
        "to": dialog_manager.dialog_data.get("move_to", "")[:16].replace("T", " "),
    }


# --- settings --------------------------------------------------------------------------


async def settings_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await _community(c, dialog_manager)
    settings = await _service(c).settings(community.id) if community else None
    if settings is None:
        return {"notice": notice(dialog_manager), "text": ""}
    return {
        "notice": notice(dialog_manager),
        "text": c.t(
            "council.host.settings",
            day=settings.day,
            time=f"{settings.minute_of_day // 60:02d}:{settings.minute_of_day % 60:02d}",
            place=e(settings.place or c.t("council.place_unset")),
            pin=c.t(
                "council.host.pin_set"
                if settings.latitude is not None
                else "council.host.pin_unset"
            ),
        ),
    }


def _setting(name: str) -> Any:
    async def handler(message: Message, _: MessageInput, manager: DialogManager) -> None:
        c = ctx(manager)
        community = await _community(c, manager)
        if community is None:
            return
        changes: dict[str, Any] = {}
        text = (message.text or "").strip()
        if name == "day":
            if not text.isdigit() or not 1 <= int(text) <= 28:
                say(manager, c.t("council.host.day_bad"))
                return
            changes["day"] = int(text)
        elif name == "time":
            try:
                at = datetime.strptime(text, "%H:%M")
            except ValueError:
                say(manager, c.t("council.host.time_bad"))
                return
            changes["minute_of_day"] = at.hour * 60 + at.minute
        elif name == "place":
            if not text or len(text) > 120:
                say(manager, c.t("council.host.place_bad"))
                return
            changes["place"] = text
        else:
            if message.location is None and message.venue is None:
                say(manager, c.t("council.host.pin_bad"))
                return
            spot = message.venue.location if message.venue else message.location
            assert spot is not None
            changes["location"] = (spot.latitude, spot.longitude)
        try:
            await _service(c).update_settings(c.staffing, community.id, **changes)
        except CouncilError as exc:
            say(manager, _problem(c, exc))
            return
        say(manager, c.t("council.host.saved"))
        await manager.switch_to(CouncilHost.settings)

    return handler


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
            (k, (MARK if d.get("closes") == k else "") + c.t(f"council.host.closes_{k}"))
            for k in CLOSE_AFTER
        ],
        "quorums": [
            (
                str(q),
                (MARK if d.get("quorum") == q else "")
                + (c.t("council.host.no_quorum") if q == 0 else str(q)),
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


def _flag(name: str, value: bool) -> Any:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        manager.dialog_data[name] = value

    return handler


async def on_open_vote(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await _meeting(c, manager))[1]
    d = manager.dialog_data
    if meeting is None or not d.get("question"):
        await manager.switch_to(CouncilHost.main)
        return
    after = CLOSE_AFTER.get(str(d.get("closes")))
    try:
        vote = await _service(c).open_vote(
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
        say(manager, _problem(c, exc))
        return
    for key in ("question", "options"):
        d.pop(key, None)
    manager.dialog_data["vote"] = vote.id
    say(manager, c.t("council.host.vote_opened"))
    await manager.switch_to(CouncilHost.vote)


async def votes_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await _meeting(c, dialog_manager))[1]
    votes = await _service(c).votes(meeting.id) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "items": [
            (v.id, ("🗳 " if v.state == VoteState.OPEN else "✔️ ") + short(v.question)) for v in votes
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
    service = _service(c)
    vote = await service.vote(int(dialog_manager.dialog_data.get("vote", 0)))
    meeting = (await _meeting(c, dialog_manager))[1]
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


async def on_close_vote(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    try:
        vote = await _service(c).close_vote(int(manager.dialog_data.get("vote", 0)), c.staffing)
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    told = await publish_result(c.services, c.t, vote)
    say(manager, c.t("council.host.vote_closed", n=told))


async def on_paper(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "12 3 1": paper ballots per option, in order."""
    c = ctx(manager)
    parts = (message.text or "").replace(",", " ").replace("，", " ").split()
    if not parts or not all(p.isdigit() for p in parts):
        say(manager, c.t("council.host.paper_bad"))
        return
    try:
        await _service(c).record_paper(
            c.staffing, int(manager.dialog_data.get("vote", 0)), [int(p) for p in parts]
        )
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    say(manager, c.t("council.host.paper_saved"))
    await manager.switch_to(CouncilHost.vote)


async def paper_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    vote = await _service(c).vote(int(dialog_manager.dialog_data.get("vote", 0)))
    options = vote.options if vote else []
    return {
        "notice": notice(dialog_manager),
        "options": e(" / ".join(option_label(c.t, o) for o in options)),
        "n": len(options),
    }


async def on_minutes(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await _meeting(c, manager))[1]
    text = (message.text or "").strip()
    if meeting is None or not text or len(text) > MAX_MINUTES:
        say(manager, c.t("council.host.minutes_bad"))
        return
    try:
        await _service(c).close_meeting(c.staffing, meeting.id, text)
    except CouncilError as exc:
        say(manager, _problem(c, exc))
        return
    say(manager, c.t("council.host.closed"))
    await manager.switch_to(CouncilHost.main)


def _export(what: str) -> Any:
    # Imported when pressed: the export module builds on this one.
    async def handler(call: CallbackQuery, button: Button, manager: DialogManager) -> None:
        from bot.dialogs.council import export

        press = export.on_export_meeting if what == "meeting" else export.on_export_month
        await press(call, button, manager)

    return handler


def _input(
    state: Any, key: str, handler: Any, back: Any, getter: Any = notice_getter, **extra: Any
) -> Window:
    return Window(
        notice_text(),
        L(key),
        MessageInput(handler, content_types=ContentType.ANY),
        *extra.get("widgets", ()),
        SwitchTo(L("council.back"), id=f"{state.state.split(':')[-1]}_back", state=back),
        state=state,
        getter=getter,
    )


def host_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("council.host.none", when="none"),
            L("council.host.main", when="some"),
            Column(
                SwitchTo(
                    L("council.host.people_button"),
                    id="h_people",
                    state=CouncilHost.people,
                    when="some",
                ),
                SwitchTo(
                    L("council.host.topics_button"),
                    id="h_topics",
                    state=CouncilHost.topics,
                    when="some",
                ),
                SwitchTo(
                    L("council.host.add_topic_button"),
                    id="h_add",
                    state=CouncilHost.add_topic,
                    when="ahead",
                ),
                SwitchTo(
                    L("council.host.vote_button"),
                    id="h_vote",
                    state=CouncilHost.vote_question,
                    when="some",
                ),
                SwitchTo(
                    L("council.host.votes_button"),
                    id="h_votes",
                    state=CouncilHost.votes,
                    when="some",
                ),
                SwitchTo(
                    L("council.host.move_button"),
                    id="h_move",
                    state=CouncilHost.move_when,
                    when="ahead",
                ),
                SwitchTo(
                    L("council.host.settings_button"),
                    id="h_settings",
                    state=CouncilHost.settings,
                    when="some",
                ),
                Start(L("council.host.decisions_button"), id="h_decide", state=CouncilDecide.main),
                Button(L("council.xlsx.meeting_button"), id="h_xlsx", on_click=_export("meeting")),
                Button(
                    L("council.xlsx.month_button"), id="h_xlsx_month", on_click=_export("month")
                ),
                SwitchTo(
                    L("council.host.minutes_button"),
                    id="h_minutes",
                    state=CouncilHost.minutes,
                    when="started",
                ),
                Button(L("council.close"), id="h_close", on_click=close),
                menu_button(),
            ),
            state=CouncilHost.main,
            getter=main_getter,
        ),
        Window(
            notice_text(),
            L("council.host.people", when="has"),
            L("council.host.people_empty", when="empty"),
            picker("h_person", "people", on_person, height=10),
            SwitchTo(L("council.back"), id="hp_back", state=CouncilHost.main),
            state=CouncilHost.people,
            getter=people_getter,
        ),
        Window(
            notice_text(),
            L("council.host.topics", when="has"),
            L("council.topics_empty", when="empty"),
            picker("h_topic_pick", "items", on_topic, height=8),
            SwitchTo(
                L("council.host.candidates_button"), id="ht_cand", state=CouncilHost.candidates
            ),
            SwitchTo(L("council.back"), id="ht_back", state=CouncilHost.main),
            state=CouncilHost.topics,
            getter=topics_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            Button(
                L("council.host.accept"),
                id="tp_accept",
                on_click=_topic_action("accept"),
                when="open",
            ),
            Row(
                Button(
                    L("council.host.up"), id="tp_up", on_click=_topic_action("up"), when="accepted"
                ),
                Button(
                    L("council.host.down"),
                    id="tp_down",
                    on_click=_topic_action("down"),
                    when="accepted",
                ),
            ),
            Button(L("council.host.media"), id="tp_media", on_click=on_media, when="voice"),
            SwitchTo(L("council.host.merge"), id="tp_merge", state=CouncilHost.merge, when="live"),
            SwitchTo(
                L("council.host.decline"), id="tp_decline", state=CouncilHost.decline, when="live"
            ),
            SwitchTo(L("council.back"), id="tp_back", state=CouncilHost.topics),
            state=CouncilHost.topic,
            getter=topic_getter,
        ),
        _input(CouncilHost.decline, "council.host.decline_ask", on_decline, CouncilHost.topic),
        Window(
            notice_text(),
            L("council.host.merge_ask"),
            picker("h_merge", "targets", on_merge, height=8),
            SwitchTo(L("council.back"), id="m_back", state=CouncilHost.topic),
            state=CouncilHost.merge,
            getter=topic_getter,
        ),
        Window(
            notice_text(),
            Format("{from_appeal}", when="from_appeal"),
            L("council.host.add_topic_ask"),
            MessageInput(on_add_topic, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="add_topic_back", state=CouncilHost.main),
            state=CouncilHost.add_topic,
            getter=add_topic_getter,
        ),
        Window(
            notice_text(),
            L("council.host.candidates", when="has"),
            L("council.host.candidates_empty", when="empty"),
            picker("h_candidate", "items", on_candidate, height=8),
            SwitchTo(L("council.back"), id="cand_back", state=CouncilHost.topics),
            state=CouncilHost.candidates,
            getter=candidates_getter,
        ),
        _input(
            CouncilHost.move_when,
            "council.host.move_ask",
            on_move_when,
            CouncilHost.main,
            move_getter,
        ),
        _input(
            CouncilHost.move_reason,
            "council.host.move_reason_ask",
            on_move_reason,
            CouncilHost.move_when,
            move_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            Column(
                SwitchTo(L("council.host.set_day"), id="s_day", state=CouncilHost.settings_day),
                SwitchTo(L("council.host.set_time"), id="s_time", state=CouncilHost.settings_time),
                SwitchTo(
                    L("council.host.set_place"), id="s_place", state=CouncilHost.settings_place
                ),
                SwitchTo(L("council.host.set_pin"), id="s_pin", state=CouncilHost.settings_pin),
                SwitchTo(L("council.back"), id="s_back", state=CouncilHost.main),
            ),
            state=CouncilHost.settings,
            getter=settings_getter,
        ),
        _input(
            CouncilHost.settings_day, "council.host.day_ask", _setting("day"), CouncilHost.settings
        ),
        _input(
            CouncilHost.settings_time,
            "council.host.time_ask",
            _setting("time"),
            CouncilHost.settings,
        ),
        _input(
            CouncilHost.settings_place,
            "council.host.place_ask",
            _setting("place"),
            CouncilHost.settings,
        ),
        _input(
            CouncilHost.settings_pin, "council.host.pin_ask", _setting("pin"), CouncilHost.settings
        ),
        _input(
            CouncilHost.vote_question, "council.host.question_ask", on_question, CouncilHost.main
        ),
        _input(
            CouncilHost.vote_options,
            "council.host.options_ask",
            on_options,
            CouncilHost.vote_question,
            widgets=(
                Button(
                    L("council.host.default_options"), id="o_default", on_click=on_default_options
                ),
            ),
        ),
        Window(
            notice_text(),
            L("council.host.confirm"),
            picker("v_closes", "closes", on_closes, width=2),
            picker("v_quorum", "quorums", on_quorum, width=5),
            Button(
                L("council.host.live_off"),
                id="v_live_off",
                on_click=_flag("live", False),
                when="live_on",
            ),
            Button(
                L("council.host.live_on"),
                id="v_live_on",
                on_click=_flag("live", True),
                when="live_off",
            ),
            Button(
                L("council.host.att_off"),
                id="v_att_off",
                on_click=_flag("attendees", False),
                when="att_on",
            ),
            Button(
                L("council.host.att_on"),
                id="v_att_on",
                on_click=_flag("attendees", True),
                when="att_off",
            ),
            Button(L("council.host.open_vote"), id="v_open", on_click=on_open_vote),
            SwitchTo(L("council.back"), id="v_back", state=CouncilHost.vote_options),
            state=CouncilHost.vote_confirm,
            getter=confirm_getter,
        ),
        Window(
            notice_text(),
            L("council.host.votes", when="has"),
            L("council.host.votes_empty", when="empty"),
            picker("h_vote_pick", "items", on_vote, height=8),
            SwitchTo(L("council.back"), id="vs_back", state=CouncilHost.main),
            state=CouncilHost.votes,
            getter=votes_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            Button(
                L("council.host.close_vote"), id="vt_close", on_click=on_close_vote, when="open"
            ),
            SwitchTo(L("council.host.paper"), id="vt_paper", state=CouncilHost.paper, when="open"),
            SwitchTo(L("council.back"), id="vt_back", state=CouncilHost.votes),
            state=CouncilHost.vote,
            getter=vote_getter,
        ),
        _input(
            CouncilHost.paper, "council.host.paper_ask", on_paper, CouncilHost.vote, paper_getter
        ),
        _input(CouncilHost.minutes, "council.host.minutes_ask", on_minutes, CouncilHost.main),
    )
