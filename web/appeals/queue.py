"""The live queue (诉求队列): every open appeal in the person's scope, overdue first (in
red, with how long), then by the time left to the promise; the counts on top; filters
by the level it sits at, category, grid, state, urgent, called up, reopened. The page's
live stream carries its filters and page, and brings the counts and the table itself
whenever something in scope changed: the same fragment, the same scoped query, the same
shared render as ``/appeals/rows`` gives that person (no request per open page)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import or_, select

from bot.formatting import span
from storage.appeals import OPEN_STATES, Appeal, AppealEvent, AppealPolicy, Level, State
from storage.appeals.desk import DeskQueue, QueueCounts, QueueFilter, desk_level, scope_paths
from storage.hierarchy import Node, NodeKind, within_path
from web.desk.live import HUB_KEY, PUSHED, Pushed
from web.desk.session import DESK, Desk, desk_page
from web.desk.shared import Fragment
from web.templates import render as render_template

routes = web.RouteTableDef()

PAGE_SIZE = 50
MAX_PAGE = 10_000
FLAGS = ("urgent", "called_up", "reopened")


def parse_filter(query: Mapping[str, str]) -> QueueFilter:
    """The filters from a URL. A value that is not one of the choices (typed or forged)
    is simply not applied; a grid outside the person's scope finds nothing."""
    level = query.get("level", "")
    state = query.get("state", "")
    grid = query.get("grid", "")
    category = query.get("category", "").strip()
    return QueueFilter(
        level=Level(level) if level in set(Level) else None,
        category=category[:32] or None,
        grid_id=int(grid) if grid.isdecimal() and 0 < int(grid) < 2**31 else None,
        state=State(state) if state in {s.value for s in OPEN_STATES} else None,
        urgent=query.get("urgent") == "1",
        called_up=query.get("called_up") == "1",
        reopened=query.get("reopened") == "1",
    )


def filter_query(narrowed: QueueFilter) -> dict[str, str]:
    """The URL query that gives ``narrowed`` back (empty fields left out)."""
    query = {
        "level": narrowed.level.value if narrowed.level else "",
        "category": narrowed.category or "",
        "grid": str(narrowed.grid_id) if narrowed.grid_id else "",
        "state": narrowed.state.value if narrowed.state else "",
    }
    for flag in FLAGS:
        if getattr(narrowed, flag):
            query[flag] = "1"
    return {k: v for k, v in query.items() if v}


def _page_number(query: Mapping[str, str]) -> int:
    value = query.get("page", "1")
    return min(int(value), MAX_PAGE) if value.isdecimal() and int(value) > 0 else 1


@dataclass(frozen=True)
class Row:
    id: int
    number: str
    category: str
    place: str
    state: str
    level: str
    at_my_level: bool
    owner: str
    overdue: str  # "3 小时" when overdue, else ""
    left: str  # time left when not overdue
    due_at: str
    urgent: bool
    called_up: bool
    reopened: bool
    escalations: int


async def _rows(desk: Desk, appeals: Sequence[Appeal]) -> list[Row]:
    """What the table shows of each appeal, with the names it needs read in a few
    statements for the whole page."""
    session = desk.services.session
    node_ids = {i for a in appeals for i in (a.community_id, a.grid_id, a.building_id) if i}
    nodes: dict[int, Node] = {}
    if node_ids:
        found = await session.execute(select(Node).where(Node.id.in_(node_ids)))
        nodes = {n.id: n for n in found.scalars()}
    owners = await desk.services.users.get_many({a.owner_id for a in appeals if a.owner_id})
    called = set()
    if appeals:
        found_ids = await session.execute(
            select(AppealEvent.appeal_id)
            .where(
                AppealEvent.appeal_id.in_([a.id for a in appeals]),
                AppealEvent.kind == "called_up",
            )
            .distinct()
        )
        called = {int(i) for i in found_ids.scalars()}
    t = desk.t
    policy = desk.services.config(AppealPolicy)
    now = desk.now()
    mine = desk_level(desk.staffing)
    rows = []
    for a in appeals:
        place = " · ".join(
            nodes[i].name for i in (a.community_id, a.grid_id, a.building_id) if i in nodes
        )
        owner = owners.get(a.owner_id) if a.owner_id else None
        due = a.pending_due
        late = a.overdue_by(now)
        rows.append(
            Row(
                id=a.id,
                number=a.number,
                category=policy.category_name(a.category, t.language),
                place=place,
                state=t.plain(f"appeal.state.{a.state}"),
                level=t.plain(f"appeal.level.{a.level}"),
                at_my_level=mine is not None and mine is not Level.GRID and a.level == mine,
                owner=owner.display_name if owner else ("—" if not a.owner_id else str(a.owner_id)),
                overdue=span(late, t.translator) if late is not None else "",
                left=span(due - now, t.translator) if due is not None and late is None else "",
                due_at=due.astimezone(desk.zone).strftime("%m-%d %H:%M") if due else "",
                urgent=a.urgent,
                called_up=a.id in called,
                reopened=a.reopened,
                escalations=a.escalations,
            )
        )
    return rows


