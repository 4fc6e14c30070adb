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

from bot.dialogs.council.common import (
    council,
    hosted_community,
    hosted_meeting,
    hosts_only,
    input_window,
    problem_text,
)
from bot.dialogs.council.host_topics import (
    add_topic_getter,
    candidates_getter,
    on_add_topic,
    on_candidate,
    on_decline,
    on_media,
    on_merge,
    on_outcome,
    on_topic,
    topic_action,
    topic_getter,
    topics_getter,
)
from bot.dialogs.council.host_votes import (
    close_getter,
    confirm_getter,
    flag,
    on_close_vote,
    on_closes,
    on_default_options,
    on_open_vote,
    on_options,
    on_paper,
    on_question,
    on_quorum,
    on_vote,
    paper_getter,
    vote_getter,
    votes_getter,
)
from bot.dialogs.council.publish import announce_move
from bot.dialogs.council.states import CouncilDecide, CouncilHost
from bot.dialogs.council.views import (
    agenda_lines,
    place_of,
    when,
)
from bot.formatting import e
from bot.kit.choice import ticked
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close, menu_button
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.council import (
    Answer,
    CouncilError,
    Meeting,
    TopicState,
)
from storage.council.service import MAX_MINUTES

BUILDINGS_SHOWN = 15  # buildings with their RSVP counts on the meeting's screen


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = council(c)
    community, meeting = await hosted_meeting(c, dialog_manager)
    if community is None or meeting is None:
        return {"notice": notice(dialog_manager), "none": True, "some": False, "started": False}
    counts = await service.rsvp_counts(meeting.id)
    totals = {a.value: 0 for a in Answer}
    per_building: dict[int | None, dict[str, int]] = {}
    for (building, answer), n in counts.items():
        totals[answer] = totals.get(answer, 0) + n
        per_building.setdefault(building, {a.value: 0 for a in Answer})[answer] = n
    lines = []
    # The buildings that answered most; a community of a hundred buildings still fits one
    # message, and the list screen and the XLSX have everyone.
    busiest = sorted(per_building.items(), key=lambda kv: (-sum(kv[1].values()), kv[0] or 0))
    for building_id, by in busiest[:BUILDINGS_SHOWN]:
        node = await c.services.hierarchy.get(building_id) if building_id else None
        lines.append(
            c.t("council.host.building_line", building=e(node.name) if node else "—", **by)
        )
    if len(busiest) > BUILDINGS_SHOWN:
        lines.append(c.t("council.host.buildings_more", n=len(busiest) - BUILDINGS_SHOWN))
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
        "agenda": e(agenda_lines(c.t, agenda, outcomes=True)),
        "started": meeting.starts_at <= now,
        "ahead": meeting.starts_at > now,
    }


# --- who answered, who came -----------------------------------------------------------


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Everyone who answered, by answer, each a button: pressing one records that they
    attended (staff mark attendance at the meeting; residents can check in by code)."""
    c = ctx(dialog_manager)
    service = council(c)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    if meeting is None:
        return {"notice": notice(dialog_manager), "people": [], "has": False, "empty": True}
    came = {a.user_id for a in await service.attendance(meeting.id)}
    order = {a.value: i for i, a in enumerate(Answer)}
    people = []
    for rsvp in sorted(await service.rsvps(meeting.id), key=lambda r: (order[r.answer], r.at)):
        user = await c.services.users.get(rsvp.user_id)
        building = await c.services.hierarchy.get(rsvp.building_id) if rsvp.building_id else None
        label = ticked(
            c.t(
                "council.host.person",
                name=user.display_name if user else "—",
                building=building.name if building else "",
                answer=c.t(f"council.rsvp.mine_{rsvp.answer}"),
            ),
            rsvp.user_id in came,
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
    meeting = (await hosted_meeting(c, manager))[1]
    if meeting is None or not item_id.isdigit():
        return
    if meeting.starts_at - timedelta(hours=1) > c.clock.now():
        say(manager, c.t("council.host.mark_later"))
        return
    try:
        if await council(c).mark_attended(c.staffing, meeting.id, int(item_id)):
            say(manager, c.t("council.host.marked"))
    except CouncilError as exc:
        say(manager, problem_text(c, exc))


# --- moving the meeting ----------------------------------------------------------------


MOVE_FORMAT = "%Y-%m-%d %H:%M"


def move_example(c: Ctx, meeting: Meeting | None) -> str:
    """A time the meeting could be moved to, in the format asked: two days later (never
    a moment already past, as a fixed example soon would be)."""
    zone = council(c).policy.zone
    base = meeting.starts_at if meeting and meeting.starts_at > c.clock.now() else c.clock.now()
    return (base.astimezone(zone) + timedelta(days=2)).strftime(MOVE_FORMAT)


async def on_move_when(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "2026-12-27 15:00", local time."""
    c = ctx(manager)
    zone = council(c).policy.zone
    example = move_example(c, (await hosted_meeting(c, manager))[1])
    try:
        moment = datetime.strptime((message.text or "").strip(), MOVE_FORMAT).replace(tzinfo=zone)
    except ValueError:
        say(manager, c.t("council.host.when_bad", example=example))
        return
    if moment <= c.clock.now():
        say(manager, c.t("council.host.when_past", example=example))
        return
    manager.dialog_data["move_to"] = moment.isoformat()
    clear_notice(manager)
    await manager.switch_to(CouncilHost.move_reason)


