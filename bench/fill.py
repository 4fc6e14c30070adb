"""The benches' one bulk fill of the appeals table: the demo district (storage.demo) and
N appeals in it, written the fastest way each store takes them (COPY on PostgreSQL, one
executemany per batch on SQLite, both without the ORM), so a million rows take a few
minutes at most.

The rows are a year of history in the order it was filed, mostly closed (one in ten
accepted late, one in ten reopened, one in five rated 不满意, a few cancelled), plus
``open_count`` open appeals whatever N is (history grows, the open workload does not):
waiting, accepted, in progress and reopened ones, most at the grid, some escalated to
the community, street or district, about a fifth past their promise. No timer is due
within the next hour (``due_at``), so a bot started on the filled database does not
fire a sweep of them; a bench that wants due timers sets them itself (bench/scale.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.appeals import AppealPolicy, Level, State, Timer
from storage.demo import seed_demo
from storage.hierarchy import Node, NodeKind

BATCH = 50_000
OPEN = 500
RESIDENTS = 50_000  # resident ids the history is spread over (no user rows: none needed)
FIRST_RESIDENT = 10_000_000
FIRST_WORKER = 8_000_000  # owners of accepted appeals (no user rows either)

# Every row has these columns, in this order.
COLUMNS = (
    "version",
    "resident_id",
    "building_id",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
    "scope_path",
    "category",
    "text",
    "anonymous",
    "urgent",
    "state",
    "level",
    "owner_id",
    "submitted_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "first_accept_due",
    "first_resolve_due",
    "feedback_due",
    "accepted_in_time",
    "resolved_in_time",
    "window_due",
    "due_at",
    "due_kind",
    "deadline_at",
    "escalations",
    "reopened",
    "rating",
)
_DATES = {i for i, c in enumerate(COLUMNS) if c.endswith(("_at", "_due"))}
_BOOLS = {i for i, c in enumerate(COLUMNS) if c in ("anonymous", "urgent", "reopened")} | {
    COLUMNS.index("accepted_in_time"),
    COLUMNS.index("resolved_in_time"),
}
_OPEN_LEVELS = (Level.GRID,) * 14 + (Level.COMMUNITY,) * 3 + (Level.STREET,) * 2 + (Level.DISTRICT,)
_OPEN_STATES: tuple[State, ...] = (
    (State.SUBMITTED,) * 4 + (State.ACCEPTED,) * 2 + (State.IN_PROGRESS,) * 3 + (State.REOPENED,)
)


@dataclass(frozen=True)
class Chain:
    """A building and the nodes above it: where an appeal sits."""

    building: int
    grid: int
    community: int
    street: int
    district: int
    path: str  # the grid's (an appeal's scope path)


@dataclass(frozen=True)
class Filled:
    n: int
    chains: tuple[Chain, ...]
    nodes: dict[int, Node]
    seconds: float = 0.0

    def of_kind(self, kind: NodeKind) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.node_kind is kind), key=lambda n: n.path)


async def seed_district(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime
) -> tuple[tuple[Chain, ...], dict[int, Node]]:
    """The demo district, seeded a year and a month before ``now``; its buildings."""
    async with sessionmaker() as session:
        await seed_demo(session, now - timedelta(days=400))
        await session.commit()
        nodes = {n.id: n for n in (await session.execute(select(Node))).scalars().all()}
    chains = []
    for b in sorted(nodes.values(), key=lambda n: n.path):
        if b.node_kind is not NodeKind.BUILDING:
            continue
        district, street, community, grid = (int(i) for i in b.ancestor_ids()[:4])
        chains.append(Chain(b.id, grid, community, street, district, nodes[grid].path))
    return tuple(chains), nodes


def appeal_rows(
    chains: tuple[Chain, ...], n: int, now: datetime, *, open_count: int = OPEN, seed: int = 7
) -> Iterator[tuple[Any, ...]]:
    """``n`` appeals as tuples in ``COLUMNS`` order (aware datetimes), in the order they
    were filed, as a live table has them: ids follow ``submitted_at`` (the history over
    the year before ``now`` less three days, then the open appeals of the last days), so
    a month is a run of neighbouring rows, not rows strewn over the whole table."""
    rng = random.Random(seed)
    categories = [c.code for c in AppealPolicy().categories]
    open_count = min(open_count, n)
    history = n - open_count
    span = timedelta(days=362).total_seconds()
    start = now - timedelta(days=365)
    for i in range(n):
        c = chains[i % len(chains)]
        category = categories[i % len(categories)]
        if i >= history:
            yield _open_row(c, category, i, i - history, now, rng)
            continue
        submitted = start + timedelta(seconds=(i + rng.random()) * span / history)
        late = i % 10 == 3
        cancelled = i % 50 == 11
        yield (
            1,
            FIRST_RESIDENT + i % RESIDENTS,
            c.building,
            c.grid,
            c.community,
            c.street,
            c.district,
            c.path,
            category,
            "楼道灯坏了",
            False,
            False,
            State.CANCELLED.value if cancelled else State.CLOSED.value,
            Level.GRID.value,
            None if cancelled else FIRST_WORKER + i % 200,
            submitted,
            None if cancelled else submitted + timedelta(hours=30 if late else 2),
            None if cancelled else submitted + timedelta(hours=30),
            submitted + timedelta(hours=40),
            submitted + timedelta(hours=24),
            submitted + timedelta(hours=48),
            submitted + timedelta(hours=72),
            None if cancelled else not late,
            None if cancelled else True,
            None,
            None,
            None,
            None,
            0,
            i % 10 == 7,
            None if cancelled else ("satisfied" if i % 5 else "unsatisfied"),
        )


def _open_row(
    c: Chain, category: str, i: int, j: int, now: datetime, rng: random.Random
) -> tuple[Any, ...]:
    state = _OPEN_STATES[j % len(_OPEN_STATES)]
    level = _OPEN_LEVELS[(j * 7) % len(_OPEN_LEVELS)]
    overdue = j % 5 == 2
    submitted = now - timedelta(minutes=rng.randrange(10, 20 * 60))
    accept_due = submitted + timedelta(hours=24)
    resolve_due = submitted + timedelta(hours=48)
    window_due: datetime | None = None
    accepted_at: datetime | None = None
    if state is not State.SUBMITTED:
        accepted_at = submitted + timedelta(minutes=30)
    if overdue:  # past its promise: filed long enough ago
        submitted -= timedelta(hours=50)
        accept_due, resolve_due = submitted + timedelta(hours=24), submitted + timedelta(hours=48)
        accepted_at = accepted_at - timedelta(hours=50) if accepted_at else None
    if state is State.REOPENED:
        window_due = now + timedelta(hours=rng.randrange(-6, 24) if overdue else 24)
        deadline = window_due
    else:
        deadline = accept_due if state is State.SUBMITTED else resolve_due
    kind = Timer.ESCALATE_ACCEPT if state is State.SUBMITTED else Timer.ESCALATE_RESOLVE
    return (
        1,
        FIRST_RESIDENT + i % RESIDENTS,
        c.building,
        c.grid,
        c.community,
        c.street,
        c.district,
        c.path,
        category,
        "小区门口的路灯不亮了，晚上出行不方便",
        False,
        j % 25 == 4,
        state.value,
        level.value,
        None if accepted_at is None else FIRST_WORKER + j % 200,
        submitted,
        accepted_at,
        None,
        None,
        accept_due,
        resolve_due,
        submitted + timedelta(hours=72),
        None if accepted_at is None else accepted_at <= accept_due,
        None,
        window_due,
        # The next timer: never within the next hour (a bot on this data sweeps nothing).
        max(deadline, now + timedelta(hours=2)),
        kind.value,
        deadline,
        list(Level).index(level),
        state is State.REOPENED,
        None,
    )


def _sqlite_value(index: int, value: Any) -> Any:
    if value is None:
        return None
    if index in _DATES:
        # As SQLAlchemy's SQLite DateTime stores it (UTC, naive, with microseconds).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if index in _BOOLS:
        return int(value)
    return value


async def insert_appeals(engine: AsyncEngine, rows: Iterator[tuple[Any, ...]]) -> int:
    """Writes ``rows`` (``COLUMNS`` order) in batches; returns how many."""
    written = 0
    batch: list[tuple[Any, ...]] = []
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection

            async def flush() -> None:
                await driver.copy_records_to_table("appeals", records=batch, columns=COLUMNS)

        else:
            sql = (
                f"INSERT INTO appeals ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in COLUMNS)})"
            )

            async def flush() -> None:
                await conn.exec_driver_sql(
                    sql,
                    [tuple(_sqlite_value(k, v) for k, v in enumerate(row)) for row in batch],
                )

        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                await flush()
                written += len(batch)
                batch.clear()
        if batch:
            await flush()
            written += len(batch)
    return written


async def analyze(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


async def fill(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    n: int,
    now: datetime,
    *,
    open_count: int = OPEN,
) -> Filled:
    """The demo district and ``n`` appeals in it (on a migrated, empty database), then
    ANALYZE; ``seconds``: how long it took."""
    import time

    started = time.perf_counter()
    chains, nodes = await seed_district(sessionmaker, now)
    written = await insert_appeals(engine, appeal_rows(chains, n, now, open_count=open_count))
    assert written == n, (written, n)
    await analyze(engine)
    return Filled(n, chains, nodes, time.perf_counter() - started)
