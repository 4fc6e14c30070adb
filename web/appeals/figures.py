"""What the ranking and the heat grid share: the node a page shows (from the URL, read
through the scoped lookup; without one, where the person's /stats opens), the month
asked for, the way up (breadcrumbs) and how a figure reads."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from storage.appeals.kpi import Month
from storage.appeals.ranking import Value, home_node, home_nodes, may_see, staff_node
from storage.hierarchy import HierarchyRepo, Node
from web.desk.session import Desk

FIRST_YEAR = 2000  # a month typed before this is taken as this year's January


async def chosen_node(desk: Desk) -> Node | None:
    """The node named by ``?node=`` if the person may see its figures; without the
    parameter their home node. None (a 404) for anything else, missing or not theirs
    alike."""
    raw = desk.request.query.get("node")
    if raw is None or raw == "":
        return await home_node(desk.services.session, desk.staffing)
    if not raw.isdecimal():
        return None
    return await staff_node(desk.services.session, desk.staffing, int(raw))


def chosen_month(desk: Desk) -> Month:
    """``?month=YYYY-MM``, never after the current month; anything else: this month."""
    this_month = Month.of(desk.now(), desk.zone)
    try:
        month = Month.parse(desk.request.query.get("month", ""))
    except ValueError:
        return this_month
    return max(min(month, this_month), Month(FIRST_YEAR, 1))


@dataclass(frozen=True)
class Crumb:
    id: int
    name: str
    link: bool  # within the person's scope: a link


async def crumbs(desk: Desk, node: Node) -> list[Crumb]:
    chain = await HierarchyRepo(desk.services.session).ancestors(node)
    return [Crumb(n.id, n.name, may_see(desk.staffing, n)) for n in chain]


async def areas(desk: Desk) -> list[tuple[int, str]]:
    """The person's other starting nodes, when they have more than one."""
    nodes = await home_nodes(desk.services.session, desk.staffing)
    return [(n.id, n.name) for n in nodes] if len(nodes) > 1 else []


def figure_text(value: Value, *, rate: bool) -> str:
    """A figure as the page, the XLSX and /stats show it: a rate to one decimal with a
    percent sign, a count as a number, "—" without one."""
    if value is None:
        return "—"
    if rate:
        return f"{float(Fraction(value)) * 100:.1f}%"
    return str(value)