async def _grids(desk: Desk) -> list[tuple[str, list[tuple[int, str]]]]:
    """The grids in scope, by community, for the grid filter."""
    session = desk.services.session
    paths = scope_paths(desk.staffing)
    stmt = select(Node).where(Node.kind.in_([NodeKind.COMMUNITY, NodeKind.GRID]))
    if paths is not None:
        if not paths:
            return []
        stmt = stmt.where(or_(*(within_path(Node.path, p) for p in paths)))
    found = (await session.execute(stmt.order_by(Node.path))).scalars().all()
    communities = {n.id: n.name for n in found if n.kind == NodeKind.COMMUNITY}
    grouped: dict[str, list[tuple[int, str]]] = {}
    for node in found:
        if node.kind == NodeKind.GRID:
            community = communities.get(node.parent_id or 0, "")
            grouped.setdefault(community, []).append((node.id, node.name))
    return list(grouped.items())


async def _queue_context(desk: Desk) -> dict[str, Any]:
    query = desk.request.query
    narrowed = parse_filter(query)
    page = _page_number(query)
    now: datetime = desk.now()
    queue = DeskQueue(desk.services.session, desk.staffing, now)
    counts: QueueCounts = await queue.counts(narrowed)
    appeals = await queue.page(narrowed, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-counts.open // PAGE_SIZE))
    base = filter_query(narrowed)
    level = desk_level(desk.staffing)
    return {
        "counts": counts,
        "rows": await _rows(desk, appeals),
        "page": page,
        "pages": pages,
        "filters": base,
        "query": urlencode({**base, "page": page} if page > 1 else base),
        "prev_query": urlencode({**base, "page": page - 1}) if page > 1 else None,
        "next_query": urlencode({**base, "page": page + 1}) if page < pages else None,
        "my_level": level.value if level is not None and level is not Level.GRID else None,
        "now": now.astimezone(desk.zone).strftime("%Y-%m-%d %H:%M"),
    }


@routes.get("/appeals")
@desk_page
async def queue_page(desk: Desk) -> web.StreamResponse:
    policy = desk.services.config(AppealPolicy)
    t = desk.t
    choices: dict[str, Any] = {
        "levels": [(lv.value, t.plain(f"appeal.level.{lv.value}")) for lv in Level],
        "states": [(s.value, t.plain(f"appeal.state.{s.value}")) for s in OPEN_STATES],
        "categories": [(c.code, c.name(t.language)) for c in policy.categories],
        "grids": await _grids(desk),
    }
    context = await _queue_context(desk)
    # The stream pushes the rows of what the page shows: its filters and its page.
    live = "view=queue" + (f"&{context['query']}" if context["query"] else "")
    return desk.render(
        "appeals/queue.html", rows_url=f"{DESK}/appeals/rows", live=live, **choices, **context
    )


def rows_key(desk: Desk) -> Hashable:
    """What decides the counts and the table: the subtrees the grants cover, the level
    the person acts at, their language, the filters and the page; never who they are."""
    query = desk.request.query
    paths = scope_paths(desk.staffing)
    return (
        "appeals/rows",
        None if paths is None else frozenset(paths),
        desk_level(desk.staffing),
        desk.t.language,
        parse_filter(query),
        _page_number(query),
    )


async def render_rows(desk: Desk) -> tuple[Fragment, datetime | None]:
    """The counts and the table, rendered from the key's parts alone (nothing of the
    person: no name, no roles, no token), and when the clock alone changes them."""
    context = await _queue_context(desk)
    response = render_template(
        "appeals/_rows.html",
        {"t": desk.t, "desk": DESK, "rows_url": f"{DESK}/appeals/rows", **context},
    )
    url = f"{DESK}/appeals" + (f"?{context['query']}" if context["query"] else "")
    response.headers["HX-Replace-Url"] = url
    # The clock alone changes it when an appeal in scope turns overdue.
    until = await DeskQueue(desk.services.session, desk.staffing, desk.now()).next_due()
    return Fragment.of(response), until


# The open queue's stream brings the rows itself (``/desk/live?view=queue&<filters>``).
PUSHED["queue"] = Pushed(rows_key, render_rows)


@routes.get("/appeals/rows")
@desk_page
async def queue_rows(desk: Desk) -> web.StreamResponse:
    """The counts and the table alone, as the filters fetch them (and a page whose
    stream said "signedout", to be refused); the address bar follows the filters
    (replaced, not pushed). What an open page's stream pushes is the same fragment, the
    same render (``web.desk.shared``, by ``rows_key``)."""
    hub = desk.request.config_dict.get(HUB_KEY)
    if hub is None:
        return (await render_rows(desk))[0].response()
    return await hub.renders.get(rows_key(desk), lambda: render_rows(desk))
