"""Appeal KPIs (接诉即办考核) per node of the hierarchy and month.

Definitions, for the appeals of a node (its denormalized grid/community/street/district
column, i.e. where the appeal sits now) submitted in the month:

- **month**: ``YYYY-MM`` in a time zone (default Asia/Shanghai); it runs from local
  midnight of the 1st to local midnight of the 1st of the next month, converted to UTC.
  An appeal counts in the month it was *submitted* (``submitted_at``), whatever happened
  to it later.
- **filed**: every appeal submitted in the month, in any state.
- **base** (``total``): filed, less those the resident cancelled and those rejected as
  duplicates of another appeal (接诉即办 counts neither against anyone). Every rate but
  satisfaction is over the base.
- **response rate** (响应率) = appeals of the base accepted within the accept promise
  (``accepted_in_time`` is true) / base.
- **on-time resolution rate** (按时办结率) = appeals of the base resolved now whose
  first resolution kept the resolve promise (``resolved_in_time`` is true) / base.
- **reopen rate** (重办率) = appeals of the base the resident reopened as unsatisfied at
  least once (``reopened`` stays set) / base.
- **resolution rate** (办结率, 解决率) = resolved / base, where *resolved* means the appeal holds
  a resolution now: ``resolved_at`` is set. An appeal the resident reopened as
  unsatisfied is *not* resolved until it is resolved again (reopening clears
  ``resolved_at``); rejected and cancelled appeals never are.
- **satisfaction rate** (满意率) = (满意 + 基本满意) / rated, over each appeal's *latest*
  rating. Reopening clears the stored rating, so an appeal with ``reopened`` set and no
  rating counts as rated 不满意 (the rating that reopened it) until the resident rates it
  again; otherwise rated means ``rating`` is set.
- **median time to accept / resolve**: hours from ``submitted_at`` to ``accepted_at``
  (the first acceptance) / to ``resolved_at`` (the current resolution), over the base's
  appeals that have one; ``None`` without data.
- **late** (超时): appeals of the base that missed a promise made at filing — accepted
  after the accept promise, resolved after the resolve promise, or still waiting past
  one. Once late, late for good: escalation gives the next level a window of its own,
  never a new promise.
- **closed unsatisfied**: closed after a second 不满意.
- **overdue now**: open appeals of the node (whatever their month) past the promise of
  the step still to come (for a reopened appeal, past its handling window) at ``now`` —
  ``Appeal.overdue``.

Rates are exact ``Fraction``s, ``None`` when the denominator is 0. Counts are SQL
aggregates (GROUP BY); only the medians are computed in Python, over the month's
durations."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.models import UNACCEPTED, WORKING, Appeal, Rating, State
from storage.hierarchy import HierarchyRepo, Node, NodeKind, within_path

DEFAULT_ZONE = "Asia/Shanghai"
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
SATISFIED_RATINGS = (Rating.SATISFIED.value, Rating.BASICALLY.value)


def as_zone(zone: ZoneInfo | str | None) -> ZoneInfo:
    if zone is None:
        return ZoneInfo(DEFAULT_ZONE)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str | Month) -> Month:
        if isinstance(text, Month):
            return text
        match = MONTH_RE.match(text.strip())
        if match is None:
            raise ValueError(f"expected YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo | str | None = None) -> Month:
        local = moment.astimezone(as_zone(zone))
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def prev(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def start(self, zone: ZoneInfo | str | None = None) -> datetime:
        """Local midnight of the 1st, in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=as_zone(zone)).astimezone(UTC)

    def bounds(self, zone: ZoneInfo | str | None = None) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return self.start(zone), self.next().start(zone)


