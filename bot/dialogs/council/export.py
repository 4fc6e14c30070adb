"""The council as a spreadsheet, for staff: one meeting, or every meeting of a month in
their area. Sheets: meetings (time, place, answers, attendance, minutes), topics, who
attended, votes with their counts, and decisions with their progress. Column names come
from the locale files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Button
from sqlalchemy import select

from bot.dialogs.council.common import hosted_community
from bot.dialogs.council.decide import owner_label
from bot.dialogs.council.views import decision_status, option_label, place_of
from bot.formatting import local_time
from bot.kit.context import Ctx, ctx
from bot.kit.notice import say
from storage.council import Meeting, TopicState
from storage.council.decisions import DecisionService
from storage.council.rules import HOSTS
from storage.hierarchy import Node, NodeKind

SHEETS: dict[str, tuple[str, ...]] = {
    "meetings": (
        "community",
        "when",
        "place",
        "state",
        "yes",
        "no",
        "maybe",
        "attended",
        "minutes",
    ),
    "topics": (
        "community",
        "when",
        "topic",
        "state",
        "position",
        "supports",
        "proposer",
        "reason",
        "outcome",
    ),
    "attendance": ("community", "when", "name", "building", "via"),
    "votes": ("community", "when", "question", "state", "results", "chat", "paper", "quorum"),
    "decisions": ("community", "when", "decision", "owner", "due", "status", "percent"),
}


async def _rows(c: Ctx, meetings: Sequence[Meeting]) -> dict[str, list[list[Any]]]:
    service = c.services.get(DecisionService)
    zone, now = service.policy.zone, c.clock.now()
    rows: dict[str, list[list[Any]]] = {name: [] for name in SHEETS}
    for meeting in meetings:
        community = await c.services.hierarchy.get(meeting.community_id)
        place = community.name if community else ""
        at = local_time(meeting.starts_at, zone)
        answers = {a: 0 for a in ("yes", "no", "maybe")}
        for (_, answer), n in (await service.rsvp_counts(meeting.id)).items():
            answers[answer] = answers.get(answer, 0) + n
        attendance = await service.attendance(meeting.id)
        rows["meetings"].append(
            [
                place,
                at,
                place_of(c.t, meeting),
                c.t(f"council.meeting_state.{meeting.state}"),
                answers["yes"],
                answers["no"],
                answers["maybe"],
                len(attendance),
                meeting.minutes or "",
            ]
        )
        states = tuple(TopicState)
        for row in await service.topics(meeting.id, states=states):
            topic = row.topic
            author = await c.services.users.get(topic.author_id) if topic.author_id else None
            rows["topics"].append(
                [
                    place,
                    at,
                    topic.text or c.t("council.voice_topic"),
                    c.t(f"council.topic_state.{topic.state}"),
                    topic.position or "",
                    row.supports,
                    author.display_name if author else "",
                    topic.reason or "",
                    c.t(f"council.outcome.{topic.outcome}") if topic.outcome else "",
                ]
            )
        for present in attendance:
            person = await c.services.users.get(present.user_id)
            building = (
                await c.services.hierarchy.get(person.building_id)
                if person and person.building_id
                else None
            )
            rows["attendance"].append(
                [
                    place,
                    at,
                    person.display_name if person else "—",
                    building.name if building else "",
                    present.via,
                ]
            )
        for vote in await service.votes(meeting.id):
            counts = (vote.result or {}).get("counts") or await service.counts(vote)
            results = "; ".join(
                f"{option_label(c.t, o)} {n}" for o, n in zip(vote.options, counts, strict=True)
            )
            rows["votes"].append(
                [
                    place,
                    at,
                    vote.question,
                    c.t(f"council.vote_state.{vote.state}"),
                    results,
                    sum(await service.counts(vote)),
                    sum(vote.paper or []),
                    vote.quorum or "",
                ]
            )
        for decision in await service.decisions(meeting.id):
            rows["decisions"].append(
                [
                    place,
                    at,
                    decision.what,
                    await owner_label(c, decision),
                    local_time(decision.due_at, zone),
                    decision_status(c.t, decision, now),
                    decision.percent,
                ]
            )
    return rows


def workbook(c: Ctx, rows: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, columns in SHEETS.items():
        sheet = book.create_sheet(c.t(f"council.xlsx.{name}"))
        sheet.append([c.t(f"council.xlsx.column.{column}") for column in columns])
        for row in rows[name]:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _communities(c: Ctx) -> list[Node]:
    found: dict[int, Node] = {}
    for scope in c.staffing.scopes(HOSTS):
        if scope is not None and scope.node_kind == NodeKind.COMMUNITY:
            found[scope.id] = scope
            continue
        for community in await c.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope):
            found[community.id] = community
    return list(found.values())


async def on_export_meeting(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    service = c.services.get(DecisionService)
    community = await hosted_community(c, manager)
    if community is None:
        return
    meeting = await service.latest_held(community.id) or await service.next_meeting(community.id)
    data = workbook(c, await _rows(c, [meeting]))
    await c.bot.send_document(
        c.user_id,
        BufferedInputFile(data, filename=f"council-{community.code}-{meeting.month}.xlsx"),
        caption=c.t(
            "council.xlsx.meeting_caption", when=local_time(meeting.starts_at, service.policy.zone)
        ),
    )


async def on_export_month(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """Every meeting of this month in the staff member's area."""
    c = ctx(manager)
    service = c.services.get(DecisionService)
    local = c.clock.now().astimezone(service.policy.zone)
    month = f"{local.year:04d}-{local.month:02d}"
    ids = [n.id for n in await _communities(c)]
    meetings = (
        (
            await c.session.execute(
                select(Meeting)
                .where(Meeting.community_id.in_(ids), Meeting.month == month)
                .order_by(Meeting.community_id)
            )
        )
        .scalars()
        .all()
    )
    if not meetings:
        say(manager, c.t("council.xlsx.none", month=month))
        return
    data = workbook(c, await _rows(c, meetings))
    await c.bot.send_document(
        c.user_id,
        BufferedInputFile(data, filename=f"council-{month}.xlsx"),
        caption=c.t("council.xlsx.month_caption", month=month, n=len(meetings)),
    )
