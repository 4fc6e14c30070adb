"""How long the desk's ranking (红黑榜) and heat grid take for the demo district with N
appeals (a year of them, mostly closed, one in ten reopened or late, 500 open): the
district's ranking (its streets, this month beside the month before: two ``node_kpis``)
and a street's, and the heat grid's one ``node_kpis`` of the district, each timed over
repeated runs (median and p95, milliseconds).

    uv run --extra dev python bench/ranking.py                # 10k and 100k on SQLite
    uv run --extra dev python bench/ranking.py --sizes 1000000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.appeals import Appeal, AppealPolicy, Level, State
from storage.appeals.kpi import Month, node_kpis
from storage.appeals.kpi import as_zone as _zone
from storage.appeals.ranking import ranking
from storage.demo import seed_demo
from storage.hierarchy import Node, NodeKind
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker

ZONE = _zone("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
BATCH = 20_000
OPEN = 500


async def fill(sessionmaker: async_sessionmaker[AsyncSession], n: int) -> None:
    rng = random.Random(7)
    async with sessionmaker() as session:
        await seed_demo(session, NOW - timedelta(days=400))
        await session.commit()
        grids = (
            (await session.execute(select(Node).where(Node.kind == NodeKind.GRID))).scalars().all()
        )
    chains = [(g.ancestor_ids(), g.path) for g in grids]
    categories = [c.code for c in AppealPolicy().categories]
    open_every = max(1, n // OPEN)
    rows: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        for i in range(n):
            ids, path = chains[i % len(chains)]
            submitted = NOW - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
            late = i % 10 == 3
            row: dict[str, Any] = {
                "version": 1,
                "resident_id": 10_000_000 + i % 50_000,
                "grid_id": ids[3],
                "community_id": ids[2],
                "street_id": ids[1],
                "district_id": ids[0],
                "scope_path": path,
                "category": categories[i % len(categories)],
                "state": State.CLOSED,
                "level": Level.GRID,
                "submitted_at": submitted,
                "accepted_at": submitted + timedelta(hours=30 if late else 2),
                "resolved_at": submitted + timedelta(hours=30),
                "closed_at": submitted + timedelta(hours=40),
                "first_accept_due": submitted + timedelta(hours=24),
                "first_resolve_due": submitted + timedelta(hours=48),
                "feedback_due": submitted + timedelta(hours=72),
                "accepted_in_time": not late,
                "resolved_in_time": True,
                "reopened": i % 10 == 7,
                "rating": "satisfied" if i % 5 else "unsatisfied",
            }
            if i % open_every == 0:
                row.update(
                    state=State.SUBMITTED,
                    submitted_at=NOW - timedelta(hours=30),
                    accepted_at=None,
                    resolved_at=None,
                    closed_at=None,
                    rating=None,
                    accepted_in_time=None,
                    resolved_in_time=None,
                    deadline_at=NOW - timedelta(hours=6),
                )
            rows.append(row)
            if len(rows) >= BATCH:
                await session.execute(insert(Appeal), rows)
                rows.clear()
        if rows:
            await session.execute(insert(Appeal), rows)
        await session.commit()


async def _timed(run: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    await run()  # warm the caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


async def measure(url: str | None, n: int, runs: int) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    engine: AsyncEngine = create_engine(url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'b.db'}")
    try:
        if url:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        await fill(sessionmaker, n)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        month = Month.of(NOW, ZONE)
        out: dict[str, Any] = {"n": n}
        async with sessionmaker() as session:
            district = (
                await session.execute(select(Node).where(Node.kind == NodeKind.DISTRICT))
            ).scalar_one()
            street = (
                (await session.execute(select(Node).where(Node.kind == NodeKind.STREET)))
                .scalars()
                .first()
            )
            assert street is not None
            for name, run in (
                ("district ranking", lambda: ranking(session, district, month, now=NOW, zone=ZONE)),
                ("street ranking", lambda: ranking(session, street, month, now=NOW, zone=ZONE)),
                (
                    "district heat",
                    lambda: node_kpis(session, district, month, now=NOW, zone=ZONE, medians=False),
                ),
                (
                    "district /stats",
                    lambda: node_kpis(session, district, month, now=NOW, zone=ZONE),
                ),
            ):
                out[name] = await _timed(run, runs)
        return out
    finally:
        await engine.dispose()
        tmp.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url
    if url and url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    for n in args.sizes:
        result = await measure(url, n, args.runs)
        figures = ", ".join(
            f"{k} {v[0]:.0f} ms (p95 {v[1]:.0f})" for k, v in result.items() if k != "n"
        )
        print(f"{result['n']:>9,} appeals: {figures}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
