"""Filing conversations through the real Dispatcher and the Bot API emulator, against a
bare aiogram echo bot on the same harness in the same run.

Each filing is the resident's whole conversation: /new, a category, the description,
confirm (4 updates, each answered over HTTP; the confirm step includes delivering the
confirmation and the worker's task card from the outbox).
The echo bot answers each text with one sendMessage. Both run on the same emulator,
the same machine and the same event loop; the ratio of their figures is what we track.
A last round files again with the residents overlapping (``--rate`` a second), as they
do: its per-step p50 and p99, where writers meet at SQLite's one write lock.

    uv run --extra dev python bench/filing.py --filings 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest import mock

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update

from bot.app import bootstrap, create_bot
from bot.config import load_settings
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage import sqlite_one_hop as one_hop
from storage.clock import SystemClock
from storage.hierarchy import HierarchyRepo, NodeKind
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker
from storage.users import UserRepo

TOKEN = "123456:BENCH-TOKEN-gridbot"


class Timer:
    def __init__(self, bot: Bot, dp: Dispatcher) -> None:
        self.bot, self.dp = bot, dp
        self.latencies: list[float] = []

    async def feed(
        self, raw: dict[str, Any], then: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        update = Update.model_validate(raw, context={"bot": self.bot})
        started = time.perf_counter()
        await self.dp.feed_update(self.bot, update)
        if then is not None:
            await then()
        self.latencies.append(time.perf_counter() - started)


def figures(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(ordered) / sum(ordered), statistics.median(ordered) * 1000, p99 * 1000


async def bench_filing(
    emu: BotAPIEmulator, filings: int, *, plain: bool = False, rate: float = 0.0
) -> list[float]:
    """``plain``: SQLite through SQLAlchemy's own aiosqlite adapter, without
    storage/sqlite_one_hop.py (one trip a statement, writers in turn, statements holding
    the write lock run in place): what that patch earns, in the same run. ``rate``: the
    residents start ``rate`` a second, each filing while the others do (writers then
    meet at SQLite's one write lock), instead of one after another."""
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    if plain:
        with mock.patch.object(one_hop, "install", lambda *_a, **_k: None):
            engine = create_engine(url)
    else:
        engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    clock = SystemClock()
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        now = clock.now()
        d = await repo.create(kind=NodeKind.DISTRICT, code="D", name="牟平区", parent=None, now=now)
        s = await repo.create(kind=NodeKind.STREET, code="S", name="宁海街道", parent=d, now=now)
        c = await repo.create(kind=NodeKind.COMMUNITY, code="C", name="通海社区", parent=s, now=now)
        grids = [
            await repo.create(
                kind=NodeKind.GRID, code=f"G{i}", name=f"第{i + 1}网格", parent=c, now=now
            )
            for i in range(10)
        ]
        users = UserRepo(session)
        for i in range(filings):
            # One building each: no filing meets an open appeal "of the same kind next door".
            b = await repo.create(
                kind=NodeKind.BUILDING,
                code=f"B{i}",
                name=f"{i + 1}号楼",
                parent=grids[i % 10],
                now=now,
            )
            user = await users.touch(
                user_id=100_000 + i,
                first_name=f"居民{i}",
                last_name=None,
                username=None,
                telegram_language="zh",
                now=now,
            )
            user.consent_at, user.building_id = now, b.id
        await session.commit()
    settings = load_settings(
        bot_token=TOKEN, telegram_api_url=emu.base_url, bot_username="gridbot_bench_bot"
    )
    app = bootstrap(settings, sessionmaker, clock=clock)
    bot = app.bot
    timer = Timer(bot, app.dispatcher)
    steps: list[Callable[[EmulatedUser], Awaitable[None]]] = [
        lambda u: timer.feed(emu.send_command(u, "new", queue=False)),
        lambda u: timer.feed(emu.press_button(u, "环境卫生", queue=False)),
        lambda u: timer.feed(emu.send_text(u, "楼道里堆满了杂物，影响通行", queue=False)),
        # The confirmation is owed through the outbox: its delivery is part of the step.
        lambda u: timer.feed(
            emu.press_button(u, "确认提交", queue=False), app.delivery.deliver_pending
        ),
    ]
    try:

        async def resident(i: int) -> None:
            if rate:
                await asyncio.sleep(i / rate)
            user = emu.add_user(user_id=100_000 + i, first_name=f"居民{i}", language_code="zh")
            for step in steps:
                await step(user)
            text = emu.chat(user.id).last_bot_message
            assert text is not None and "#" in (text.text or ""), text

        if rate:
            await asyncio.gather(*(resident(i) for i in range(filings)))
        else:
            for i in range(filings):
                await resident(i)
        assert not emu.errors, emu.errors[:3]
    finally:
        await bot.session.close()
        await engine.dispose()
        tmp.cleanup()
    return timer.latencies


async def bench_echo(emu: BotAPIEmulator, updates: int) -> list[float]:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    settings = load_settings(bot_token=TOKEN, telegram_api_url=emu.base_url)
    bot = create_bot(settings)
    timer = Timer(bot, dp)
    try:
        for i in range(updates):
            user = emu.add_user(user_id=900_000 + i % 50, first_name="echo")
            await timer.feed(emu.send_text(user, f"你好 {i}", queue=False))
    finally:
        await bot.session.close()
    return timer.latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--filings", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="residents a second in the overlapping round"
    )
    args = parser.parse_args()
    emu = BotAPIEmulator(token=TOKEN, bot_username="gridbot_bench_bot")
    await emu.start()
    try:
        echo = await bench_echo(emu, args.filings * 7)
        filing = await bench_filing(emu, args.filings)
        plain = await bench_filing(emu, args.filings, plain=True)
    finally:
        await emu.stop()
    # A fresh emulator: one holding the chats of the rounds before costs more a request.
    emu = BotAPIEmulator(token=TOKEN, bot_username="gridbot_bench_bot")
    await emu.start()
    try:
        crowd = await bench_filing(emu, args.filings, rate=args.rate)
    finally:
        await emu.stop()
    e_rate, e_p50, e_p99 = figures(echo)
    f_rate, f_p50, f_p99 = figures(filing)
    p_rate, p_p50, p_p99 = figures(plain)
    print(f"{'':<30} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'updates':>8}")
    print(f"{'echo (bare aiogram)':<30} {e_rate:>10.1f} {e_p50:>8.2f} {e_p99:>8.2f} {len(echo):>8}")
    print(
        f"{'filing conversations':<30} {f_rate:>10.1f} {f_p50:>8.2f} {f_p99:>8.2f} {len(filing):>8}"
    )
    name = "  without sqlite_one_hop"
    print(f"{name:<30} {p_rate:>10.1f} {p_p50:>8.2f} {p_p99:>8.2f} {len(plain):>8}")
    print(
        f"ratio filing/echo: throughput x{f_rate / e_rate:.3f}, p50 x{f_p50 / e_p50:.1f}, "
        f"p99 x{f_p99 / e_p99:.1f}"
    )
    print(f"sqlite_one_hop: throughput x{f_rate / p_rate:.2f} of SQLAlchemy's own adapter")
    _, c_p50, c_p99 = figures(crowd)
    print(
        f"overlapping: {args.filings} residents starting {args.rate:g} a second, per step "
        f"p50 {c_p50:.1f} ms, p99 {c_p99:.1f} ms (x{c_p99 / f_p99:.1f} the p99 one at a time)"
    )


if __name__ == "__main__":
    asyncio.run(main())
