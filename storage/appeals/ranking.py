"""The monthly ranking (红黑榜) of a node's children and the heat grid's colours, both
from the KPIs /stats shows (``storage.appeals.kpi``: the same ``node_kpis`` call, so the
desk and the chat read equal figures), and the scope rule of both faces: which nodes'
figures a staff member may see and where their figures open.

Six measures rank the children: 响应率, 按时办结率, 解决率 (办结率), 满意率 (higher is
better), 重办率 and 超期件数 (lower is better). 超期件数 is the month's ``late`` count
(appeals of the month that missed a promise made at filing, /stats' 超时): a monthly
figure that can be set beside the month before, where the open appeals overdue *now*
(the heat grid's default) are one number whatever the month.

Each child gets a competition rank per measure (equal figures share a rank, "1, 1, 3");
with n children holding a figure, the best ``min(3, n // 2)`` ranks are marked top
(green) and the worst as many bottom (red), so a list of two shows one of each and a
list of one shows neither; a child that would be both (equal figures at the top and the
bottom) is neither. A child without a figure (no appeals) is unranked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.desk import MAX_ID
from storage.appeals.kpi import Figures, Month, NodeKpis, node_kpis
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.roles import Staffing

Value = Fraction | int | None
MARKED = 3  # top three green, bottom three red


class Measure(StrEnum):
    RESPONSE = "response"
    ON_TIME = "on_time"
    RESOLUTION = "resolution"
    SATISFACTION = "satisfaction"
    REOPEN = "reopen"
    LATE = "late"

    @property
    def is_rate(self) -> bool:
        return self is not Measure.LATE

    @property
    def higher_is_better(self) -> bool:
        return self not in (Measure.REOPEN, Measure.LATE)

    def of(self, figures: Figures) -> Value:
        return _READ[self](figures)


_READ: dict[Measure, Callable[[Figures], Value]] = {
    Measure.RESPONSE: lambda f: f.response_rate,
    Measure.ON_TIME: lambda f: f.on_time_rate,
    Measure.RESOLUTION: lambda f: f.resolution_rate,
    Measure.SATISFACTION: lambda f: f.satisfaction_rate,
    Measure.REOPEN: lambda f: f.reopen_rate,
    # A count is a figure even at 0, but not for a child with no appeals that month.
    Measure.LATE: lambda f: f.late if f.filed else None,
}


# --- scope: the rule the chat's /stats and the desk's pages share ------------------------


def may_see(staffing: Staffing, node: Node | None) -> bool:
    """A staff member sees the figures of a district, street, community or grid their
    grants reach."""
    return node is not None and node.node_kind is not NodeKind.BUILDING and staffing.covers(node)


def is_global(staffing: Staffing) -> bool:
    return any(g.node is None for g in staffing.grants)


async def home_node(session: AsyncSession, staffing: Staffing) -> Node | None:
    """Where a staff member's figures open: their top grant's node (raised from a
    building to its grid); for global admins the first district."""
    repo = HierarchyRepo(session)
    if is_global(staffing):
        districts = await repo.of_kind(NodeKind.DISTRICT)
        return districts[0] if districts else None
    grants = sorted(staffing.grants, key=lambda g: -g.role.rank)
    node = grants[0].node if grants else None
    while node is not None and node.node_kind is NodeKind.BUILDING and node.parent_id:
        node = await repo.get(node.parent_id)
    return node


async def staff_node(session: AsyncSession, staffing: Staffing, node_id: int) -> Node | None:
    """The node ``node_id`` if the person may see its figures, else None, as for an id
    that does not exist."""
    if not 0 < node_id <= MAX_ID:
        return None
    node = await HierarchyRepo(session).get(node_id)
    return node if may_see(staffing, node) else None


async def home_nodes(session: AsyncSession, staffing: Staffing) -> list[Node]:
    """Every node a person's figures may start from: each grant's (a building raised to
    its grid), or every district for a global admin; without repeats, by path."""
    repo = HierarchyRepo(session)
    if is_global(staffing):
        return list(await repo.of_kind(NodeKind.DISTRICT))
    found: dict[int, Node] = {}
    for grant in staffing.grants:
        node = grant.node
        while node is not None and node.node_kind is NodeKind.BUILDING and node.parent_id:
            node = await repo.get(node.parent_id)
        if node is not None:
            found[node.id] = node
    tops = [
        n
        for n in found.values()
        if not any(n.id != o.id and n.is_within(o) for o in found.values())
    ]
    return sorted(tops, key=lambda n: [int(i) for i in n.ancestor_ids()])


# --- the ranking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    value: Value
    previous: Value  # the month before
    rank: int | None  # 1 = best; None without a figure
    mark: str  # "top", "bottom" or ""

    @property
    def change(self) -> Value:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class RankRow:
    figures: Figures
    previous: Figures
    cells: dict[Measure, Cell]

    @property
    def node_id(self) -> int:
        return self.figures.node_id


@dataclass(frozen=True)
class Ranking:
    kpis: NodeKpis
    before: NodeKpis
    rows: tuple[RankRow, ...]  # the hierarchy's order

    def sorted(self, measure: Measure) -> list[RankRow]:
        """Best first by ``measure``, those without a figure last; ties in the
        hierarchy's order."""
        ranked = [r for r in self.rows if r.cells[measure].rank is not None]
        ranked.sort(key=lambda r: r.cells[measure].rank or 0)
        return ranked + [r for r in self.rows if r.cells[measure].rank is None]

    def total(self, measure: Measure) -> Cell:
        """The node's own figure (all its children together), unranked."""
        return Cell(measure.of(self.kpis.node), measure.of(self.before.node), None, "")