def rate(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


@dataclass(frozen=True)
class Figures:
    """One node's figures for one month (overdue: at the report's ``now``)."""

    node_id: int
    code: str
    name: str
    kind: NodeKind
    total: int = 0  # the base: filed less cancelled and duplicates
    filed: int = 0
    by_state: Mapping[str, int] = field(default_factory=dict)
    by_category: Mapping[str, int] = field(default_factory=dict)
    accepted_in_time: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0  # 满意 + 基本满意
    median_accept_hours: float | None = None
    median_resolve_hours: float | None = None
    overdue: int = 0
    late: int = 0
    closed_unsatisfied: int = 0
    resolved_in_time: int = 0  # resolved now, the first resolution within the promise
    reopened: int = 0  # reopened as unsatisfied at least once

    @property
    def excluded(self) -> int:
        """Cancelled by the resident or rejected as a duplicate: not in the base."""
        return self.filed - self.total

    @property
    def response_rate(self) -> Fraction | None:
        return rate(self.accepted_in_time, self.total)

    @property
    def resolution_rate(self) -> Fraction | None:
        return rate(self.resolved, self.total)

    @property
    def satisfaction_rate(self) -> Fraction | None:
        return rate(self.satisfied, self.rated)

    @property
    def on_time_rate(self) -> Fraction | None:
        return rate(self.resolved_in_time, self.total)

    @property
    def reopen_rate(self) -> Fraction | None:
        return rate(self.reopened, self.total)

    def state_count(self, state: State | str) -> int:
        return self.by_state.get(str(state), 0)


@dataclass(frozen=True)
class NodeKpis:
    """A node's figures and, for the chart, each of its children's (none for a grid)."""

    month: Month
    zone: str
    start: datetime
    end: datetime
    now: datetime
    node: Figures
    child_kind: NodeKind | None
    children: tuple[Figures, ...]


# --- aggregation ----------------------------------------------------------------------

LEVEL_COLUMN: dict[NodeKind, InstrumentedAttribute[int]] = {
    NodeKind.DISTRICT: Appeal.district_id,
    NodeKind.STREET: Appeal.street_id,
    NodeKind.COMMUNITY: Appeal.community_id,
    NodeKind.GRID: Appeal.grid_id,
}


def _column(kind: NodeKind) -> InstrumentedAttribute[int]:
    column = LEVEL_COLUMN.get(kind)
    if column is None:
        raise ValueError(f"no appeal KPIs per {kind}")
    return column


def in_node(node: Node) -> list[ColumnElement[bool]]:
    """Appeals of ``node``. The district condition is implied but lets the
    (district_id, submitted_at) index narrow a month's scan at every level."""
    clauses: list[ColumnElement[bool]] = [_column(node.node_kind) == node.id]
    ids = node.ancestor_ids()
    if node.node_kind is not NodeKind.DISTRICT and ids:
        clauses.append(Appeal.district_id == ids[0])
    return clauses


async def all_districts(session: AsyncSession) -> ColumnElement[bool]:
    """Every appeal, said so that the (district_id, submitted_at) index serves a month."""
    ids = (
        (await session.execute(select(Node.id).where(Node.kind == NodeKind.DISTRICT)))
        .scalars()
        .all()
    )
    return Appeal.district_id.in_(ids)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """``Appeal.overdue(now)`` in SQL: the service keeps ``deadline_at`` on the promise
    still to keep (the window, for a reopened appeal)."""
    return and_(
        Appeal.state.in_([s.value for s in (*UNACCEPTED, *WORKING)]),
        Appeal.deadline_at <= now,
    )


def late_clause(now: datetime) -> ColumnElement[bool]:
    """Missed a promise made at filing, at any time up to ``now``."""
    return or_(
        Appeal.accepted_in_time.is_(False),
        Appeal.resolved_in_time.is_(False),
        and_(
            Appeal.state.in_([s.value for s in UNACCEPTED]),
            Appeal.first_accept_due <= now,
        ),
        and_(
            Appeal.state.in_([s.value for s in WORKING]),
            Appeal.resolved_in_time.is_(None),
            Appeal.first_resolve_due <= now,
        ),
    )


def in_base() -> ColumnElement[bool]:
    """Counted in the KPIs: not cancelled by the resident, not a duplicate."""
    return and_(Appeal.state != State.CANCELLED.value, Appeal.duplicate_of.is_(None))


def rated_clause() -> ColumnElement[bool]:
    return or_(Appeal.rating.is_not(None), Appeal.reopened.is_(True))


def _hours_between(dialect: str, start: Any, end: Any) -> Any:
    """Hours from ``start`` to ``end`` computed by the database (NULL when ``end`` is):
    no datetime objects to build per row."""
    if dialect == "sqlite":
        # Whole seconds: exact, where julianday() differences carry float noise.
        seconds = func.strftime("%s", end) - func.strftime("%s", start)
        return seconds / 3600.0
    # Double precision: asyncpg would build a Decimal per row from numeric.
    return cast(func.extract("epoch", end - start), Float) / 3600


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclass
class _Acc:
    total: int = 0  # the base: filed less cancelled and duplicates
    filed: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    accepted_in_time: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0
    accept_hours: list[float] = field(default_factory=list)
    resolve_hours: list[float] = field(default_factory=list)
    overdue: int = 0
    late: int = 0
    closed_unsatisfied: int = 0
    resolved_in_time: int = 0
    reopened: int = 0

    def merge(self, other: _Acc) -> None:
        self.total += other.total
        self.resolved_in_time += other.resolved_in_time
        self.reopened += other.reopened
        self.filed += other.filed
        self.late += other.late
        self.closed_unsatisfied += other.closed_unsatisfied
        for key, n in other.by_state.items():
            self.by_state[key] = self.by_state.get(key, 0) + n
        for key, n in other.by_category.items():
            self.by_category[key] = self.by_category.get(key, 0) + n
        self.accepted_in_time += other.accepted_in_time
        self.resolved += other.resolved
        self.rated += other.rated
        self.satisfied += other.satisfied
        self.accept_hours += other.accept_hours
        self.resolve_hours += other.resolve_hours
        self.overdue += other.overdue

    def figures(self, node: Node) -> Figures:
        return Figures(
            node_id=node.id,
            code=node.code,
            name=node.name,
            kind=node.node_kind,
            total=self.total,
            filed=self.filed,
            by_state=dict(self.by_state),
            by_category=dict(sorted(self.by_category.items(), key=lambda kv: (-kv[1], kv[0]))),
            accepted_in_time=self.accepted_in_time,
            resolved=self.resolved,
            rated=self.rated,
            satisfied=self.satisfied,
            median_accept_hours=_median(self.accept_hours),
            median_resolve_hours=_median(self.resolve_hours),
            overdue=self.overdue,
            late=self.late,
            closed_unsatisfied=self.closed_unsatisfied,
            resolved_in_time=self.resolved_in_time,
            reopened=self.reopened,
        )


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _collect(
    session: AsyncSession,
    group_kind: NodeKind,
    within: Node | None,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    medians: bool = True,
) -> dict[int, _Acc]:
    """The month's figures of every node of ``group_kind`` that has appeals (within
    ``within`` when given), keyed by node id. Without ``medians`` the durations (a row
    per appeal, the one read that grows with the month) are not read: the medians are
    None and every other figure is the same."""
    group = _column(group_kind)
    scope = in_node(within) if within is not None else [await all_districts(session)]
    month = [*scope, Appeal.submitted_at >= start, Appeal.submitted_at < end]
    accs: dict[int, _Acc] = {}

    def acc(node_id: int) -> _Acc:
        return accs.setdefault(int(node_id), _Acc())

    # One pass for the counts: by state and category, summed up per state and per
    # category below (at most 9 × 9 rows per node).
    counts = (
        select(
            group,
            Appeal.state,
            Appeal.category,
            func.count(),
            _flag(in_base()),
            _flag(and_(in_base(), Appeal.accepted_in_time.is_(True))),
            _flag(and_(in_base(), Appeal.resolved_at.is_not(None))),
            _flag(rated_clause()),
            _flag(Appeal.rating.in_(SATISFIED_RATINGS)),
            _flag(and_(in_base(), late_clause(now))),
            _flag(
                and_(
                    Appeal.state == State.CLOSED.value,
                    Appeal.rating == Rating.UNSATISFIED.value,
                )
            ),
            _flag(
                and_(
                    in_base(),
                    Appeal.resolved_at.is_not(None),
                    Appeal.resolved_in_time.is_(True),
                )
            ),
            _flag(and_(in_base(), Appeal.reopened.is_(True))),
        )
        .where(*month)
        .group_by(group, Appeal.state, Appeal.category)
    )
    rows = await session.execute(counts)
    for row in rows:
        node_id, state, category, n, *flags = row
        base, in_time, resolved, rated, satisfied, late, unsat, on_time, reopened = flags
        a = acc(node_id)
        a.filed += int(n)
        a.total += int(base or 0)
        a.by_state[str(state)] = a.by_state.get(str(state), 0) + int(n)
        a.by_category[str(category)] = a.by_category.get(str(category), 0) + int(n)
        a.accepted_in_time += int(in_time or 0)
        a.resolved += int(resolved or 0)
        a.rated += int(rated or 0)
        a.satisfied += int(satisfied or 0)
        a.late += int(late or 0)
        a.closed_unsatisfied += int(unsat or 0)
        a.resolved_in_time += int(on_time or 0)
        a.reopened += int(reopened or 0)

    if medians:
        dialect = session.get_bind().dialect.name
        durations = select(
            group,
            _hours_between(dialect, Appeal.submitted_at, Appeal.accepted_at),
            _hours_between(dialect, Appeal.submitted_at, Appeal.resolved_at),
        ).where(
            *month, in_base(), or_(Appeal.accepted_at.is_not(None), Appeal.resolved_at.is_not(None))
        )
        for node_id, to_accept, to_resolve in await session.execute(durations):
            a = acc(node_id)
            if to_accept is not None:
                a.accept_hours.append(float(to_accept))
            if to_resolve is not None:
                a.resolve_hours.append(float(to_resolve))

    # Open appeals only, found through the (state, scope_path) index; the scope path is
    # the grid's, so the subtree range is the node's appeals.
    overdue_where: list[ColumnElement[bool]] = [overdue_clause(now)]
    if within is not None:
        overdue_where.append(within_path(Appeal.scope_path, within.path))
    overdue = select(group, func.count()).where(*overdue_where).group_by(group)
    for node_id, n in await session.execute(overdue):
        acc(node_id).overdue = int(n)
    return accs


async def node_kpis(
    session: AsyncSession,
    node: Node,
    month: Month | str,
    *,
    now: datetime,
    zone: ZoneInfo | str | None = None,
    medians: bool = True,
) -> NodeKpis:
    """The figures of ``node`` (a district, street, community or grid) for ``month``,
    and of each of its children (``medians``: see ``_collect``)."""
    month = Month.parse(month)
    tz = as_zone(zone)
    start, end = month.bounds(tz)
    kind = node.node_kind
    child_kind = kind.child_kind if kind is not NodeKind.GRID else None
    accs = await _collect(session, child_kind or kind, node, start, end, now, medians=medians)
    whole = _Acc()
    for part in accs.values():
        whole.merge(part)
    children: tuple[Figures, ...] = ()
    if child_kind is not None:
        nodes = await HierarchyRepo(session).children(node.id, child_kind)
        children = tuple(accs.get(n.id, _Acc()).figures(n) for n in nodes)
    return NodeKpis(
        month=month,
        zone=tz.key,
        start=start,
        end=end,
        now=now,
        node=whole.figures(node),
        child_kind=child_kind,
        children=children,
    )


async def level_kpis(
    session: AsyncSession,
    kind: NodeKind,
    month: Month | str,
    *,
    now: datetime,
    zone: ZoneInfo | str | None = None,
    within: Node | None = None,
) -> list[Figures]:
    """One row per node of ``kind`` (within ``within``, or everywhere), zeros included,
    ordered like the hierarchy (by path)."""
    month = Month.parse(month)
    start, end = month.bounds(as_zone(zone))
    nodes: Iterable[Node]
    if within is not None and within.node_kind is kind:
        nodes = [within]
    else:
        nodes = await HierarchyRepo(session).of_kind(kind, within)
    accs = await _collect(session, kind, within, start, end, now)
    ordered = sorted(nodes, key=lambda n: [int(i) for i in n.ancestor_ids()])
    return [accs.get(n.id, _Acc()).figures(n) for n in ordered]
