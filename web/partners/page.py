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
from storage.hierarchy import NodeKind
from storage.partners import PartnerService, ServiceOrder
from storage.partners.rules import DECIDERS, may_decide
from storage.partners.service import month_bounds
from web.desk.chat import chat_link
from web.desk.communities import chosen, communities
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


@routes.get("/partners")
@desk_page
async def partners_page(desk: Desk) -> web.StreamResponse:
    mine = await communities(desk, DECIDERS)
    community, refused = await chosen(desk, mine, may_decide)
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