def _ranks(values: Sequence[Value], higher_is_better: bool) -> list[int | None]:
    """Competition ranks (equal values share the best rank), None for no value."""
    present = [v for v in values if v is not None]
    ranks: list[int | None] = []
    for v in values:
        if v is None:
            ranks.append(None)
        else:
            better = sum(1 for o in present if (o > v if higher_is_better else o < v))
            ranks.append(better + 1)
    return ranks


def _marks(ranks: Sequence[int | None]) -> list[str]:
    n = sum(1 for r in ranks if r is not None)
    k = min(MARKED, n // 2)
    marks = []
    for r in ranks:
        if r is None or k == 0:
            marks.append("")
            continue
        # The rank from the bottom, ties sharing it as at the top: 1 + how many are worse.
        from_bottom = 1 + sum(1 for o in ranks if o is not None and o > r)
        top, bottom = r <= k, from_bottom <= k
        marks.append("top" if top and not bottom else "bottom" if bottom and not top else "")
    return marks


def rank(kpis: NodeKpis, before: NodeKpis) -> Ranking:
    previous = {f.node_id: f for f in before.children}
    cells: list[dict[Measure, Cell]] = [{} for _ in kpis.children]
    for measure in Measure:
        values = [measure.of(f) for f in kpis.children]
        ranks = _ranks(values, measure.higher_is_better)
        marks = _marks(ranks)
        for i, f in enumerate(kpis.children):
            old = previous.get(f.node_id)
            cells[i][measure] = Cell(
                values[i], measure.of(old) if old is not None else None, ranks[i], marks[i]
            )
    rows = tuple(
        RankRow(f, previous.get(f.node_id) or Figures(f.node_id, f.code, f.name, f.kind), c)
        for f, c in zip(kpis.children, cells, strict=True)
    )
    return Ranking(kpis, before, rows)


async def ranking(
    session: AsyncSession, node: Node, month: Month, *, now: datetime, zone: ZoneInfo
) -> Ranking:
    """``node``'s children ranked for ``month``, beside the month before: the figures of
    two ``node_kpis`` calls, as /stats reads them (less the medians, which no measure
    uses and which are the one read growing with the month)."""
    kpis = await node_kpis(session, node, month, now=now, zone=zone, medians=False)
    before = await node_kpis(session, node, month.prev(), now=now, zone=zone, medians=False)
    return rank(kpis, before)


# --- the heat grid -----------------------------------------------------------------------

HEAT_LEVELS = 4
# Rates: the share of appeals a tile may miss before it turns one step redder.
_RATE_STEPS = (Fraction(5, 100), Fraction(10, 100), Fraction(20, 100), Fraction(40, 100))


class HeatMeasure(StrEnum):
    OVERDUE = "overdue"  # open appeals past their promise now, whatever the month
    RESPONSE = Measure.RESPONSE.value
    ON_TIME = Measure.ON_TIME.value
    RESOLUTION = Measure.RESOLUTION.value
    SATISFACTION = Measure.SATISFACTION.value
    REOPEN = Measure.REOPEN.value
    LATE = Measure.LATE.value

    @property
    def is_rate(self) -> bool:
        return self not in (HeatMeasure.OVERDUE, HeatMeasure.LATE)

    def of(self, figures: Figures) -> Value:
        if self is HeatMeasure.OVERDUE:
            return figures.overdue
        return Measure(self.value).of(figures)


def heat(measure: HeatMeasure, value: Value, values: Sequence[Value]) -> int | None:
    """A tile's colour step: 0 (green, nothing wrong) to HEAT_LEVELS (deepest red);
    None without a figure. Counts go by the share of the worst tile's count, so a wall
    always shows where the most are; rates by how much of the ideal they miss."""
    if value is None:
        return None
    if measure in (HeatMeasure.OVERDUE, HeatMeasure.LATE):
        worst = max((int(v) for v in values if v is not None), default=0)
        if not value or not worst:
            return 0
        return max(1, -(-HEAT_LEVELS * int(value) // worst))
    miss = Fraction(value)
    if measure is not HeatMeasure.REOPEN:
        miss = 1 - miss
    return sum(1 for step in _RATE_STEPS if miss > step)
