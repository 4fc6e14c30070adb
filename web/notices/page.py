"""Notices at a glance: the latest notices of the area the person may send to (the
chat's /notices archive), each with its delivery figures and, when it asks for 已收到,
the receipts per grid (``NoticeService.receipts``); and for a grid worker, the notices
whose door-visit lists went out to their grid. A list itself (households' names and
phones) opens on its own page, only for whom the chat sends it (``may_see_visits``),
and each view is audited. Acting on a notice stays in the chat (/notices)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.formatting import local_time
from storage.appeals.desk import MAX_ID
from storage.hierarchy import Node, NodeKind
from storage.notices import Notice, NoticeService
from storage.notices.rules import SENDERS, VISITOR, may_see_visits, may_send
from storage.notices.service import Household, Receipts
from storage.scope import Scoped
from web.desk.chat import chat_link
from web.desk.session import Desk, desk_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Card:
    notice: Notice
    place: str
    date: str
    first: str
    sent: int
    failed: int
    receipts: Receipts | None
    visits: list[tuple[int, str]]  # the grids whose list this person gets: (id, name)


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdecimal() and 0 < int(raw) <= MAX_ID else None


def _first_line(notice: Notice, desk: Desk) -> str:
    if notice.body:
        return (notice.body.splitlines() or [""])[0]
    return desk.t.plain(f"notice.media.{notice.media}")


async def _visit_grids(desk: Desk, notice: Notice) -> list[tuple[int, str]]:
    service = desk.services.get(NoticeService)
    return [
        (g.id, g.name)
        for g in await service.grids(notice)
        if may_see_visits(desk.staffing, notice, g) is None
    ]


async def _card(desk: Desk, notice: Notice) -> Card:
    service = desk.services.get(NoticeService)
    node = await desk.services.hierarchy.get(notice.node_id)
    progress = await service.progress(notice)
    return Card(
        notice=notice,
        place=node.name if node else "—",
        date=local_time(notice.created_at, desk.zone),
        first=_first_line(notice, desk),
        sent=progress.sent,
        failed=progress.failed,
        receipts=await service.receipts(notice) if notice.ack_required else None,
        visits=await _visit_grids(desk, notice),
    )


@routes.get("/notices")
@desk_page
async def notices_page(desk: Desk) -> web.StreamResponse:
    service = desk.services.get(NoticeService)
    scopes = desk.staffing.scopes(SENDERS)
    area: Node | None = None
    if "node" in desk.request.query:
        # Narrowed to a part of their area: one they may send to, as /notice asks.
        node_id = _id(desk.request.query.get("node"))
        area = await desk.services.hierarchy.get(node_id) if node_id else None
        if may_send(desk.staffing, area) is not None:
            return desk.render("notices/missing.html", status=404)
        scopes = [area]
    notices = await service.archive(scopes) if scopes else []
    grids = [g.node for g in desk.staffing.grants if g.role is VISITOR and g.node is not None]
    grids = [g for g in grids if g.node_kind is NodeKind.GRID]
    visited = [n for n in await service.visited(grids) if n not in notices] if area is None else []
    return desk.render(
        "notices/notices.html",
        area=area,
        cards=[await _card(desk, n) for n in notices],
        visited=[await _card(desk, n) for n in visited],
        sender=bool(desk.staffing.scopes(SENDERS)),
        chat=chat_link(desk, "notices"),
    )


@routes.get("/notices/{notice}/visits/{grid}")
@desk_page
async def visits_page(desk: Desk) -> web.StreamResponse:
    """One grid's door-visit list: the households it reached that have not confirmed."""
    notice_id = _id(desk.request.match_info["notice"])
    grid_id = _id(desk.request.match_info["grid"])
    scoped = await Scoped.of(desk.services, desk.staffing)
    notice = await scoped.notice(notice_id) if notice_id else None
    grid = await desk.services.hierarchy.get(grid_id) if grid_id else None
    service = desk.services.get(NoticeService)
    if (
        notice is None
        or grid is None
        or may_see_visits(desk.staffing, notice, grid) is not None
        or grid.id not in {g.id for g in await service.grids(notice)}
    ):
        return desk.render("notices/missing.html", status=404)
    households: list[Household] = await service.door_visits(notice, grid.id)
    await desk.audit(
        "desk.notice_visits_viewed", "notice", notice.id, grid_id=grid.id, n=len(households)
    )
    return desk.render(
        "notices/visits.html",
        card=await _card(desk, notice),
        grid=grid,
        households=households,
        chat=chat_link(desk, "notices"),
    )
