"""How long the desk's ranking (红黑榜) and heat grid take for the demo district with N
appeals (bench/fill.py: a year of them, mostly closed, one in ten reopened or late, 500
open): the district's ranking (its streets, this month beside the month before: two
``node_kpis``) and a street's, and the heat grid's one ``node_kpis`` of the district,
each timed over repeated runs (median and p95, milliseconds).

    uv run --extra dev python bench/ranking.py                # 10k and 100k on SQLite
    uv run --extra dev python bench/ranking.py --sizes 1000000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fill import fill
from storage.appeals.kpi import Month, node_kpis
from storage.appeals.kpi import as_zone as _zone
from storage.appeals.ranking import ranking
from storage.hierarchy import Node, NodeKind
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker

ZONE = _zone("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


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
        await fill(engine, sessionmaker, n, NOW)
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
