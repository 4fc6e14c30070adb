"""How "my tasks" and one escalation sweep scale with the size of the appeals table.

Builds the demo district, fills the table with N appeals (bench/fill.py: closed history
plus the same 500 open appeals whatever N is: history grows, the open workload does not;
ten of them due right now), then times a grid worker's first page of
"my tasks" (with its count) and one deadline sweep that fires those ten timers. The figure
to watch is the ratio between the large and the small table: with the indexes doing their
work it stays near 1.

    uv run --extra dev python bench/scale.py            # 1k and 1M on SQLite
    uv run --extra dev python bench/scale.py --sizes 1000 100000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.fill import Filled, analyze, fill
from storage.appeals import Appeal, AppealPolicy, AppealService, Level, State, Timer, sweep
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
POLICY = AppealPolicy()


async def prepare(sessionmaker: async_sessionmaker[AsyncSession], filled: Filled) -> int:
    """Exactly ten timers due now, whatever the size (waiting appeals at the grid, to be
    escalated), and a grid worker for the first grid; returns the worker's id."""
    async with sessionmaker() as session:
        due_ids = (
            (
                await session.execute(
                    select(Appeal.id)
                    .where(Appeal.state == State.SUBMITTED, Appeal.level == Level.GRID)
                    .order_by(Appeal.id)
                    .limit(10)
                )
            )
            .scalars()
            .all()
        )
        await session.execute(
            update(Appeal)
            .where(Appeal.id.in_(due_ids))
            .values(due_at=NOW - timedelta(minutes=1), due_kind=Timer.ESCALATE_ACCEPT.value)
        )
        worker = 8_000_001
        grid = filled.nodes[filled.chains[0].grid]
        await StaffRepo(session).grant(
            user_id=worker, role=Role.WORKER, node=grid, granted_by=None, now=NOW
        )
        await session.commit()
    return worker


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
        filled = await fill(engine, sessionmaker, n, NOW)
        fill_s = filled.seconds
        worker = await prepare(sessionmaker, filled)
        await analyze(engine)
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