async def on_move_reason(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await hosted_meeting(c, manager))[1]
    reason = (message.text or "").strip()
    moved_to = manager.dialog_data.get("move_to")
    if meeting is None or not moved_to:
        await manager.switch_to(CouncilHost.main)
        return
    if not reason or len(reason) > 200:
        say(manager, c.t("council.host.reason_bad"))
        return
    try:
        moved = await council(c).move(
            c.staffing, meeting.id, datetime.fromisoformat(moved_to), reason
        )
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    told = await announce_move(c.services, c.t, moved)
    manager.dialog_data.pop("move_to", None)
    say(manager, c.t("council.host.moved", n=told))
    await manager.switch_to(CouncilHost.main)


async def move_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    return {
        "notice": notice(dialog_manager),
        "when": when(meeting, council(c).policy.zone) if meeting else "—",
        "to": dialog_manager.dialog_data.get("move_to", "")[:16].replace("T", " "),
        "example": move_example(c, meeting),
    }


# --- settings --------------------------------------------------------------------------


async def settings_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await hosted_community(c, dialog_manager)
    settings = await council(c).settings(community.id) if community else None
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
            offsets=offsets_text(c, council(c).offsets(settings)),
        ),
    }


def offsets_text(c: Ctx, offsets: dict[str, int]) -> str:
    def one(minutes: int) -> str:
        if minutes % (24 * 60) == 0:
            return str(c.t("council.host.days", n=minutes // (24 * 60)))
        if minutes % 60 == 0:
            return str(c.t("council.host.hours", n=minutes // 60))
        return str(c.t("council.host.minutes_n", n=minutes))

    return " / ".join(one(offsets[k]) for k in OFFSET_KINDS)


UNITS = {"d": 24 * 60, "天": 24 * 60, "h": 60, "小时": 60, "m": 1, "分钟": 1}
OFFSET_KINDS = ("topics", "agenda", "venue")


def parse_offsets(text: str) -> dict[str, int] | None:
    """ "7天 1天 2小时" or "7d 1d 2h": the three reminders' distances before the meeting,
    in that order (call for topics, agenda, venue)."""
    parts = text.replace(",", " ").replace("，", " ").split()
    if len(parts) != len(OFFSET_KINDS):
        return None
    minutes = []
    for part in parts:
        number = "".join(ch for ch in part if ch.isdigit())
        unit = part[len(number) :].strip().lower()
        if not number or not part.startswith(number) or unit not in UNITS:
            return None
        minutes.append(int(number) * UNITS[unit])
    return dict(zip(OFFSET_KINDS, minutes, strict=True))


def _setting(name: str) -> Any:
    async def handler(message: Message, _: MessageInput, manager: DialogManager) -> None:
        c = ctx(manager)
        community = await hosted_community(c, manager)
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
        elif name == "offsets":
            offsets = parse_offsets(text)
            if offsets is None:
                say(manager, c.t("council.host.offsets_bad"))
                return
            changes["offsets"] = offsets
        else:
            if message.location is None and message.venue is None:
                say(manager, c.t("council.host.pin_bad"))
                return
            spot = message.venue.location if message.venue else message.location
            assert spot is not None
            changes["location"] = (spot.latitude, spot.longitude)
        try:
            retimed = await council(c).update_settings(c.staffing, community.id, **changes)
        except CouncilError as exc:
            say(manager, problem_text(c, exc))
            return
        if retimed is not None:
            # Residents were already reminded of the old time: they hear of the new one.
            await announce_move(c.services, c.t, retimed, c.t("council.host.settings_changed"))
        say(manager, c.t("council.host.saved"))
        await manager.switch_to(CouncilHost.settings)

    return handler


async def on_minutes(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await hosted_meeting(c, manager))[1]
    text = (message.text or "").strip()
    if meeting is None or not text or len(text) > MAX_MINUTES:
        say(manager, c.t("council.host.minutes_bad"))
        return
    try:
        await council(c).close_meeting(c.staffing, meeting.id, text)
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    say(manager, c.t("council.host.closed"))
    await manager.switch_to(CouncilHost.main)


async def minutes_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Closing the meeting says what becomes of the topics it never reviewed."""
    c = ctx(dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    waiting = await council(c).topics(meeting.id, states=(TopicState.OPEN,)) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "pending": c.t("council.host.minutes_pending", n=len(waiting)) if waiting else "",
    }


def _export(what: str) -> Any:
    # Imported when pressed: the export module builds on this one.
    async def handler(call: CallbackQuery, button: Button, manager: DialogManager) -> None:
        from bot.dialogs.council import export

        press = export.on_export_meeting if what == "meeting" else export.on_export_month
        await press(call, button, manager)

    return handler


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
                on_click=topic_action("accept"),
                when="open",
            ),
            Row(
                Button(
                    L("council.host.up"), id="tp_up", on_click=topic_action("up"), when="accepted"
                ),
                Button(
                    L("council.host.down"),
                    id="tp_down",
                    on_click=topic_action("down"),
                    when="accepted",
                ),
            ),
            picker("tp_outcome", "outcomes", on_outcome, width=2, when="decidable"),
            Button(L("council.host.media"), id="tp_media", on_click=on_media, when="voice"),
            SwitchTo(L("council.host.merge"), id="tp_merge", state=CouncilHost.merge, when="live"),
            SwitchTo(
                L("council.host.decline"), id="tp_decline", state=CouncilHost.decline, when="live"
            ),
            SwitchTo(L("council.back"), id="tp_back", state=CouncilHost.topics),
            state=CouncilHost.topic,
            getter=topic_getter,
        ),
        input_window(
            CouncilHost.decline, "council.host.decline_ask", on_decline, CouncilHost.topic
        ),
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
        input_window(
            CouncilHost.move_when,
            "council.host.move_ask",
            on_move_when,
            CouncilHost.main,
            move_getter,
        ),
        input_window(
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
                SwitchTo(
                    L("council.host.set_offsets"),
                    id="s_offsets",
                    state=CouncilHost.settings_offsets,
                ),
                SwitchTo(L("council.back"), id="s_back", state=CouncilHost.main),
            ),
            state=CouncilHost.settings,
            getter=settings_getter,
        ),
        input_window(
            CouncilHost.settings_day, "council.host.day_ask", _setting("day"), CouncilHost.settings
        ),
        input_window(
            CouncilHost.settings_time,
            "council.host.time_ask",
            _setting("time"),
            CouncilHost.settings,
        ),
        input_window(
            CouncilHost.settings_place,
            "council.host.place_ask",
            _setting("place"),
            CouncilHost.settings,
        ),
        input_window(
            CouncilHost.settings_pin, "council.host.pin_ask", _setting("pin"), CouncilHost.settings
        ),
        input_window(
            CouncilHost.settings_offsets,
            "council.host.offsets_ask",
            _setting("offsets"),
            CouncilHost.settings,
        ),
        input_window(
            CouncilHost.vote_question, "council.host.question_ask", on_question, CouncilHost.main
        ),
        input_window(
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
                on_click=flag("live", False),
                when="live_on",
            ),
            Button(
                L("council.host.live_on"),
                id="v_live_on",
                on_click=flag("live", True),
                when="live_off",
            ),
            Button(
                L("council.host.att_off"),
                id="v_att_off",
                on_click=flag("attendees", False),
                when="att_on",
            ),
            Button(
                L("council.host.att_on"),
                id="v_att_on",
                on_click=flag("attendees", True),
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
            SwitchTo(
                L("council.host.close_vote"),
                id="vt_close",
                state=CouncilHost.vote_close,
                when="open",
            ),
            SwitchTo(L("council.host.paper"), id="vt_paper", state=CouncilHost.paper, when="open"),
            SwitchTo(L("council.back"), id="vt_back", state=CouncilHost.votes),
            state=CouncilHost.vote,
            getter=vote_getter,
        ),
        Window(
            Format("{text}"),
            Button(L("council.host.close_yes"), id="vc_yes", on_click=on_close_vote, when="open"),
            SwitchTo(L("council.host.close_no"), id="vc_no", state=CouncilHost.vote),
            state=CouncilHost.vote_close,
            getter=close_getter,
        ),
        input_window(
            CouncilHost.paper, "council.host.paper_ask", on_paper, CouncilHost.vote, paper_getter
        ),
        input_window(
            CouncilHost.minutes,
            "council.host.minutes_ask",
            on_minutes,
            CouncilHost.main,
            minutes_getter,
        ),
        on_start=hosts_only,
    )
