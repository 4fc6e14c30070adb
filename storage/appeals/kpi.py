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
durations. The counts of the appeals no longer open (which no longer depend on ``now``)
are kept per grid and UTC month by triggers (storage.appeals.month_counts, from the
conditions of ``counted`` below); a month's counts are those plus the open appeals'
and the few hours where the zone's month and the UTC month differ, counted live with
the same conditions, in one statement (``_counts``)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.models import (
    OPEN_STATES,
    UNACCEPTED,
    WORKING,
    Appeal,
    AppealMonthCount,
    Rating,
    State,
)
from storage.base import UTCDateTime
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


async def district_ids(session: AsyncSession) -> list[int]:
    """Every district: ``Appeal.district_id.in_`` them is every appeal, said so that the
    (district_id, submitted_at) index serves a month."""
    found = await session.execute(select(Node.id).where(Node.kind == NodeKind.DISTRICT))
    return [int(i) for i in found.scalars()]


async def all_districts(session: AsyncSession) -> ColumnElement[bool]:
    """Every appeal, said so that the (district_id, submitted_at) index serves a month."""
    return Appeal.district_id.in_(await district_ids(session))


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """``Appeal.overdue(now)`` in SQL: the service keeps ``deadline_at`` on the promise
    still to keep (the window, for a reopened appeal)."""
    return and_(
        Appeal.state.in_([s.value for s in (*UNACCEPTED, *WORKING)]),
        Appeal.deadline_at <= now,
    )


def settled_late_clause() -> ColumnElement[bool]:
    """Late for good: a promise made at filing was missed (all ``late_clause`` says of an
    appeal no longer open)."""
    return or_(Appeal.accepted_in_time.is_(False), Appeal.resolved_in_time.is_(False))


