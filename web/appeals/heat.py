"""The heat grid (热力图): a node's children as tiles coloured by the open appeals overdue
now (or any measure of the ranking, this month), each opening its own children's grid,
down to the grids (whose tile opens their open appeals on the queue). ``?screen=1`` is
the wall screen's mode (大屏): no navigation, large type, and the tiles fetch themselves
again every ``REFRESH_SECONDS`` and on any change in scope, so it needs no mouse (the
desk's page does too, half as often).

The figures are /stats' (``node_kpis`` for the current month); the tiles' colours are
``storage.appeals.ranking.heat``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from storage.appeals.kpi import Figures, Month, node_kpis
from storage.appeals.ranking import HeatMeasure, heat
from storage.hierarchy import Node, NodeKind
from web.appeals.figures import areas, chosen_node, crumbs, figure_text
from web.appeals.ranking import missing, month_label
from web.desk.session import DESK, Desk, desk_page

routes = web.RouteTableDef()

REFRESH_SECONDS = 30  # the wall screen's; the desk's page every twice as long


@dataclass(frozen=True)
class Tile:
    id: int
    name: str
    href: str
    text: str
    heat: str  # "0".."4", or "none" without a figure
    total: int  # appeals this month
    overdue: int


def _measure(desk: Desk) -> HeatMeasure:
    raw = desk.request.query.get("figure", "")
    return HeatMeasure(raw) if raw in set(HeatMeasure) else HeatMeasure.OVERDUE


def _screen(desk: Desk) -> bool:
    return desk.request.query.get("screen") == "1"


def _query(node_id: int, measure: HeatMeasure, screen: bool) -> str:
    query: dict[str, Any] = {"node": node_id}
    if measure is not HeatMeasure.OVERDUE:
        query["figure"] = measure.value
    if screen:
        query["screen"] = "1"
    return urlencode(query)


def _tiles(figures: tuple[Figures, ...], measure: HeatMeasure, screen: bool) -> list[Tile]:
    values = [measure.of(f) for f in figures]
    tiles = []
    for f, value in zip(figures, values, strict=True):
        step = heat(measure, value, values)
        if f.kind is NodeKind.GRID:
            href = f"{DESK}/appeals?grid={f.node_id}"
        else:
            href = f"{DESK}/heat?" + _query(f.node_id, measure, screen)
        tiles.append(
            Tile(
                id=f.node_id,
                name=f.name,
                href=href,
                text=figure_text(value, rate=measure.is_rate),
                heat="none" if step is None else str(step),
                total=f.total,
                overdue=f.overdue,
            )
        )
    return tiles


async def _context(desk: Desk, node: Node) -> dict[str, Any]:
    measure = _measure(desk)
    screen = _screen(desk)
    now = desk.now()
    month = Month.of(now, desk.zone)
    kpis = await node_kpis(
        desk.services.session, node, month, now=now, zone=desk.zone, medians=False
    )
    # A grid has no tiles below it: it is its own one tile.
    shown = kpis.children if kpis.child_kind is not None else (kpis.node,)
    t = desk.t
    return {
        "node": node,
        "measure": measure.value,
        "measure_name": t.plain(f"desk.heat.measure.{measure.value}"),
        "measures": [(m.value, t.plain(f"desk.heat.measure.{m.value}")) for m in HeatMeasure],
        "measure_queries": {m.value: _query(node.id, m, screen) for m in HeatMeasure},
        "tiles": _tiles(shown, measure, screen),
        "whole": kpis.node,
        "month_name": month_label(t, month),
        "now": now.astimezone(desk.zone).strftime("%Y-%m-%d %H:%M"),
        "screen": screen,
        "refresh": REFRESH_SECONDS if screen else 2 * REFRESH_SECONDS,
        "tiles_url": f"{DESK}/heat/tiles?" + _query(node.id, measure, screen),
        "page_query": _query(node.id, measure, screen),
        "screen_query": _query(node.id, measure, True),
        "desk_query": _query(node.id, measure, False),
    }


@routes.get("/heat")
@desk_page
async def heat_page(desk: Desk) -> web.StreamResponse:
    node = await chosen_node(desk)
    if node is None:
        return missing(desk)
    context = await _context(desk, node)
    # The crumbs keep the figure and the mode: "?node=<id>" + keep.
    keep = context["page_query"].removeprefix(f"node={node.id}")
    context.update(crumbs=await crumbs(desk, node), areas=await areas(desk), keep=keep)
    page = "appeals/heat_screen.html" if context["screen"] else "appeals/heat.html"
    return desk.render(page, **context)


@routes.get("/heat/tiles")
@desk_page
async def heat_tiles(desk: Desk) -> web.StreamResponse:
    """The tiles alone, as the page fetches them again (on a change, and on the wall
    screen every REFRESH_SECONDS)."""
    node = await chosen_node(desk)
    if node is None:
        return missing(desk)
    return desk.render("appeals/_tiles.html", **await _context(desk, node))
