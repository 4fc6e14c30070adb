"""The Open311 service under load, beside the bot's own filing rate in the same run.

1. POST requests (a channel filing appeals over HTTP, each with its ticket number) at a
   rising rate, open loop (each request starts at its moment whether or not earlier
   ones have answered), until p99 passes 1 s;
2. GET requests (the first page, 1,000 rows) with ``--appeals`` appeals stored in the
   channel's district: p50 and p95 over repeated reads;
3. the bot's own filing conversations (bench/filing.py) on the same machine.

    uv run --extra dev python bench/open311.py
    uv run --extra dev python bench/open311.py --appeals 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench   # its public schema is wiped!
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from filing import TOKEN, bench_filing, figures  # bench/filing.py, beside this script
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, bootstrap
from bot.config import load_settings
from emulator import BotAPIEmulator
from storage.appeals import Appeal, Level, State
from storage.channels.limits import ChannelLimits
from storage.channels.service import ChannelService
from storage.clock import SystemClock
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from web.server import build_web_app, start_web_server

GRIDS = 10
BUILDINGS = 100
BATCH = 5_000


async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Node, list[Node]]:
    clock = SystemClock()
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        now = clock.now()
        d = await repo.create(kind=NodeKind.DISTRICT, code="D", name="牟平区", parent=None, now=now)
        s = await repo.create(kind=NodeKind.STREET, code="S", name="宁海街道", parent=d, now=now)
        c = await repo.create(kind=NodeKind.COMMUNITY, code="C", name="通海社区", parent=s, now=now)
        staff = StaffRepo(session)
        grids = []
        for i in range(GRIDS):
            grid = await repo.create(
                kind=NodeKind.GRID, code=f"G{i}", name=f"第{i + 1}网格", parent=c, now=now
            )
            await staff.grant(
                user_id=800_000 + i, role=Role.WORKER, node=grid, granted_by=None, now=now
            )
            grids.append(grid)
        buildings = [
            await repo.create(
                kind=NodeKind.BUILDING,
                code=f"B{i}",
                name=f"{i + 1}号楼",
                parent=grids[i % GRIDS],
                now=now,
            )
            for i in range(BUILDINGS)
        ]
        await session.commit()
        return d, buildings


async def fill(
    sessionmaker: async_sessionmaker[AsyncSession], district: Node, buildings: list[Node], n: int
) -> None:
    """``n`` appeals of the district over the last 90 days, most of them finished."""
    rng = random.Random(7)
    now = SystemClock().now()
    chains = [(b.id, *b.ancestor_ids()) for b in buildings]
    paths = {b.id: b.path.rsplit("/", 2)[0] + "/" for b in buildings}
    rows: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        for i in range(n):
            building, d, s, c, g, _ = chains[i % len(chains)]
            submitted = now - timedelta(minutes=rng.randrange(60, 90 * 24 * 60))
            rows.append(
                {
                    "version": 1,
                    "resident_id": 10_000_000 + i % 50_000,
                    "building_id": building,
                    "grid_id": g,
                    "community_id": c,
                    "street_id": s,
                    "district_id": d,
                    "scope_path": paths[building],
                    "category": "sanitation",
                    "text": "楼道灯坏了",
                    "anonymous": False,
                    "urgent": False,
                    "level": Level.GRID,
                    "state": State.CLOSED if i % 20 else State.SUBMITTED,
                    "submitted_at": submitted,
                    "first_accept_due": submitted + timedelta(hours=24),
                    "first_resolve_due": submitted + timedelta(hours=48),
                    "feedback_due": submitted + timedelta(hours=72),
                    "escalations": 0,
                    "reopened": False,
                }
            )
            if len(rows) >= BATCH:
                await session.execute(insert(Appeal), rows)
                rows.clear()
        if rows:
            await session.execute(insert(Appeal), rows)
        await session.commit()


async def post_ramp(
    base: str, key: str, buildings: list[Node], rates: list[int], seconds: float
) -> list[tuple[int, float, float, float, int]]:
    """(offered rate, achieved requests/s, p50 ms, p99 ms, errors) per stage, until p99
    passes 1 s."""
    results = []
    ticket = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(i: int) -> tuple[float, int]:
            form = {
                "api_key": key,
                "service_code": "sanitation",
                "address_id": buildings[i % len(buildings)].code,
                "phone": "13800000000",
                "description": "楼道里堆满了杂物",
                "attribute[external_id]": f"T{i}",
            }
            started = time.perf_counter()
            async with http.post(base + "requests.json", data=form) as r:
                await r.read()
                return time.perf_counter() - started, r.status

        for rate in rates:
            count = max(1, int(rate * seconds))
            loop = asyncio.get_running_loop()
            start = loop.time()
            tasks = []
            for k in range(count):
                delay = start + k / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(ticket)))
                ticket += 1
            done = await asyncio.gather(*tasks)
            elapsed = loop.time() - start
            latencies = sorted(d for d, _ in done)
            errors = sum(1 for _, status in done if status != 201)
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            results.append(
                (rate, count / elapsed, statistics.median(latencies) * 1000, p99 * 1000, errors)
            )
            print(
                f"  POST at {rate:>5}/s: {count / elapsed:8.1f} req/s, p99 {p99 * 1000:8.1f} ms, "
                f"{errors} errors",
                flush=True,
            )
            if p99 > 1.0:
                break
    return results


async def get_first_page(base: str, key: str, reads: int) -> tuple[float, float, int]:
    latencies = []
    rows = 0
    async with aiohttp.ClientSession() as http:
        for _ in range(reads):
            started = time.perf_counter()
            async with http.get(base + "requests.json", params={"api_key": key}) as r:
                body = await r.json()
            latencies.append(time.perf_counter() - started)
            rows = len(body)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return statistics.median(latencies) * 1000, p95 * 1000, rows


async def measure(args: argparse.Namespace, emu: BotAPIEmulator) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'open311.db'}"
    engine: AsyncEngine = create_engine(url)
    web_server = None
    app: App | None = None
    try:
        if args.database_url:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        district, buildings = await tree(sessionmaker)
        settings = load_settings(
            bot_token=TOKEN, telegram_api_url=emu.base_url, bot_username="gridbot_bench_bot"
        )
        # The limit is not what is measured here.
        limits = ChannelLimits(rate=1e6, burst=10**6)
        app = bootstrap(settings, sessionmaker, clock=SystemClock(), config=[limits])
        async with app.services() as s:
            _, key = await s.get(ChannelService).provision("12345 热线", district)
        web_server = await start_web_server(build_web_app(app), "127.0.0.1", 0, "bench")
        base = f"http://127.0.0.1:{web_server.port}/open311/v2/"
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"backend: {backend}")
        ramp = await post_ramp(base, key, buildings, args.rates, args.seconds)
        print(f"filling {args.appeals} appeals ...", flush=True)
        started = time.perf_counter()
        await fill(sessionmaker, district, buildings, args.appeals)
        if args.database_url:
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        print(f"  filled in {time.perf_counter() - started:.1f} s", flush=True)
        p50, p95, rows = await get_first_page(base, key, args.reads)
        sustained = [r for r in ramp if r[3] <= 1000]
        best = max(sustained, key=lambda r: r[1]) if sustained else ramp[0]
        print()
        passed = (
            f"p99 passed 1 s at {ramp[-1][0]}/s"
            if ramp[-1][3] > 1000
            else f"p99 stayed under 1 s up to {ramp[-1][0]}/s (raise --rates)"
        )
        print(
            f"POST requests: {best[1]:.1f} req/s sustained with p99 {best[3]:.0f} ms "
            f"(offered {best[0]}/s); {passed}"
        )
        print(
            f"GET requests, first page ({rows} rows) with {args.appeals} appeals stored: "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
    finally:
        if web_server is not None:
            await web_server.stop()
        if app is not None:
            await app.bot.session.close()
        await engine.dispose()
        tmp.cleanup()
    # The bot's own filing (4 updates a filing) on the same machine, in the same run.
    filing = await bench_filing(emu, args.filings)
    rate, f50, f99 = figures(filing)
    print(
        f"bot filing conversations: {rate / 4:.1f} filings/s ({rate:.1f} updates/s), "
        f"p50 {f50:.1f} ms, p99 {f99:.1f} ms per update"
    )
    print(f"ratio Open311 POST / chat filing: x{best[1] / (rate / 4):.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[10, 20, 40, 80, 160, 320, 640])
    parser.add_argument("--seconds", type=float, default=3.0, help="per rate")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--filings", type=int, default=100)
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is wiped!)")
    args = parser.parse_args()
    emu = BotAPIEmulator(token=TOKEN, bot_username="gridbot_bench_bot")
    await emu.start()
    try:
        await measure(args, emu)
    finally:
        await emu.stop()


if __name__ == "__main__":
    asyncio.run(main())
