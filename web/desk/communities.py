"""The communities a desk page about one community offers: those under the person's
grants of the feature's roles, and the one ``?node=`` names, let through only by the
feature's own rule (anything else reads as not found)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from storage.appeals.desk import MAX_ID
from storage.hierarchy import Node, NodeKind
from storage.roles import Role, Staffing
from web.desk.session import Desk

Rule = Callable[[Staffing, Node | None], object | None]  # None: allowed


async def communities(desk: Desk, roles: Iterable[Role]) -> list[Node]:
    found: dict[int, Node] = {}
    for scope in desk.staffing.scopes(roles):
        for node in await desk.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope):
            found.setdefault(node.id, node)
    return list(found.values())


async def chosen(desk: Desk, mine: list[Node], rule: Rule) -> tuple[Node | None, bool]:
    """``?node=`` if ``rule`` lets the person see that community, else refused (True);
    without it, their first community (None: they have none)."""
    raw = desk.request.query.get("node")
    if raw is None or raw == "":
        return (mine[0] if mine else None), False
    node_id = int(raw) if raw.isdecimal() and 0 < int(raw) <= MAX_ID else None
    node = await desk.services.hierarchy.get(node_id) if node_id else None
    if node is None or node.node_kind is not NodeKind.COMMUNITY:
        return None, True
    return (node, False) if rule(desk.staffing, node) is None else (None, True)
