"""The command centre's desk at a district's size: its pages over real HTTP with 1,000,000
appeals, beside the same pages with 1,000, and the chat while 50 desks follow the live
queue.

The bot runs as its own process (``gridbot run``, long polling, the desk on its web port)
against the Bot API emulator in this process, on a database filled by bench/fill.py (the
demo district, a year of history, 500 open appeals whatever the size). People sign in
to the desk as a person does (a one-time link, opened and posted) and fetch pages one
after another:

- the live queue's first page with its counts (``/desk/appeals``) as district, street
  and grid-level staff;
- the district's ranking (红黑榜, ``/desk/ranking``) for last month, beside the month
  before (two /stats KPI reads);
- an appeal's page (``/desk/appeals/<id>``), open and closed ones in turn.

Each is timed ``--requests`` times after a warm-up (p50, p95, ms), per store (SQLite
always, PostgreSQL with ``--database-url``), for each size of ``--sizes``; the ratio is
the largest size's p95 over the smallest's. The goal: every page ≤ 300 ms p95 at 1M.

Live round (on the largest size): residents file appeals in the chat at ``--rate`` a
second (each the whole conversation, bench/reliability.py's residents), in
``--rounds`` rounds of ``--seconds``, alternately without and with ``--desks`` open
desks, after one more round without them that is not counted (a warm-up). Each desk
holds the live stream its queue page names (``/desk/live?view=queue``), which pushes
the queue's rows at every change in scope (no request per desk). The figure: the chat's
p99 per filing step with the desks over without (goal ≤ 1.20); each round also prints
the CPU the bot used (near 100%, its queue sets the p99, desks or not).

    uv run --extra dev python bench/desk.py
    uv run --extra dev python bench/desk.py \\
        --database-url postgresql://postgres@127.0.0.1/deskbench \\
        --redis-url redis://127.0.0.1:6379/12
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import io
import os
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from bench.fill import Filled, fill
from bench.reliability import CATEGORY as CATEGORY_STEP
from bench.reliability import (
    CONFIRM,
    NEW,
    STILL,
    TEXT,
    Chats,
    Resident,
    cancel,
    emulator,
    forget_redis,
    make_residents,
    percentile,
)
from bench.startup import cpu_seconds
from emulator import BotAPIEmulator
from storage.appeals import OPEN_STATES, Appeal
from storage.appeals.kpi import Month
from storage.desk import DeskAuth, DeskPolicy
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.desk.client import DeskBrowser, Stream
from tests.processes import BotProcess

DISTRICT_STAFF, STREET_STAFF, GRID_WORKER = 7_000_001, 7_000_002, 7_000_003
FIRST_DESK = 7_100_000  # the live round's desk people
FIRST_RESIDENT = 20_000_000
GOAL_MS = 300.0
ZONE = "Asia/Shanghai"


# --- the database -------------------------------------------------------------------------


@dataclass
class Prepared:
    filled: Filled
    district: int
    street: int
    grid: int
    community: int
    open_ids: list[int]
    closed_ids: list[int]


async def prepare(url: str, n: int, now: datetime, residents: int, desks: int) -> Prepared:
    """A fresh schema filled with ``n`` appeals; the staff who sign in; the live round's
    residents (consented, one per building in turn) and desk people."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        filled = await fill(engine, sessionmaker, n, now)
        chain = filled.chains[0]
        nodes = filled.nodes
        people: list[tuple[int, Role, int]] = [
            (DISTRICT_STAFF, Role.DISTRICT_STAFF, chain.district),
            (STREET_STAFF, Role.STREET_STAFF, chain.street),
            (GRID_WORKER, Role.WORKER, chain.grid),
        ]
        # The live round's desks: district, street and community staff over the residents.
        kinds = [
            (Role.DISTRICT_STAFF, chain.district),
            (Role.STREET_STAFF, chain.street),
            (Role.COMMUNITY_STAFF, chain.community),
        ]
        people += [(FIRST_DESK + i, *kinds[i % 3]) for i in range(desks)]
        async with sessionmaker() as session:
            for user_id, role, node_id in people:
                session.add(
                    User(id=user_id, first_name=f"职员{user_id}", created_at=now, last_seen_at=now)
                )
                await session.flush()
                await StaffRepo(session).grant(
                    user_id=user_id, role=role, node=nodes[node_id], granted_by=None, now=now
                )
            in_community = [c for c in filled.chains if c.community == chain.community]
            for i in range(residents):
                session.add(
                    User(
                        id=FIRST_RESIDENT + i,
                        first_name=f"居民{i}",
                        telegram_language="zh-hans",
                        building_id=in_community[i % len(in_community)].building,
                        consent_at=now,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            await session.commit()
            open_ids = list(
                (
                    await session.execute(
                        select(Appeal.id)
                        .where(Appeal.state.in_(OPEN_STATES))
                        .order_by(Appeal.id)
                        .limit(15)
                    )
                ).scalars()
            )
            last = (await session.execute(select(Appeal.id).order_by(Appeal.id.desc()))).scalar()
            step = max(1, int(last or 1) // 15)
            closed_ids = [i for i in range(1, int(last or 1) + 1, step)][:15]
        return Prepared(
            filled, chain.district, chain.street, chain.grid, chain.community, open_ids, closed_ids
        )
    finally:
        await engine.dispose()


async def link(url: str, user_id: int) -> str:
    """A one-time sign-in link, issued by the storage code /web uses."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            issued = await DeskAuth(session, DeskPolicy()).issue_link(user_id)
            await session.commit()
        return f"/desk/signin/{issued.token}"
    finally:
        await engine.dispose()


async def sign_in(url: str, base: str, user_id: int) -> DeskBrowser:
    browser = DeskBrowser(base)
    entered = await browser.open_link(await link(url, user_id))
    assert entered.status == 303, entered.text[:500]
    return browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- pages --------------------------------------------------------------------------------


async def timed(browser: DeskBrowser, paths: list[str], requests: int) -> tuple[float, float]:
    """p50 and p95 (ms) of ``requests`` GETs, after one warm-up of each path."""
    for path in paths:
        page = await browser.get(path)
        assert page.status == 200, (path, page.status, page.text[:300])
    samples = []
    for i in range(requests):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        page = await browser.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert page.status == 200, (path, page.status)
    return statistics.median(samples), percentile(samples, 0.95)


async def pages(url: str, base: str, p: Prepared, requests: int) -> dict[str, tuple[float, float]]:
    district = await sign_in(url, base, DISTRICT_STAFF)
    street = await sign_in(url, base, STREET_STAFF)
    grid = await sign_in(url, base, GRID_WORKER)
    month = Month.of(datetime.now(UTC), ZONE).prev()
    pairs = zip(p.open_ids, p.closed_ids, strict=False)
    appeals = [f"/desk/appeals/{i}" for pair in pairs for i in pair]
    try:
        return {
            "queue, district": await timed(district, ["/desk/appeals"], requests),
            "queue, street": await timed(street, ["/desk/appeals"], requests),
            "queue, grid": await timed(grid, ["/desk/appeals"], requests),
            "ranking, district": await timed(
                district, [f"/desk/ranking?node={p.district}&month={month}"], requests
            ),
            "appeal page": await timed(district, appeals, requests),
        }
    finally:
        for b in (district, street, grid):
            await b.close()


# --- the live round -----------------------------------------------------------------------


@dataclass
class Desks:
    """Open desk pages: each holds the live stream its page names (the queue's, which
    pushes the rows) and takes every fragment pushed, as the page's htmx does."""

    browsers: list[DeskBrowser]
    refreshes: list[float] = field(default_factory=list)  # bytes before each push
    failures: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def open(self) -> None:
        streams = []
        for browser in self.browsers:
            page = await browser.get("/desk/appeals")
            assert page.status == 200, page.text[:300]
            found = re.search(r'sse-connect="([^"]+)"', page.text)
            assert found, "the page holds no stream"
            streams.append(await Stream.open(browser, html.unescape(found.group(1))))
        self._tasks = [asyncio.create_task(self._follow(s)) for s in streams]

    async def _follow(self, stream: Stream) -> None:
        """Counts the pushed fragments in the raw stream: a browser parses them in its
        own process, elsewhere; this one shares the machine with the emulated chat."""
        mark = b"event: queue\n"
        tail = b""
        size = 0
        try:
            while True:
                chunk = await stream.response.content.readany()
                if not chunk:
                    self.failures += 1
                    return
                seen = tail + chunk
                for i in range(seen.count(mark)):
                    self.refreshes.append(float(size) if i == 0 else 0.0)
                    size = 0
                size += len(chunk)
                tail = seen[1 - len(mark) :]  # a mark cut in two is counted once
        finally:
            stream.close()

    async def close(self) -> None:
        await cancel(self._tasks)


async def filing_round(
    chats: Chats, people: list[Resident], rate: float, patience: float
) -> list[tuple[str, float]]:
    """``people`` start filing one every 1/``rate`` s; each step's latency."""
    up = asyncio.Event()
    up.set()

    async def arrive(person: Resident, delay: float) -> None:
        await asyncio.sleep(delay)
        await person.file(chats, up, patience=patience, seconds=patience)

    tasks = [asyncio.create_task(arrive(p, i / rate)) for i, p in enumerate(people)]
    try:
        await asyncio.gather(*tasks)
    finally:
        await cancel(tasks)
    return [x for p in people for x in p.latencies]


async def live_round(
    emu: BotAPIEmulator, url: str, base: str, args: argparse.Namespace, bot_pid: int
) -> dict[str, object]:
    chats = Chats(emu)
    per_round = int(args.rate * args.seconds)
    # One more round first, without desks and not counted: the bot's first minutes of
    # filings (caches filling, the first statements compiled) belong to neither side.
    residents = make_residents(
        emu, range(FIRST_RESIDENT, FIRST_RESIDENT + per_round * (args.rounds + 1)), 0, 1
    )
    await filing_round(chats, residents[-per_round:], args.rate, args.step_timeout)
    await asyncio.sleep(args.pause)
    browsers = [await sign_in(url, base, FIRST_DESK + i) for i in range(args.desks)]
    without: list[tuple[str, float]] = []
    with_desks: list[tuple[str, float]] = []
    desks = Desks(browsers)
    done = 0
    rounds: list[tuple[bool, float, float, float, float]] = []
    try:
        for r in range(args.rounds):
            people = residents[r * per_round : (r + 1) * per_round]
            on = r % 2 == 1
            if on:
                desks = Desks(browsers, desks.refreshes, desks.failures)
                await desks.open()
            cpu = cpu_seconds(bot_pid), cpu_seconds(os.getpid()), time.perf_counter()
            try:
                got = await filing_round(chats, people, args.rate, args.step_timeout)
            finally:
                if on:
                    await desks.close()
            wall = time.perf_counter() - cpu[2]
            xs = [x for _, x in got]
            rounds.append(
                (
                    on,
                    percentile(xs, 0.5) if xs else float("nan"),
                    percentile(xs, 0.99) if xs else float("nan"),
                    (cpu_seconds(bot_pid) - cpu[0]) / wall,
                    (cpu_seconds(os.getpid()) - cpu[1]) / wall,
                )
            )
            (with_desks if on else without).extend(got)
            done += sum(p.done for p in people)
            await asyncio.sleep(args.pause)
    finally:
        for b in browsers:
            await b.close()
    return {
        "without": without,
        "with": with_desks,
        "refreshes": desks.refreshes,
        "desk failures": desks.failures,
        "done": done,
        "residents": len(residents),
        "rounds": rounds,
    }


# --- one store ----------------------------------------------------------------------------


async def run_store(kind: str, url: str, args: argparse.Namespace) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    per_round = int(args.rate * args.seconds)
    results: dict[int, dict[str, tuple[float, float]]] = {}
    largest = max(args.sizes)
    redis_url = args.redis_url if kind == "postgresql" else None
    prefix = f"bench-desk-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            db_url = url if kind == "postgresql" else f"sqlite+aiosqlite:///{Path(tmp) / f'{n}.db'}"
            live = n == largest and args.rounds > 0
            p = await prepare(
                db_url,
                n,
                now,
                per_round * (args.rounds + 1) if live else 0,
                args.desks if live else 0,
            )
            print(f"  {n:>9,} appeals filled in {p.filled.seconds:.0f} s", flush=True)
            async with emulator() as emu:
                port = free_port()
                bot = BotProcess(
                    emu,
                    db_url,
                    Path(tmp),
                    redis_url=redis_url,
                    cold=True,  # a real process start, as in production
                    extra_env={
                        "WEB_PORT": str(port),
                        "REDIS_PREFIX": prefix,
                        "LOG_LEVEL": "WARNING",
                    },
                )
                await bot.start()
                base = f"http://127.0.0.1:{port}"
                try:
                    results[n] = await pages(db_url, base, p, args.requests)
                    for name, (p50, p95) in results[n].items():
                        print(f"    {name:<20} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
                    if live:
                        assert bot.proc is not None
                        figures = await live_round(emu, db_url, base, args, bot.proc.pid)
                        report_live(figures, args)
                finally:
                    await bot.stop()
                    with contextlib.suppress(Exception):
                        await forget_redis(redis_url, prefix)
    small, big = min(results), max(results)
    print(f"  {kind}: {big:,} appeals against {small:,} (p95 ratio), goal p95 ≤ {GOAL_MS:.0f} ms")
    for name, (p50, p95) in results[big].items():
        s50, s95 = results[small][name]
        verdict = "ok" if p95 <= GOAL_MS else "OVER"
        print(
            f"    {name:<20} p50 {p50:7.1f} / {s50:6.1f} ms   p95 {p95:7.1f} / {s95:6.1f} ms"
            f"   x{p95 / s95:5.2f}   {verdict}"
        )


def report_live(figures: dict[str, object], args: argparse.Namespace) -> None:
    without = figures["without"]
    with_desks = figures["with"]
    refreshes = figures["refreshes"]
    assert isinstance(without, list) and isinstance(with_desks, list)
    assert isinstance(refreshes, list)
    print(
        f"  live round: residents filing at {args.rate:g}/s, {args.rounds} rounds of "
        f"{args.seconds:g} s, alternately without and with {args.desks} open desks"
    )
    print(f"    residents done: {figures['done']}/{figures['residents']}")
    rounds = figures["rounds"]
    assert isinstance(rounds, list)
    for i, (on, p50, p99, bot_cpu, bench_cpu) in enumerate(rounds):
        # A process near a whole core is saturated: its queue, not the desks, sets the p99.
        print(
            f"    round {i + 1} {'with' if on else 'without':<7} p50 {p50 * 1000:6.0f} ms, "
            f"p99 {p99 * 1000:6.0f} ms; CPU used: bot {bot_cpu:4.0%}, "
            f"emulator and residents {bench_cpu:4.0%}"
        )
    if not without or not with_desks:
        print("    no steps answered")
        return
    for label, got in (("without desks", without), ("with desks", with_desks)):
        xs = [x for _, x in got]
        print(
            f"    {label:<14} per step p50 {percentile(xs, 0.5) * 1000:6.0f} ms, "
            f"p99 {percentile(xs, 0.99) * 1000:6.0f} ms ({len(xs)} steps)"
        )
        for step in (NEW, CATEGORY_STEP, STILL, TEXT, CONFIRM):
            of = [x for n, x in got if n == step.name]
            if of:
                print(
                    f"      {step.name:<12} p50 {percentile(of, 0.5) * 1000:6.0f} ms, "
                    f"p99 {percentile(of, 0.99) * 1000:6.0f} ms ({len(of)})"
                )
    if refreshes:
        print(
            f"    desks' queue pushes: {len(refreshes)}, "
            f"{sum(refreshes) / len(refreshes) / 1024:.1f} KB each; "
            f"streams lost: {figures['desk failures']}"
        )
    p99_without = percentile([x for _, x in without], 0.99)
    p99_with = percentile([x for _, x in with_desks], 0.99)
    ratio = p99_with / p99_without
    print(f"    ratio p99 per step, with/without desks: x{ratio:.2f} (goal ≤ 1.20)")


async def run(args: argparse.Namespace) -> None:
    stores: list[tuple[str, str]] = [("sqlite", "")]
    if args.database_url:
        stores.append(("postgresql", args.database_url))
    if args.only:
        stores = [s for s in stores if s[0] == args.only]
    started = time.perf_counter()
    for kind, url in stores:
        print(f"store: {kind}", flush=True)
        await run_store(kind, url, args)
    print(f"whole run: {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--database-url", help="PostgreSQL database (its public schema is wiped!)")
    parser.add_argument("--redis-url", help="Redis for the PostgreSQL bot (a prefix of its own)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=40, help="timed GETs per page")
    parser.add_argument("--desks", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="filings started per second")
    parser.add_argument("--seconds", type=float, default=6.0, help="of filings per round")
    parser.add_argument("--rounds", type=int, default=4, help="0: no live round")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between rounds")
    parser.add_argument("--step-timeout", type=float, default=120.0)
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
