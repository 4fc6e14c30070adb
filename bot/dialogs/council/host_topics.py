"""Curating topics, for staff: the open and accepted ones with their +1s; accept into the
ordered agenda, move up or down, merge a duplicate, decline with a reason; hear a spoken
topic or see its photo; the month's candidate appeals, worded into topics by staff."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.council.common import council, hosted_meeting, hosted_topic, problem_text
from bot.dialogs.council.states import CouncilHost
from bot.dialogs.council.views import (
    day_of,
    short,
)
from bot.formatting import e
from bot.kit.choice import chosen
from bot.kit.context import Ctx, ctx
from bot.kit.notice import notice, say
from storage.appeals.models import Appeal
from storage.appeals.policy import AppealPolicy
from storage.council import (
    CouncilError,
    Outcome,
    TopicState,
)

# --- topics ----------------------------------------------------------------------------


async def topics_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    rows = await council(c).topics(meeting.id) if meeting else []
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
        "day": day_of(c.t, meeting, council(c).policy.zone),
    }


async def on_topic(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["topic"] = int(item_id)
        await manager.switch_to(CouncilHost.topic)


async def topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = council(c)
    topic = await hosted_topic(c, dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    if topic is None or meeting is None:
        return {"notice": notice(dialog_manager), "text": c.t("council.problem.not_found")}
    author = await c.services.users.get(topic.author_id) if topic.author_id else None
    supports = {r.topic.id: r.supports for r in await service.topics(meeting.id)}
    text = c.t(
        "council.host.topic",
        text=e(topic.text) or c.t("council.voice_topic"),
        author=e(author.display_name) if author else c.t("council.host.by_staff"),
        n=supports.get(topic.id, 0),
        state=c.t(f"council.topic_state.{topic.state}"),
    )
    if topic.outcome:
        text += "\n" + c.t(
            "council.host.outcome_line", outcome=c.t(f"council.outcome.{topic.outcome}")
        )
    # What the meeting made of an agenda item, once it has begun; the choice is marked.
    decidable = topic.state == TopicState.ACCEPTED and meeting.starts_at <= c.clock.now()
    outcomes = [
        (o.value, chosen(c.t(f"council.outcome_option.{o}"), o == topic.outcome)) for o in Outcome
    ]
    return {
        "notice": notice(dialog_manager),
        "text": text,
        "decidable": decidable,
        "outcomes": outcomes if decidable else [],
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


def topic_action(name: str) -> Any:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        service = council(c)
        topic_id = int(manager.dialog_data.get("topic", 0))
        try:
            if name == "accept":
                await service.accept(c.staffing, topic_id)
            else:
                await service.move_topic(c.staffing, topic_id, up=name == "up")
        except CouncilError as exc:
            say(manager, problem_text(c, exc))
            return
        say(manager, c.t(f"council.host.done_{name}"))

    return handler


async def on_outcome(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if item_id not in {o.value for o in Outcome}:
        return
    try:
        changed = await council(c).set_outcome(
            c.staffing, int(manager.dialog_data.get("topic", 0)), Outcome(item_id)
        )
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    if changed:
        say(manager, c.t("council.host.outcome_set", outcome=c.t(f"council.outcome.{item_id}")))


async def on_media(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """The proposer's voice note or photo, sent to the staff member to hear or see."""
    c = ctx(manager)
    topic = await hosted_topic(c, manager)
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
        await council(c).decline(c.staffing, int(manager.dialog_data.get("topic", 0)), reason)
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    say(manager, c.t("council.host.done_decline"))
    await manager.switch_to(CouncilHost.topics)


async def on_merge(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    if not item_id.isdigit():
        return
    try:
        await council(c).merge(c.staffing, int(manager.dialog_data.get("topic", 0)), int(item_id))
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    say(manager, c.t("council.host.done_merge"))
    await manager.switch_to(CouncilHost.topics)


async def candidates_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    meeting = (await hosted_meeting(c, dialog_manager))[1]
    appeals = await council(c).candidate_appeals(meeting) if meeting else []
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
    c = ctx(manager)
    appeal = await _candidate(c, manager, int(item_id)) if item_id.isdigit() else None
    if appeal is not None:
        manager.dialog_data["appeal"] = appeal.id
        await manager.switch_to(CouncilHost.add_topic)


async def _candidate(c: Ctx, manager: DialogManager, appeal_id: int) -> Appeal | None:
    """An appeal a topic may be written from: one the person may read (the scoped read)
    of the community whose council they are running."""
    community = (await hosted_meeting(c, manager))[0]
    appeal = await (await c.scoped()).appeal(appeal_id)
    if appeal is None or community is None or appeal.community_id != community.id:
        return None
    return appeal


async def add_topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """From an appeal, its text is shown to the staff member (who may read it) to write
    the topic from; the topic itself is what residents see, so it is theirs to word."""
    c = ctx(dialog_manager)
    appeal_id = dialog_manager.dialog_data.get("appeal")
    appeal = await _candidate(c, dialog_manager, int(appeal_id)) if appeal_id else None
    return {
        "notice": notice(dialog_manager),
        "from_appeal": c.t("council.host.from_appeal", number=appeal.number, text=e(appeal.text))
        if appeal
        else "",
    }


async def on_add_topic(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    meeting = (await hosted_meeting(c, manager))[1]
    text = (message.text or "").strip()
    if meeting is None or not text or len(text) > 1000:
        say(manager, c.t("council.propose.empty"))
        return
    appeal_id = manager.dialog_data.get("appeal")
    try:
        await council(c).add_topic(
            c.staffing, meeting.id, text, appeal_id=int(appeal_id) if appeal_id else None
        )
    except CouncilError as exc:
        say(manager, problem_text(c, exc))
        return
    manager.dialog_data.pop("appeal", None)
    say(manager, c.t("council.host.done_accept"))
    await manager.switch_to(CouncilHost.topics)
