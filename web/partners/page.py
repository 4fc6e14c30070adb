"""Partners at a glance, for whoever decides on a community's partners in the chat
(``may_decide``, the /partners screen): its orders waiting for a taker, oldest first
(``Orders.waiting``), and this month's points table (``Points.month``, the table /partners
shows and exports). No household's name or phone: those stay with whoever handles the
order. Assigning (派单) and deciding stay in the chat (/partners)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.formatting import local_time
from storage.appeals.desk import MAX_ID
from storage.hierarchy import Node, NodeKind
from storage.partners import PartnerService, ServiceOrder
from storage.partners.rules import DECIDERS, may_decide
from storage.partners.service import month_bounds
from web.desk.chat import chat_link
from web.desk.session import Desk, desk_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Waiting:
    order: ServiceOrder
    skill: str
    grid: str
    since: str
    state: str
    dispatched: bool  # nobody took it in time: staff were asked to assign it


async def communities(desk: Desk) -> list[Node]:
    """The communities whose partners the person decides on, as /partners picks them."""
    found: dict[int, Node] = {}
    for scope in desk.staffing.scopes(DECIDERS):
        for node in await desk.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope):
            found.setdefault(node.id, node)
    return list(found.values())


async def _chosen(desk: Desk, mine: list[Node]) -> tuple[Node | None, bool]:
    """``?node=`` if they decide on that community, else refused (as not found);
    without it, their first community (None: they have none)."""
    raw = desk.request.query.get("node")
    if raw is None or raw == "":
        return (mine[0] if mine else None), False
    node_id = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None
    node = await desk.services.hierarchy.get(node_id) if node_id else None
    if node is None or node.node_kind is not NodeKind.COMMUNITY:
        return None, True
    return (node, False) if may_decide(desk.staffing, node) is None else (None, True)


@routes.get("/partners")
@desk_page
async def partners_page(desk: Desk) -> web.StreamResponse:
    mine = await communities(desk)
    community, refused = await _chosen(desk, mine)
    if refused:
        return desk.render("partners/missing.html", status=404)
    t = desk.t
    context: dict[str, Any] = {
        "community": community,
        "others": [n for n in mine if community is None or n.id != community.id],
        "chat": chat_link(desk, "partners"),
    }
    if community is not None:
        service = desk.services.get(PartnerService)
        start, end, label = month_bounds(desk.now(), desk.zone)
        grids = {
            n.id: n.name for n in await desk.services.hierarchy.of_kind(NodeKind.GRID, community)
        }
        context["waiting"] = [
            Waiting(
                order=o,
                skill=t.plain(f"partner.skill.{o.skill}"),
                grid=grids.get(o.grid_id or 0, "—"),
                since=local_time(o.created_at, desk.zone),
                state=t.plain(f"partner.order_state.{o.state}"),
                dispatched=o.dispatched_at is not None,
            )
            for o in await service.waiting(community.id)
        ]
        context["rows"] = await service.month(community.id, start, end)
        context["month"] = label
    return desk.render("partners/partners.html", **context)
