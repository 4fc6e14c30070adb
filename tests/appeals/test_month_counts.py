"""The kept counts (appeal_month_counts, moved by triggers) against a count from scratch.

Random lives of appeals — filed across month boundaries, accepted, resolved, rated (不满意
reopens), rejected (some as duplicates), cancelled, transferred, their timers fired —
each step committed through AppealService as the chat and the desk do; then every
node's KPIs for every month, in three time zones, must equal the figures counted in
Python from the appeals' rows, and the kept table must equal its backfill from scratch."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import visitors

from storage.appeals import AppealError, AppealPolicy, AppealService, Draft, Rating
from storage.appeals.kpi import (
    Figures,
    Month,
    counted,
    late_clause,
    node_kpis,
    settled_clause,
)
from storage.appeals.models import UNACCEPTED, WORKING, Appeal, AppealMonthCount, State
from storage.appeals.month_counts import NAMES, WATCHED, backfill
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node
from storage.roles import Role, StaffRepo
from tests.factories import Tree, build_tree

ADMIN = 9001
CATEGORIES = ("sanitation", "property", "facilities")
START = datetime(2026, 10, 29, 0, 0, tzinfo=UTC)
ZONES = ("Asia/Shanghai", "UTC", "America/New_York")
MONTHS = (Month(2026, 10), Month(2026, 11), Month(2026, 12))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def expected(
    appeals: list[Appeal], node: Node, start: datetime, end: datetime, now: datetime
) -> Figures:
    """The KPI definitions of storage.appeals.kpi, counted in Python."""
    column = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
    }[str(node.node_kind)]
    mine = [a for a in appeals if getattr(a, column) == node.id]
    month = [a for a in mine if start <= a.submitted_at < end]
    unaccepted = [s.value for s in UNACCEPTED]
    working = [s.value for s in WORKING]

    def base(a: Appeal) -> bool:
        return a.state != State.CANCELLED and a.duplicate_of is None

    def late(a: Appeal) -> bool:
        return (
            a.accepted_in_time is False
            or a.resolved_in_time is False
            or (a.state in unaccepted and a.first_accept_due <= now)
            or (a.state in working and a.resolved_in_time is None and a.first_resolve_due <= now)
        )

    by_state: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for a in month:
        by_state[a.state] = by_state.get(a.state, 0) + 1
        by_category[a.category] = by_category.get(a.category, 0) + 1
    return Figures(
        node_id=node.id,
        code=node.code,
        name=node.name,
        kind=node.node_kind,
        total=sum(base(a) for a in month),
        filed=len(month),
        by_state=by_state,
        by_category=dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))),
        accepted_in_time=sum(base(a) and a.accepted_in_time is True for a in month),
        resolved=sum(base(a) and a.resolved_at is not None for a in month),
        rated=sum(a.rating is not None or a.reopened for a in month),
        satisfied=sum(a.rating in (Rating.SATISFIED, Rating.BASICALLY) for a in month),
        overdue=sum(a.overdue(now) for a in mine),
        late=sum(base(a) and late(a) for a in month),
        closed_unsatisfied=sum(
            a.state == State.CLOSED and a.rating == Rating.UNSATISFIED for a in month
        ),
        resolved_in_time=sum(
            base(a) and a.resolved_at is not None and a.resolved_in_time is True for a in month
        ),
        reopened=sum(base(a) and a.reopened for a in month),
    )


async def live(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tree: Tree, seed: int
) -> None:
    """About 60 appeals' random lives over six weeks around two month ends."""
    rnd = random.Random(seed)
    policy = AppealPolicy()
    buildings = (tree.building, tree.building3, tree.other_building)
    grids = (tree.grid, tree.grid2, tree.other_grid)
    async with sessionmaker() as session:
        await StaffRepo(session).grant(
            user_id=ADMIN, role=Role.ADMIN, node=None, granted_by=None, now=clock.now()
        )
        await session.commit()
    ids: list[int] = []
    residents: dict[int, int] = {}
    moment = START
    for step in range(400):
        moment += timedelta(minutes=rnd.choice((7, 45, 180, 600)))
        clock.set(moment)
        async with sessionmaker() as session:
            service = AppealService(session, policy, clock.now())
            staffing = await StaffRepo(session).staffing(ADMIN)
            kind = rnd.random()
            try:
                if kind < 0.18 or not ids:
                    building = await HierarchyRepo(session).get(rnd.choice(buildings).id)
                    assert building is not None
                    resident = 5000 + step
                    appeal = await service.file(
                        resident, building, Draft(category=rnd.choice(CATEGORIES), text="诉求")
                    )
                    ids.append(appeal.id)
                    residents[appeal.id] = resident
                else:
                    appeal_id = rnd.choice(ids)
                    appeal = await service.get(appeal_id)
                    # Mostly what the appeal's state calls for, now and then anything.
                    action = rnd.choice(
                        {
                            State.SUBMITTED: ("accept",) * 6 + ("reject", "duplicate", "cancel"),
                            State.ACCEPTED: ("resolve",) * 4 + ("transfer",),
                            State.IN_PROGRESS: ("resolve",),
                            State.REOPENED: ("resolve",) * 3 + ("transfer",),
                            State.RESOLVED: ("rate",) * 4 + ("fire",),
                        }.get(State(appeal.state), ("fire",))
                        if rnd.random() < 0.85
                        else ("accept", "resolve", "rate", "reject", "cancel", "transfer", "fire")
                    )
                    if action == "accept":
                        await service.accept(appeal_id, staffing)
                    elif action == "resolve":
                        await service.resolve(appeal_id, staffing, "已处理")
                    elif action == "rate":
                        rating = rnd.choice(list(Rating))
                        await service.rate(appeal_id, residents[appeal_id], rating)
                    elif action == "reject":
                        await service.reject(appeal_id, staffing, "不属于受理范围")
                    elif action == "duplicate":
                        other = rnd.choice(ids)
                        await service.reject(appeal_id, staffing, "重复", duplicate_of=other)
                    elif action == "cancel":
                        await service.cancel(appeal_id, residents[appeal_id])
                    elif action == "transfer":
                        grid = await HierarchyRepo(session).get(rnd.choice(grids).id)
                        assert grid is not None
                        await service.transfer(appeal_id, staffing, grid, "转派")
                    else:
                        for due in await service.due():
                            await service.fire(due)
                await session.commit()
            except AppealError:
                await session.rollback()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kept_counts_equal_a_count_from_scratch(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, seed: int
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await live(sessionmaker, clock, tree, seed)
    now = clock.now()
    async with sessionmaker() as session:
        appeals = list((await session.execute(select(Appeal))).scalars())
        states = {a.state for a in appeals}
        assert {State.CLOSED, State.RESOLVED, State.SUBMITTED, State.CANCELLED} <= states, states
        assert any(a.reopened and a.state == State.CLOSED for a in appeals)
        assert any(a.duplicate_of is not None for a in appeals)
        nodes = [
            n
            for n in [
                tree.district,
                tree.street,
                tree.community,
                tree.other_community,
                tree.grid,
                tree.grid2,
                tree.other_grid,
            ]
        ]
        compared = 0
        for zone in ZONES:
            for month in MONTHS:
                start, end = month.bounds(zone)
                for node in nodes:
                    fresh = await HierarchyRepo(session).get(node.id)
                    assert fresh is not None
                    kpis = await node_kpis(session, fresh, month, now=now, zone=zone, medians=False)
                    want = expected(appeals, fresh, start, end, now)
                    assert kpis.node == want, (zone, month, node.code)
                    compared += want.filed
                    for child in kpis.children:
                        child_node = await HierarchyRepo(session).get(child.node_id)
                        assert child_node is not None
                        assert child == expected(appeals, child_node, start, end, now)
        assert compared > 100
        kept = await _kept(session)
        await session.run_sync(lambda s: backfill(s.connection()))
        assert await _kept(session) == kept
        await session.rollback()


async def _kept(session: AsyncSession) -> dict[tuple[object, ...], tuple[int, ...]]:
    rows = (await session.execute(select(AppealMonthCount))).scalars()
    return {
        (r.district_id, r.month, r.grid_id, r.state, r.category): (
            r.filed,
            r.base,
            r.accepted_in_time,
            r.resolved,
            r.rated,
            r.satisfied,
            r.late,
            r.closed_unsatisfied,
            r.resolved_in_time,
            r.reopened,
        )
        for r in rows
        if r.filed
    }


def test_every_column_the_counts_read_is_watched() -> None:
    """An update of a column the conditions read, left out of the update trigger,
    would leave the kept counts wrong."""
    read = {
        element.name
        for condition in (*counted(late_clause(NOW)), settled_clause())
        for element in visitors.iterate(condition)
        if isinstance(element, Column)
    }
    assert read - {"first_accept_due", "first_resolve_due"} <= set(WATCHED)
    assert {"district_id", "street_id", "community_id", "grid_id", "submitted_at"} <= set(WATCHED)


async def test_concurrent_ratings_are_all_counted(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Twenty residents rate their appeals (one grid, month and category) at once,
    each in a transaction of its own: every one moves the kept counts."""
    tree = await build_tree(sessionmaker, clock)
    policy = AppealPolicy()
    async with sessionmaker() as session:
        await StaffRepo(session).grant(
            user_id=ADMIN, role=Role.ADMIN, node=None, granted_by=None, now=clock.now()
        )
        await session.commit()
    ids = []
    async with sessionmaker() as session:
        service = AppealService(session, policy, clock.now())
        staffing = await StaffRepo(session).staffing(ADMIN)
        building = await HierarchyRepo(session).get(tree.building.id)
        assert building is not None
        for n in range(20):
            appeal = await service.file(6000 + n, building, Draft(category="sanitation", text="x"))
            await service.accept(appeal.id, staffing)
            await service.resolve(appeal.id, staffing, "已处理")
            ids.append(appeal.id)
        await session.commit()

    async def rate(n: int, appeal_id: int) -> None:
        async with sessionmaker() as session:
            service = AppealService(session, policy, clock.now())
            rating = (Rating.SATISFIED, Rating.BASICALLY, Rating.UNSATISFIED)[n % 3]
            await service.rate(appeal_id, 6000 + n, rating)
            await session.commit()

    await asyncio.gather(*(rate(n, i) for n, i in enumerate(ids)))
    async with sessionmaker() as session:
        kept = await _kept(session)
        await session.run_sync(lambda s: backfill(s.connection()))
        assert await _kept(session) == kept
        await session.rollback()
    states = {}
    for (*_, state, _category), numbers in kept.items():
        states[state] = numbers[0]
    # 满意 and 基本满意 close it; 不满意 reopens it (open: counted live, not kept).
    assert states == {"closed": 14}


async def test_the_triggers_are_there_at_head(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A later migration that rebuilds ``appeals`` (SQLite's batch mode copies the
    table) drops its triggers: it must run ``month_counts.create`` again."""
    async with sessionmaker() as session:
        if session.get_bind().dialect.name == "sqlite":
            found = await session.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'appeals'"
                )
            )
        else:
            found = await session.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'appeals'::regclass"
                    " AND NOT tgisinternal"
                )
            )
        assert set(NAMES) <= set(found.scalars())
