"""Appeal KPIs against a fixed data set whose figures are computed by hand below.

The appeals are made through AppealService at chosen instants (the ManualClock is set to
each one), so every figure comes from real transitions. Times are UTC; Asia/Shanghai is
UTC+8, so November 2026 there runs from 2026-10-31 16:00 to 2026-11-30 16:00 UTC.

    appeal grid  submitted (UTC)   category    accept  resolve  rating         state now
    A0     G1    10-31 15:00 (Oct) sanitation  +2h     +10h     satisfied      closed
    A13    G1    10-20 01:00 (Oct) sanitation  —       —        —              submitted (overdue)
    A1     G1    10-31 17:00 (Nov) sanitation  +1h     +5h      satisfied      closed
    A2     G1    11-02 01:00       sanitation  +3h     +20h     basically      closed
    A3     G1    11-03 01:00       property    +30h    +40h     unsatisfied    reopened (overdue)
    A4     G1    11-04 01:00       facilities  +2h     +8h      —              resolved
    A5     G1    11-05 01:00       sanitation  +4h     —        —              in_progress (overdue)
    A6     G1    11-06 01:00       other       —       —        —              cancelled
    A7     G2    11-02 05:00       property    +6h     +30h     satisfied      closed
    A8     G2    11-03 05:00       disputes    —       —        —              rejected
    A9     G2    11-10 05:00       sanitation  —       —        —              submitted (overdue)
    A10    G2    11-30 15:00 (Nov) sanitation  —       —        —              submitted (not due)
    A11    G2    11-30 16:00 (Dec) sanitation  —       —        —              submitted (not due)
    A12    C2G1  11-05 01:00       sanitation  +1h     +2h      satisfied      closed

"now" for the figures is 2026-12-01 10:00 UTC. A3's first accept (30 h) missed the 24 h
promise; its "unsatisfied" reopened it one level up with a 48 h handling window
(ending 11-06 18:00), which has passed. The base of the rates leaves out A6 (cancelled by
the resident); A8 was rejected as out of scope, not as a duplicate, and stays in it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.appeals import AppealPolicy, AppealService, Draft, Rating, State
from storage.appeals.kpi import Month, level_kpis, node_kpis
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from tests.factories import Tree, build_tree

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ZONE = "Asia/Shanghai"
NOVEMBER = Month(2026, 11)
WORKERS = {"G1": 3001, "G2": 3002, "C2G1": 3003}


@dataclass(frozen=True)
class Spec:
    name: str
    grid: str
    submitted: datetime
    category: str
    accept: float | None = None  # hours after submission
    progress: float | None = None
    resolve: float | None = None
    rating: Rating | None = None
    cancel: bool = False
    reject: bool = False


def utc(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


SPECS = (
    Spec("A0", "G1", utc(10, 31, 15), "sanitation", 2, None, 10, Rating.SATISFIED),
    Spec("A13", "G1", utc(10, 20, 1), "sanitation"),
    Spec("A1", "G1", utc(10, 31, 17), "sanitation", 1, None, 5, Rating.SATISFIED),
    Spec("A2", "G1", utc(11, 2, 1), "sanitation", 3, None, 20, Rating.BASICALLY),
    Spec("A3", "G1", utc(11, 3, 1), "property", 30, None, 40, Rating.UNSATISFIED),
    Spec("A4", "G1", utc(11, 4, 1), "facilities", 2, None, 8),
    Spec("A5", "G1", utc(11, 5, 1), "sanitation", 4, 5),
    Spec("A6", "G1", utc(11, 6, 1), "other", cancel=True),
    Spec("A7", "G2", utc(11, 2, 5), "property", 6, None, 30, Rating.SATISFIED),
    Spec("A8", "G2", utc(11, 3, 5), "disputes", reject=True),
    Spec("A9", "G2", utc(11, 10, 5), "sanitation"),
    Spec("A10", "G2", utc(11, 30, 15), "sanitation"),
    Spec("A11", "G2", utc(11, 30, 16), "sanitation"),
    Spec("A12", "C2G1", utc(11, 5, 1), "sanitation", 1, None, 2, Rating.SATISFIED),
)


async def build_appeals(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> tuple[Tree, dict[str, int]]:
    """The tree, the workers and the appeals above; the clock ends at NOW."""
    tree = await build_tree(sessionmaker, clock)
    grids = {"G1": tree.grid, "G2": tree.grid2, "C2G1": tree.other_grid}
    buildings = {"G1": tree.building, "G2": tree.building3, "C2G1": tree.other_building}
    policy = AppealPolicy()
    ids: dict[str, int] = {}
    async with sessionmaker() as session:
        staff = StaffRepo(session)
        for key, user_id in WORKERS.items():
            await staff.grant(
                user_id=user_id,
                role=Role.WORKER,
                node=grids[key],
                granted_by=None,
                now=clock.now(),
            )
        await session.commit()
    for n, spec in enumerate(SPECS):
        resident = 4000 + n
        async with sessionmaker() as session:
            staffing = await StaffRepo(session).staffing(WORKERS[spec.grid])
            building = await HierarchyRepo(session).get(buildings[spec.grid].id)
            assert building is not None

            def at(
                hours: float, spec: Spec = spec, session: AsyncSession = session
            ) -> AppealService:
                clock.set(spec.submitted + timedelta(hours=hours))
                return AppealService(session, policy, clock.now())

            appeal = await at(0).file(
                resident, building, Draft(category=spec.category, text=f"诉求 {spec.name}")
            )
            ids[spec.name] = appeal.id
            if spec.cancel:
                await at(1).cancel(appeal.id, resident)
            if spec.reject:
                await at(2).reject(appeal.id, staffing, "不属于受理范围")
            if spec.accept is not None:
                await at(spec.accept).accept(appeal.id, staffing)
            if spec.progress is not None:
                await at(spec.progress).progress(appeal.id, staffing, "正在处理")
            if spec.resolve is not None:
                await at(spec.resolve).resolve(appeal.id, staffing, "已处理")
            if spec.rating is not None:
                assert spec.resolve is not None
                await at(spec.resolve + 1).rate(appeal.id, resident, spec.rating)
            await session.commit()
    async with sessionmaker() as session:
        # What these appeals owed people was delivered when it happened, weeks ago.
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(sent_at=NOW)
        )
        await session.commit()
    clock.set(NOW)
    return tree, ids


async def _node(session: AsyncSession, node: Node) -> Node:
    fresh = await HierarchyRepo(session).get(node.id)
    assert fresh is not None
    return fresh


def test_month_bounds_are_local_midnights() -> None:
    start, end = NOVEMBER.bounds(ZONE)
    assert start == utc(10, 31, 16)
    assert end == utc(11, 30, 16)
    assert Month.of(utc(10, 31, 17), ZONE) == NOVEMBER  # Nov 1 01:00 in Shanghai
    assert Month.of(utc(10, 31, 15), ZONE) == Month(2026, 10)
    assert Month.of(utc(11, 30, 16), ZONE) == Month(2026, 12)
    assert Month.parse("2026-01").prev() == Month(2025, 12)
    assert Month.parse("2026-12").next() == Month(2027, 1)
    assert str(Month(2026, 3)) == "2026-03"
    # UTC months differ: the same instant at 17:00 UTC is still October there.
    assert Month.of(utc(10, 31, 17), "UTC") == Month(2026, 10)


async def test_grid_figures(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        kpis = await node_kpis(
            session, await _node(session, tree.grid), "2026-11", now=NOW, zone=ZONE
        )
    g1 = kpis.node
    assert kpis.children == () and kpis.child_kind is None
    # A1 (Nov 1 01:00 local) counts; A0 (Oct 31 23:00 local) and A13 (October) do not.
    # A6 was cancelled by its resident: filed, but not in the base.
    assert (g1.filed, g1.total, g1.excluded) == (6, 5, 1)
    assert dict(g1.by_state) == {
        "closed": 2,  # A1, A2
        "reopened": 1,  # A3
        "resolved": 1,  # A4
        "in_progress": 1,  # A5
        "cancelled": 1,  # A6
    }
    assert dict(g1.by_category) == {"sanitation": 3, "facilities": 1, "other": 1, "property": 1}
    # Most frequent first, then by code.
    assert list(g1.by_category) == ["sanitation", "facilities", "other", "property"]
    # In time: A1 1h, A2 3h, A4 2h, A5 4h; A3 (30 h) late, A6 never accepted.
    assert g1.accepted_in_time == 4
    assert g1.response_rate == Fraction(4, 5)
    # Resolved now: A1, A2, A4. A3 was resolved but reopened, which clears it.
    assert g1.resolved == 3
    assert g1.resolution_rate == Fraction(3, 5)
    # Rated: A1 satisfied, A2 basically, A3 unsatisfied (reopened, not rated again).
    assert (g1.rated, g1.satisfied) == (3, 2)
    assert g1.satisfaction_rate == Fraction(2, 3)
    assert g1.median_accept_hours == 3.0  # 1, 2, 3, 4, 30
    assert g1.median_resolve_hours == 8.0  # 5, 8, 20
    # Overdue now: A3 (reopened, due 11-06 18:00), A5 (due 11-07 01:00) and A13 from
    # October (accept due 10-21).
    assert g1.overdue == 3
    # Late for good: A3 (accepted 30 h after filing), A5 (past its 48 h resolve promise).
    assert g1.late == 2 and g1.closed_unsatisfied == 0


async def test_community_figures_and_children(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        kpis = await node_kpis(
            session, await _node(session, tree.community), NOVEMBER, now=NOW, zone=ZONE
        )
    c1 = kpis.node
    assert kpis.start == utc(10, 31, 16) and kpis.end == utc(11, 30, 16)
    # G1's 6 + G2's A7, A8, A9, A10 (A10 is Nov 30 23:00 local; A11 is Dec 1 00:00);
    # A8 was rejected as out of scope (not as a duplicate): it stays in the base.
    assert (c1.filed, c1.total) == (10, 9)
    assert dict(c1.by_state) == {
        "closed": 3,
        "reopened": 1,
        "resolved": 1,
        "in_progress": 1,
        "cancelled": 1,
        "rejected": 1,
        "submitted": 2,
    }
    assert dict(c1.by_category) == {
        "sanitation": 5,
        "property": 2,
        "disputes": 1,
        "facilities": 1,
        "other": 1,
    }
    assert c1.response_rate == Fraction(5, 9)  # + A7 in 6 h
    assert c1.resolution_rate == Fraction(4, 9)  # + A7
    assert c1.satisfaction_rate == Fraction(3, 4)  # + A7 satisfied
    assert c1.median_accept_hours == 3.5  # 1, 2, 3, 4, 6, 30
    assert c1.median_resolve_hours == 14.0  # 5, 8, 20, 30
    assert c1.overdue == 4  # + A9 (accept due 11-11 05:00); A10, A11 not yet due
    assert c1.late == 3  # + A9

    assert kpis.child_kind is NodeKind.GRID
    assert [c.name for c in kpis.children] == ["第一网格", "第二网格"]
    g1, g2 = kpis.children
    assert (g1.total, g1.overdue, g1.response_rate) == (5, 3, Fraction(4, 5))
    assert g2.total == 4
    assert dict(g2.by_state) == {"closed": 1, "rejected": 1, "submitted": 2}
    assert g2.response_rate == Fraction(1, 4)
    assert g2.resolution_rate == Fraction(1, 4)
    assert g2.satisfaction_rate == Fraction(1, 1)
    assert (g2.median_accept_hours, g2.median_resolve_hours) == (6.0, 30.0)
    assert g2.overdue == 1


async def test_district_street_and_levels(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        district = await node_kpis(
            session, await _node(session, tree.district), NOVEMBER, now=NOW, zone=ZONE
        )
        street = await node_kpis(
            session, await _node(session, tree.street), NOVEMBER, now=NOW, zone=ZONE
        )
        communities = await level_kpis(session, NodeKind.COMMUNITY, NOVEMBER, now=NOW, zone=ZONE)
        october = await node_kpis(
            session, await _node(session, tree.community), "2026-10", now=NOW, zone=ZONE
        )
        december = await node_kpis(
            session, await _node(session, tree.community), "2026-12", now=NOW, zone=ZONE
        )
    d = district.node
    # The community's 9 and A12 in the other community.
    assert (d.filed, d.total) == (11, 10)
    assert d.response_rate == Fraction(6, 10)
    assert d.resolution_rate == Fraction(5, 10)
    assert d.satisfaction_rate == Fraction(4, 5)
    assert d.median_accept_hours == 3.0  # 1, 1, 2, 3, 4, 6, 30
    assert d.median_resolve_hours == 8.0  # 2, 5, 8, 20, 30
    assert d.overdue == 4
    assert [c.code for c in district.children] == ["D-S"]
    assert district.children[0].total == 10
    assert street.node.total == 10
    # Children by name: 正阳社区 (U+6B63) before 通海社区 (U+901A).
    assert [(c.code, c.total) for c in street.children] == [("D-S-C2", 1), ("D-S-C1", 9)]
    other = street.children[0]
    assert (other.response_rate, other.satisfaction_rate, other.overdue) == (
        Fraction(1),
        Fraction(1),
        0,
    )
    assert {f.code: f.total for f in communities} == {"D-S-C1": 9, "D-S-C2": 1}
    # October: A0 (closed, satisfied) and A13 (never accepted); overdue is not monthly.
    assert october.node.total == 2
    assert october.node.response_rate == Fraction(1, 2)
    assert october.node.satisfaction_rate == Fraction(1)
    assert october.node.overdue == 4
    # December so far: A11 only; nothing rated or accepted yet.
    assert december.node.total == 1
    assert december.node.satisfaction_rate is None
    assert december.node.median_accept_hours is None
    assert december.node.response_rate == Fraction(0)


async def test_rates_are_none_without_appeals(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        kpis = await node_kpis(
            session, await _node(session, tree.community), NOVEMBER, now=NOW, zone=ZONE
        )
    f = kpis.node
    assert f.total == 0 and f.overdue == 0
    assert f.response_rate is None
    assert f.resolution_rate is None
    assert f.satisfaction_rate is None
    assert f.median_accept_hours is None and f.median_resolve_hours is None
    assert [c.total for c in kpis.children] == [0, 0]


async def test_rerated_reopened_appeal_counts_its_latest_rating(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """A3 resolved again and rated satisfied: resolved and satisfied once, not twice."""
    tree, ids = await build_appeals(sessionmaker, clock)
    policy = AppealPolicy()
    async with sessionmaker() as session:
        staffing = await StaffRepo(session).staffing(WORKERS["G1"])
        service = AppealService(session, policy, NOW)
        await service.resolve(ids["A3"], staffing, "这次修好了")
        appeal = await service.rate(ids["A3"], 4004, Rating.SATISFIED)
        assert appeal.state == State.CLOSED
        await session.commit()
    async with sessionmaker() as session:
        g1 = (
            await node_kpis(session, await _node(session, tree.grid), NOVEMBER, now=NOW, zone=ZONE)
        ).node
    assert g1.resolved == 4
    assert (g1.rated, g1.satisfied) == (3, 3)
    assert g1.median_resolve_hours == 14.0  # 5, 8, 20, 681 (A3: 11-03 01:00 → 12-01 10:00)
    assert g1.overdue == 2


async def test_duplicates_leave_the_base_and_closed_unsatisfied_is_counted(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree, ids = await build_appeals(sessionmaker, clock)
    policy = AppealPolicy()
    async with sessionmaker() as session:
        staffing = await StaffRepo(session).staffing(WORKERS["G1"])
        g2 = await StaffRepo(session).staffing(WORKERS["G2"])
        service = AppealService(session, policy, NOW)
        # A9 turns out to be A7's problem again; A3 is resolved and rated unsatisfied twice.
        await service.reject(ids["A9"], g2, "重复", duplicate_of=ids["A7"])
        await service.resolve(ids["A3"], staffing, "又处理了一次")
        await service.rate(ids["A3"], 4004, Rating.UNSATISFIED, "还是没修好")
        await session.commit()
    async with sessionmaker() as session:
        c1 = (
            await node_kpis(
                session, await _node(session, tree.community), NOVEMBER, now=NOW, zone=ZONE
            )
        ).node
    assert (c1.filed, c1.total, c1.excluded) == (10, 8, 2)  # A6 cancelled, A9 duplicate
    assert c1.closed_unsatisfied == 1
    assert c1.late == 2  # A3 and A5; A9 no longer counts
    assert (c1.rated, c1.satisfied) == (4, 3)


async def test_on_time_resolution_and_reopen_rates(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        kpis = await node_kpis(
            session, await _node(session, tree.community), NOVEMBER, now=NOW, zone=ZONE
        )
    g1, g2 = kpis.children
    # Resolved now and within the 48 h promise: A1, A2, A4 (G1) and A7 (G2). A3 was
    # resolved in time but reopened, which clears its resolution.
    assert (g1.resolved_in_time, g1.on_time_rate) == (3, Fraction(3, 5))
    assert (g2.resolved_in_time, g2.on_time_rate) == (1, Fraction(1, 4))
    # Reopened once: A3; it stays counted after its reopening.
    assert (g1.reopened, g1.reopen_rate) == (1, Fraction(1, 5))
    assert (g2.reopened, g2.reopen_rate) == (0, Fraction(0))
    assert (kpis.node.on_time_rate, kpis.node.reopen_rate) == (Fraction(4, 9), Fraction(1, 9))


async def test_without_medians_every_other_figure_is_the_same(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """The desk's ranking and heat grid skip the medians (no measure of theirs uses
    them): the rest is /stats' to the last count."""
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        node = await _node(session, tree.street)
        full = await node_kpis(session, node, NOVEMBER, now=NOW, zone=ZONE)
        lean = await node_kpis(session, node, NOVEMBER, now=NOW, zone=ZONE, medians=False)
    assert full.node.median_accept_hours is not None
    for a, b in zip((full.node, *full.children), (lean.node, *lean.children), strict=True):
        assert b.median_accept_hours is None and b.median_resolve_hours is None
        assert replace(a, median_accept_hours=None, median_resolve_hours=None) == b