def late_clause(now: datetime) -> ColumnElement[bool]:
    """Missed a promise made at filing, at any time up to ``now``."""
    return or_(
        settled_late_clause(),
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


# The counts of ``Figures`` besides ``filed``, in this order: what each counts. An
# appeal no longer open counts the same whenever it is read (``late`` is
# ``settled_late_clause`` there), which is what lets storage.appeals.month_counts keep
# these counts for it as it changes; ``_collect`` adds the open appeals' live.
COUNTS = (
    "base",
    "accepted_in_time",
    "resolved",
    "rated",
    "satisfied",
    "late",
    "closed_unsatisfied",
    "resolved_in_time",
    "reopened",
)


def counted(late: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The condition of each of ``COUNTS``, ``late`` being ``late_clause(now)`` (or, for
    appeals no longer open, ``settled_late_clause()``)."""
    return [
        in_base(),
        and_(in_base(), Appeal.accepted_in_time.is_(True)),
        and_(in_base(), Appeal.resolved_at.is_not(None)),
        rated_clause(),
        Appeal.rating.in_(SATISFIED_RATINGS),
        and_(in_base(), late),
        and_(Appeal.state == State.CLOSED.value, Appeal.rating == Rating.UNSATISFIED.value),
        and_(in_base(), Appeal.resolved_at.is_not(None), Appeal.resolved_in_time.is_(True)),
        and_(in_base(), Appeal.reopened.is_(True)),
    ]


def open_clause() -> ColumnElement[bool]:
    return Appeal.state.in_([s.value for s in OPEN_STATES])


def settled_clause() -> ColumnElement[bool]:
    """Not open: the appeals storage.appeals.month_counts counts."""
    return Appeal.state.not_in([s.value for s in OPEN_STATES])


def utc_month(moment: datetime) -> int:
    """The ``appeal_month_counts.month`` of a moment: its UTC calendar month, yyyymm."""
    moment = moment.astimezone(UTC)
    return moment.year * 100 + moment.month


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


_KEPT_LEVEL: dict[NodeKind, InstrumentedAttribute[int]] = {
    NodeKind.DISTRICT: AppealMonthCount.district_id,
    NodeKind.STREET: AppealMonthCount.street_id,
    NodeKind.COMMUNITY: AppealMonthCount.community_id,
    NodeKind.GRID: AppealMonthCount.grid_id,
}


def _kept_scope(within: Node | None, districts: Sequence[int]) -> list[ColumnElement[bool]]:
    """``in_node`` for the kept counts (every district's without ``within``)."""
    if within is None:
        return [AppealMonthCount.district_id.in_(districts)]
    clauses = [_KEPT_LEVEL[within.node_kind] == within.id]
    ids = within.ancestor_ids()
    if within.node_kind is not NodeKind.DISTRICT and ids:
        clauses.append(AppealMonthCount.district_id == ids[0])
    return clauses


def _open_scope(
    session: AsyncSession, within: Node | None, start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    """The month's conditions for its open appeals, said so that both databases find
    them through the (state, scope_path) index: SQLite would rather read the month
    through a (level, submitted_at) index, every row of it, for the few open ones;
    ``submitted_at || ''`` (the same text) is a term no index serves."""
    submitted: Any = Appeal.submitted_at
    if session.get_bind().dialect.name == "sqlite":
        submitted = Appeal.submitted_at.op("||", return_type=UTCDateTime())(literal_column("''"))
    clauses = [submitted >= start, submitted < end]
    if within is not None:
        clauses.append(within_path(Appeal.scope_path, within.path))
    return clauses


def _counts(
    group_kind: NodeKind,
    scope: list[ColumnElement[bool]],
    kept_scope: list[ColumnElement[bool]],
    open_scope: list[ColumnElement[bool]],
    start: datetime,
    end: datetime,
    now: datetime,
) -> Any:
    """(node, state, category, filed, *COUNTS) rows whose sums per (node, state,
    category) are the counts of the appeals of ``scope`` submitted in [start, end).

    The kept counts of storage.appeals.month_counts cover the settled appeals by UTC
    calendar month; [start, end) is a month of some time zone, so it is the UTC month
    [a, b) starting nearest to it, plus [start, a) and [b, end), less [a, start) and
    [end, b) (at most 14 hours each), those edges counted live from the settled
    appeals. The open appeals of [start, end) are counted live (the only ones whose
    ``late`` depends on ``now``; few, whatever the history)."""
    group = _column(group_kind)
    first = start.astimezone(UTC)
    here = Month(first.year, first.month)
    a = min(
        (datetime(m.year, m.month, 1, tzinfo=UTC) for m in (here, here.next())),
        key=lambda moment: abs(moment - start),
    )
    month = utc_month(a)
    after = Month(a.year, a.month).next()
    b = datetime(after.year, after.month, 1, tzinfo=UTC)
    kept_group = _KEPT_LEVEL[group_kind]
    kept = (
        select(
            kept_group,
            AppealMonthCount.state,
            AppealMonthCount.category,
            func.sum(AppealMonthCount.filed),
            *(func.sum(getattr(AppealMonthCount, name)) for name in COUNTS),
        )
        .where(*kept_scope, AppealMonthCount.month == month)
        .group_by(kept_group, AppealMonthCount.state, AppealMonthCount.category)
    )

    def live(where: list[ColumnElement[bool]], late: ColumnElement[bool], sign: int = 1) -> Any:
        return (
            select(
                group,
                Appeal.state,
                Appeal.category,
                func.count() * sign,
                *(_flag(c) * sign for c in counted(late)),
            )
            .where(*scope, *where)
            .group_by(group, Appeal.state, Appeal.category)
        )

    parts = [
        kept,
        live([open_clause(), *open_scope], late_clause(now)),
    ]
    for lo, hi, sign in ((start, a, 1), (a, start, -1), (b, end, 1), (end, b, -1)):
        if lo < hi:
            parts.append(
                live(
                    [settled_clause(), Appeal.submitted_at >= lo, Appeal.submitted_at < hi],
                    settled_late_clause(),
                    sign,
                )
            )
    return union_all(*parts)


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
    districts = [] if within is not None else await district_ids(session)
    scope: list[ColumnElement[bool]] = (
        in_node(within) if within is not None else [Appeal.district_id.in_(districts)]
    )
    kept_scope = _kept_scope(within, districts)
    month = [*scope, Appeal.submitted_at >= start, Appeal.submitted_at < end]
    accs: dict[int, _Acc] = {}

    def acc(node_id: int) -> _Acc:
        return accs.setdefault(int(node_id), _Acc())

    # The counts by state and category, summed up per state and per category below (at
    # most 9 × 9 rows per node): one statement (one snapshot on PostgreSQL) of the kept
    # counts of the settled appeals (``_counts``) and the open appeals' counted live.
    cells: dict[tuple[int, str, str], list[int]] = {}
    counts = _counts(
        group_kind, scope, kept_scope, _open_scope(session, within, start, end), start, end, now
    )
    serial = session.get_bind().dialect.name == "postgresql"
    if serial:
        # Each part reads a few thousand rows at most, but their costs add up to what
        # PostgreSQL starts parallel workers for, which takes longer (10 ms) than reading.
        await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    try:
        rows = (await session.execute(counts)).all()
    finally:
        if serial:
            await session.execute(text("RESET max_parallel_workers_per_gather"))
    for node_id, state, category, *numbers in rows:
        cell = cells.setdefault((int(node_id), str(state), str(category)), [0] * (1 + len(COUNTS)))
        for i, number in enumerate(numbers):
            cell[i] += int(number or 0)
    for (node_id, state, category), (n, *flags) in cells.items():
        if not n:  # kept counts of appeals gone elsewhere (or edges netting out)
            continue
        base, in_time, resolved, rated, satisfied, late, unsat, on_time, reopened = flags
        a = acc(node_id)
        a.filed += n
        a.total += base
        a.by_state[state] = a.by_state.get(state, 0) + n
        a.by_category[category] = a.by_category.get(category, 0) + n
        a.accepted_in_time += in_time
        a.resolved += resolved
        a.rated += rated
        a.satisfied += satisfied
        a.late += late
        a.closed_unsatisfied += unsat
        a.resolved_in_time += on_time
        a.reopened += reopened

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
