"""The council at a glance, for whoever hosts a community's council in the chat
(``may_host``): its next meetings with the RSVPs per building (``rsvp_counts``), its open
votes with how many have voted (never the counts of a vote that hides them while open),
and its decisions overdue. Arranging, voting and chasing stay in the chat (/council)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.formatting import local_time
from storage.council import CouncilService
from storage.council.decisions import DecisionService
from storage.council.models import Answer, Decision, Meeting, Vote
from storage.council.rules import HOSTS, may_host
from web.desk.chat import chat_link
from web.desk.communities import chosen, communities
from web.desk.session import Desk, desk_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Replies:
    building: str
    yes: int
    no: int
    maybe: int


@dataclass(frozen=True)
class Next:
    meeting: Meeting
    when: str
    replies: list[Replies]
    total: Replies


@dataclass(frozen=True)
class OpenVote:
    vote: Vote
    closes: str
    ballots: int


@dataclass(frozen=True)
class Late:
    decision: Decision
    due: str
    group: str


async def _next(desk: Desk, council: CouncilService, meeting: Meeting) -> Next:
    counts = await council.rsvp_counts(meeting.id)
    names: dict[int | None, str] = {}
    for building_id, _ in counts:
        node = await desk.services.hierarchy.get(building_id) if building_id else None
        names[building_id] = node.name if node else "—"
    replies = [
        Replies(
            names[b],
            counts.get((b, Answer.YES), 0),
            counts.get((b, Answer.NO), 0),
            counts.get((b, Answer.MAYBE), 0),
        )
        for b in sorted(names, key=lambda b: names[b])
    ]
    total = Replies(
        "",
        sum(r.yes for r in replies),
        sum(r.no for r in replies),
        sum(r.maybe for r in replies),
    )
    return Next(meeting, local_time(meeting.starts_at, desk.zone), replies, total)


@routes.get("/council")
@desk_page
async def council_page(desk: Desk) -> web.StreamResponse:
    mine = await communities(desk, HOSTS)
    community, refused = await chosen(desk, mine, may_host)
    if refused:
        return desk.render("council/missing.html", status=404)
    context: dict[str, Any] = {
        "community": community,
        "others": [n for n in mine if community is None or n.id != community.id],
        "chat": chat_link(desk, "council"),
    }
    if community is not None:
        council = desk.services.get(DecisionService)
        context["meetings"] = [
            await _next(desk, council, m) for m in await council.upcoming(community.id)
        ]
        context["votes"] = [
            OpenVote(
                v,
                local_time(v.closes_at, desk.zone) if v.closes_at else "",
                sum(await council.counts(v)),
            )
            for v in await council.open_votes(community.id)
        ]
        late = []
        for d in await council.overdue_decisions(community.id):
            group = await council.group(d.group_id) if d.group_id else None
            late.append(Late(d, local_time(d.due_at, desk.zone), group.name if group else ""))
        context["late"] = late
    return desk.render("council/council.html", **context)
