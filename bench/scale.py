"""How "my tasks" and one escalation sweep scale with the size of the appeals table.

Builds the demo district, fills the table with N appeals (closed history plus the same
500 open appeals whatever N is: history grows, the open workload does not; ten of them
due right now), then times a grid worker's first page of
"my tasks" (with its count) and one deadline sweep that fires those ten timers. The figure
to watch is the ratio between the large and the small table: with the indexes doing their
work it stays near 1.

    uv run --extra dev python bench/scale.py            # 1k and 1M on SQLite
    uv run --extra dev python bench/scale.py --sizes 1000 100000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.appeals import Appeal, AppealPolicy, AppealService, Level, State, sweep
from storage.demo import seed_demo
from storage.hierarchy import Node, NodeKind
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
POLICY = AppealPolicy()
BATCH = 20_000
OPEN = 500


async def fill(sessionmaker: async_sessionmaker[AsyncSession], n: int) -> tuple[int, int]:
    """Insert ``n`` appeals; returns (worker user id, its grid id)."""
    rng = random.Random(7)
    open_every = max(1, n // OPEN)
    async with sessionmaker() as session:
        await seed_demo(session, NOW - timedelta(days=400))
        await session.commit()
        buildings = (
            (await session.execute(select(Node).where(Node.kind == NodeKind.BUILDING)))
            .scalars()
            .all()
        )
        nodes = {n.id: n for n in (await session.execute(select(Node))).scalars().all()}
    chains = []
    for b in buildings:
        ids = b.ancestor_ids()
        chains.append((b.id, ids[3], ids[2], ids[1], ids[0], nodes[ids[3]].path))
    categories = [c.code for c in POLICY.categories]
    rows: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        for i in range(n):
            building, grid, community, street, district, path = chains[i % len(chains)]
            submitted = NOW - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
            row: dict[str, Any] = {
                "version": 1,
                "resident_id": 10_000_000 + i % 50_000,
                "building_id": building,
                "grid_id": grid,
                "community_id": community,
                "street_id": street,
                "district_id": district,
                "scope_path": path,
                "category": categories[i % 9],
                "text": "楼道灯坏了",
                "anonymous": False,
                "urgent": False,
                "level": Level.GRID,
                "submitted_at": submitted,
                "first_accept_due": submitted + timedelta(hours=24),
                "first_resolve_due": submitted + timedelta(hours=48),
                "feedback_due": submitted + timedelta(hours=72),
                "escalations": 0,
                "reopened": False,
                "state": State.CLOSED,
                "accepted_at": submitted,
                "resolved_at": submitted + timedelta(hours=30),
                "closed_at": submitted,
                "accepted_in_time": True,
                "rating": "satisfied",
                "due_at": None,
                "due_kind": None,
                "accept_due": None,
                "resolve_due": None,
                "deadline_at": None,
            }
            if i % open_every == 0:  # still open: waiting for acceptance, due in the future
                row.update(
                    state=State.SUBMITTED,
                    submitted_at=NOW - timedelta(hours=1),
                    accept_due=NOW + timedelta(hours=rng.randrange(1, 23)),
                    accepted_at=None,
                    resolved_at=None,
                    closed_at=None,
                    rating=None,
                    accepted_in_time=None,
                )
                row.update(
                    due_at=row["accept_due"] - timedelta(hours=2),
                    deadline_at=row["accept_due"],
                    due_kind="remind_accept",
                )
            rows.append(row)
            if len(rows) >= BATCH:
                await session.execute(insert(Appeal), rows)
                rows.clear()
        if rows:
            await session.execute(insert(Appeal), rows)
        # Exactly ten timers due now, whatever the size.
        due_ids = (
            (
                await session.execute(
                    select(Appeal.id).where(Appeal.state == State.SUBMITTED).limit(10)
                )
            )
            .scalars()
            .all()
        )
        await session.execute(
            update(Appeal)
            .where(Appeal.id.in_(due_ids))
            .values(
                due_at=NOW - timedelta(minutes=1),
                due_kind="escalate_accept",
                accept_due=NOW - timedelta(minutes=1),
            )
        )
        await session.execute(
            update(Appeal)
            .where(Appeal.due_at <= NOW, Appeal.id.not_in(due_ids))
            .values(due_at=NOW + timedelta(hours=1))
        )
        grid_id = chains[0][1]
        worker = 8_000_001
        await StaffRepo(session).grant(
            user_id=worker, role=Role.WORKER, node=nodes[grid_id], granted_by=None, now=NOW
        )
        await session.commit()
    return worker, grid_id


async def time_tasks(
    sessionmaker: async_sessionmaker[AsyncSession], worker: int, runs: int = 30
) -> float:
    async with sessionmaker() as session:
        staffing = await StaffRepo(session).staffing(worker)
        service = AppealService(session, POLICY, NOW)
        await service.tasks(staffing)  # warm the caches
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            rows, total = await service.tasks(staffing, limit=8)
            samples.append(time.perf_counter() - started)
        assert rows and total > 0
    return statistics.median(samples) * 1000


async def time_sweep(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[float, int]:
    started = time.perf_counter()
    fired = await sweep(sessionmaker, POLICY, NOW)
    return (time.perf_counter() - started) * 1000, len(fired)


async def measure(url: str | None, n: int) -> dict[str, float]:
    tmp = tempfile.TemporaryDirectory()
    engine: AsyncEngine = create_engine(url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'b.db'}")
    try:
        if url:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        worker, _ = await fill(sessionmaker, n)
        fill_s = time.perf_counter() - started
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        tasks_ms = await time_tasks(sessionmaker, worker)
        sweep_ms, fired = await time_sweep(sessionmaker)
        assert fired == 10, fired
        return {"n": n, "fill_s": fill_s, "tasks_ms": tasks_ms, "sweep_ms": sweep_ms}
    finally:
        await engine.dispose()
        tmp.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is wiped!)")
    args = parser.parse_args()
    results = [await measure(args.database_url, n) for n in args.sizes]
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"backend: {backend}")
    print(f"{'appeals':>10} {'fill s':>8} {'my tasks ms':>12} {'sweep(10) ms':>13}")
    for r in results:
        print(
            f"{int(r['n']):>10} {r['fill_s']:>8.1f} {r['tasks_ms']:>12.2f} {r['sweep_ms']:>13.1f}"
        )
    base, big = results[0], results[-1]
    tasks_ratio = big["tasks_ms"] / base["tasks_ms"]
    sweep_ratio = big["sweep_ms"] / base["sweep_ms"]
    print(
        f"ratio {int(big['n'])}/{int(base['n'])}: my tasks x{tasks_ratio:.2f}, "
        f"sweep x{sweep_ratio:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
