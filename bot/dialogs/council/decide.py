"""Decisions and self-governance groups, for the staff who run the council: record what
the meeting decided (what, which group or person carries it out, by when), follow each
one's progress, and keep the groups of the community (a name, a building or estate, the
members picked with the chat app's user picker, a leader)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiogram.types import (
    CallbackQuery,
    ContentType,
    Message,
    ReplyKeyboardRemove,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.council.common import hosted_community, hosts_only
from bot.dialogs.council.states import CouncilDecide
from bot.dialogs.council.views import decision_items, decision_text, short, when
from bot.formatting import e
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L, notice_text
from bot.kit.user_picker import user_picker
from bot.kit.widgets import picker
from storage.council import CouncilError, CouncilProblem, TopicState
from storage.council.decisions import DecisionService
from storage.council.models import Decision

MEMBERS_REQUEST = 3001  # the request_id of the user picker that adds group members
OWNER_REQUEST = 3002  # the request_id of the user picker that names a decision's owner
ME = "me"  # the owner picker's entry for "the staff member themself"
PERSON = "person"  # the owner picker's entry for "a resident, picked with the user picker"


def _service(c: Ctx) -> DecisionService:
    return c.services.get(DecisionService)


async def owner_label(c: Ctx, decision: Decision) -> str:
    service = _service(c)
    if decision.group_id is not None:
        group = await service.group(decision.group_id)
        return group.name if group else "—"
    person = await c.services.users.get(decision.owner_id) if decision.owner_id else None
    return person.display_name if person else "—"


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    community = await hosted_community(c, dialog_manager)
    meeting = await service.latest_held(community.id) if community else None
    decisions = await service.decisions(meeting.id) if meeting else []
    now = c.clock.now()
    return {
        "notice": notice(dialog_manager),
        "meeting": when(meeting, service.policy.zone) if meeting else "",
        "held": meeting is not None,
        "not_held": meeting is None,
        "items": decision_items(c.t, decisions, now),
    }


async def on_decision(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["decision"] = int(item_id)
        await manager.switch_to(CouncilDecide.decision)


async def decision_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    decision = await (await c.scoped()).decision(int(dialog_manager.dialog_data.get("decision", 0)))
    community = await hosted_community(c, dialog_manager)
    meeting = await service.meeting(decision.meeting_id) if decision else None
    if (
        decision is None
        or meeting is None
        or community is None
        or meeting.community_id != community.id
    ):
        return {"notice": notice(dialog_manager), "text": c.t("council.problem.not_found")}
    return {
        "notice": notice(dialog_manager),
        "text": decision_text(
            c.t,
            decision,
            await owner_label(c, decision),
            service.policy.zone,
            c.clock.now(),
            await service.reports(decision.id),
        ),
    }


async def on_what(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    what = (message.text or "").strip()
    if not what or len(what) > 1000:
        say(manager, c.t("council.decision.what_bad"))
        return
    manager.dialog_data["what"] = what
    clear_notice(manager)
    await manager.switch_to(CouncilDecide.topic)


async def topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """The agenda items of the meeting, to say which one the decision settles."""
    c = ctx(dialog_manager)
    service = _service(c)
    community = await hosted_community(c, dialog_manager)
    meeting = await service.latest_held(community.id) if community else None
    rows = await service.topics(meeting.id, states=(TopicState.ACCEPTED,)) if meeting else []
    return {
        "notice": notice(dialog_manager),
        "topics": [(r.topic.id, short(r.topic.text or c.t("council.voice_topic"))) for r in rows]
        + [(0, c.t("council.decision.no_topic"))],
    }


async def on_topic(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["topic"] = int(item_id) or None
        await manager.switch_to(CouncilDecide.owner)


async def owner_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await hosted_community(c, dialog_manager)
    groups = await _service(c).groups(community.id) if community else []
    return {
        "notice": notice(dialog_manager),
        "owners": [(f"g{g.id}", "🏘 " + g.name) for g in groups]
        + [(PERSON, c.t("council.decision.owner_person")), (ME, c.t("council.decision.owner_me"))],
    }


async def on_owner(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id == PERSON:
        await _ask_for_person(manager)
    elif item_id == ME or (item_id.startswith("g") and item_id[1:].isdigit()):
        manager.dialog_data["owner"] = item_id
        await manager.switch_to(CouncilDecide.due)


async def _ask_for_person(manager: DialogManager, lead: str = "") -> None:
    """The picker keyboard, sent with what to do (or why the last pick did not do): a
    one-time keyboard folds away once used, so every answer that asks to use it again
    brings it back; the prompt then comes below it."""
    c = ctx(manager)
    keyboard = user_picker(c.t("council.decision.person_button"), OWNER_REQUEST)
    await c.bot.send_message(
        c.user_id, lead or c.t("council.decision.person_keyboard"), reply_markup=keyboard
    )
    await manager.switch_to(CouncilDecide.owner_person, show_mode=ShowMode.SEND)


async def on_owner_person(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """The resident picked with the keyboard's user picker, if they live in the community:
    someone else is refused by name and the picker comes back, the decision so far kept."""
    c = ctx(manager)
    shared = message.users_shared
    if shared is None or shared.request_id != OWNER_REQUEST or len(shared.users) != 1:
        await _ask_for_person(manager, c.t("council.decision.person_hint"))
        return
    [picked] = shared.users
    community = await hosted_community(c, manager)
    try:
        if community is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        person = await _service(c).check_owner(community.id, picked.user_id)
    except CouncilError:
        name = " ".join(n for n in (picked.first_name, picked.last_name) if n) or "—"
        await _ask_for_person(manager, c.t("council.decision.person_refused", name=e(name)))
        return
    manager.dialog_data["owner"] = f"u{person.id}"
    clear_notice(manager)
    await c.bot.send_message(
        c.user_id,
        c.t("council.decision.person_chosen", name=e(person.display_name)),
        reply_markup=ReplyKeyboardRemove(),
    )
    await manager.switch_to(CouncilDecide.due, show_mode=ShowMode.SEND)


async def on_owner_person_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await c.bot.send_message(
        c.user_id, c.t("council.decision.kept_owner"), reply_markup=ReplyKeyboardRemove()
    )
    await manager.switch_to(CouncilDecide.owner, show_mode=ShowMode.SEND)


def _owner_of(owner: str, me: int) -> tuple[int | None, int | None]:
    """(group id, person id) from the owner picker's choice kept in the dialog's data."""
    if owner.startswith("g") and owner[1:].isdigit():
        return int(owner[1:]), None
    if owner.startswith("u") and owner[1:].isdigit():
        return None, int(owner[1:])
    return None, me


def due_example(c: Ctx) -> str:
    """A due date in the format asked, two weeks ahead (a fixed example is soon past)."""
    today = c.clock.now().astimezone(_service(c).policy.zone).date()
    return (today + timedelta(days=14)).isoformat()


async def due_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    return {"notice": notice(dialog_manager), "example": due_example(c)}


async def on_due(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "2026-12-10": due by the end of that day, local time."""
    c = ctx(manager)
    service = _service(c)
    zone = service.policy.zone
    try:
        day = datetime.strptime((message.text or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        say(manager, c.t("council.decision.due_bad", example=due_example(c)))
        return
    due = datetime.combine(day, time(23, 59), zone)
    if due <= c.clock.now():
        say(manager, c.t("council.decision.due_past", example=due_example(c)))
        return
    community = await hosted_community(c, manager)
    meeting = await service.latest_held(community.id) if community else None
    d = manager.dialog_data
    owner = str(d.get("owner", ""))
    if meeting is None or not d.get("what") or not owner:
        await manager.switch_to(CouncilDecide.main)
        return
    group_id, owner_id = _owner_of(owner, c.user_id)
    try:
        decision = await service.decide(
            c.staffing,
            meeting.id,
            str(d["what"]),
            due,
            group_id=group_id,
            owner_id=owner_id,
            topic_id=d.get("topic"),
        )
    except CouncilError as exc:
        say(manager, c.t(f"council.problem.{exc.problem.value}"))
        return
    for key in ("what", "owner", "topic"):
        d.pop(key, None)
    d["decision"] = decision.id
    say(manager, c.t("council.decision.recorded"))
    await manager.switch_to(CouncilDecide.decision)


# --- groups ----------------------------------------------------------------------------


async def groups_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    community = await hosted_community(c, dialog_manager)
    groups = await service.groups(community.id) if community else []
    items = []
    for group in groups:
        node = await c.services.hierarchy.get(group.node_id)
        members = len(await service.members(group.id))
        label = c.t(
            "council.group.item", name=group.name, node=node.name if node else "—", n=members
        )
        items.append((group.id, label))
    return {
        "notice": notice(dialog_manager),
        "items": items,
        "has": bool(items),
        "empty": not items,
    }


async def on_group(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["group"] = int(item_id)
        await manager.switch_to(CouncilDecide.group)


async def group_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = _service(c)
    group = await (await c.scoped()).group(int(dialog_manager.dialog_data.get("group", 0)))
    community = await hosted_community(c, dialog_manager)
    if group is None or community is None or group.community_id != community.id:
        return {
            "notice": notice(dialog_manager),
            "text": c.t("council.problem.not_found"),
            "people": [],
        }
    people = []
    for user_id in await service.members(group.id):
        user = await c.services.users.get(user_id)
        name = user.display_name if user else "—"
        people.append((user_id, ("👑 " if group.leader_id == user_id else "") + name))
    node = await c.services.hierarchy.get(group.node_id)
    return {
        "notice": notice(dialog_manager),
        "text": c.t(
            "council.group.card",
            name=e(group.name),
            node=e(node.name) if node else "—",
            n=len(people),
        ),
        "people": people,
    }


async def on_leader(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if not item_id.isdigit():
        return
    try:
        changed = await _service(c).add_member(
            c.staffing, int(manager.dialog_data.get("group", 0)), int(item_id), leader=True
        )
    except CouncilError as exc:
        say(manager, c.t(f"council.problem.{exc.problem.value}"))
        return
    if changed:
        say(manager, c.t("council.group.leader_set"))


async def on_group_name(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    name = (message.text or "").strip()
    if not name or len(name) > 60:
        say(manager, c.t("council.group.name_bad"))
        return
    manager.dialog_data["group_name"] = name
    clear_notice(manager)
    await manager.switch_to(CouncilDecide.group_node)


async def nodes_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await hosted_community(c, dialog_manager)
    nodes = await _service(c).buildings_of(community) if community else []
    return {"notice": notice(dialog_manager), "nodes": [(n.id, n.name) for n in nodes]}


async def on_group_node(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    community = await hosted_community(c, manager)
    name = manager.dialog_data.get("group_name")
    if community is None or not item_id.isdigit() or not name:
        return
    try:
        group = await _service(c).create_group(c.staffing, community.id, int(item_id), str(name))
    except CouncilError as exc:
        say(manager, c.t(f"council.problem.{exc.problem.value}"))
        return
    manager.dialog_data.pop("group_name", None)
    manager.dialog_data["group"] = group.id
    say(manager, c.t("council.group.created"))
    await manager.switch_to(CouncilDecide.group)


async def _ask_for_members(manager: DialogManager, lead: str = "") -> None:
    """As ``_ask_for_person``: the keyboard comes back with every answer that asks for it."""
    c = ctx(manager)
    keyboard = user_picker(c.t("council.group.pick_button"), MEMBERS_REQUEST, most=10)
    await c.bot.send_message(
        c.user_id, lead or c.t("council.group.pick_keyboard"), reply_markup=keyboard
    )
    await manager.switch_to(CouncilDecide.members, show_mode=ShowMode.SEND)


async def on_add_members(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _ask_for_members(manager)


async def on_members(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    shared = message.users_shared
    if shared is None or shared.request_id != MEMBERS_REQUEST or not shared.users:
        await _ask_for_members(manager, c.t("council.group.pick_hint"))
        return
    service = _service(c)
    group_id = int(manager.dialog_data.get("group", 0))
    added, refused = 0, 0
    for person in shared.users:
        try:
            if await service.add_member(c.staffing, group_id, person.user_id):
                added += 1
        except CouncilError:
            refused += 1
    clear_notice(manager)
    await c.bot.send_message(
        c.user_id,
        c.t("council.group.added", added=added, refused=refused),
        reply_markup=ReplyKeyboardRemove(),
    )
    await manager.switch_to(CouncilDecide.group, show_mode=ShowMode.SEND)


async def on_members_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await c.bot.send_message(
        c.user_id, c.t("council.group.kept"), reply_markup=ReplyKeyboardRemove()
    )
    await manager.switch_to(CouncilDecide.group, show_mode=ShowMode.SEND)


def decide_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("council.decision.title", when="held"),
            L("council.decision.not_held", when="not_held"),
            picker("d_pick", "items", on_decision, height=8),
            Column(
                SwitchTo(
                    L("council.decision.new"), id="d_new", state=CouncilDecide.what, when="held"
                ),
                SwitchTo(L("council.group.button"), id="d_groups", state=CouncilDecide.groups),
                Button(L("council.back"), id="d_close", on_click=close),
            ),
            state=CouncilDecide.main,
            getter=main_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            SwitchTo(L("council.back"), id="dd_back", state=CouncilDecide.main),
            state=CouncilDecide.decision,
            getter=decision_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.what_ask"),
            MessageInput(on_what, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="dw_back", state=CouncilDecide.main),
            state=CouncilDecide.what,
            getter=notice_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.topic_ask"),
            picker("d_topic", "topics", on_topic, height=8),
            SwitchTo(L("council.back"), id="dt_back", state=CouncilDecide.what),
            state=CouncilDecide.topic,
            getter=topic_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.owner_ask"),
            picker("d_owner", "owners", on_owner),
            SwitchTo(L("council.back"), id="do_back", state=CouncilDecide.topic),
            state=CouncilDecide.owner,
            getter=owner_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.person_ask"),
            MessageInput(on_owner_person, content_types=ContentType.ANY),
            Button(L("council.back"), id="dp_back", on_click=on_owner_person_back),
            state=CouncilDecide.owner_person,
            getter=notice_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.due_ask"),
            MessageInput(on_due, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="du_back", state=CouncilDecide.owner),
            state=CouncilDecide.due,
            getter=due_getter,
        ),
        Window(
            notice_text(),
            L("council.group.list", when="has"),
            L("council.group.empty", when="empty"),
            picker("g_pick", "items", on_group, height=8),
            SwitchTo(L("council.group.new"), id="g_new", state=CouncilDecide.group_name),
            SwitchTo(L("council.back"), id="gs_back", state=CouncilDecide.main),
            state=CouncilDecide.groups,
            getter=groups_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            picker("g_people", "people", on_leader, height=8),
            Button(L("council.group.add"), id="g_add", on_click=on_add_members),
            SwitchTo(L("council.back"), id="g_back", state=CouncilDecide.groups),
            state=CouncilDecide.group,
            getter=group_getter,
        ),
        Window(
            notice_text(),
            L("council.group.name_ask"),
            MessageInput(on_group_name, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="gn_back", state=CouncilDecide.groups),
            state=CouncilDecide.group_name,
            getter=notice_getter,
        ),
        Window(
            notice_text(),
            L("council.group.node_ask"),
            picker("g_node", "nodes", on_group_node, width=2, height=6),
            SwitchTo(L("council.back"), id="gd_back", state=CouncilDecide.group_name),
            state=CouncilDecide.group_node,
            getter=nodes_getter,
        ),
        Window(
            notice_text(),
            L("council.group.pick_ask"),
            MessageInput(on_members, content_types=ContentType.ANY),
            Button(L("council.back"), id="gm_back", on_click=on_members_back),
            state=CouncilDecide.members,
            getter=notice_getter,
        ),
        on_start=hosts_only,
    )
