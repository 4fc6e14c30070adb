"""The real bot killed with SIGKILL at random moments while residents file appeals, and
the same bot under a burst of 200 residents: what was lost, what came twice, how long
people waited.

The bot runs as its own process (``python -m bot.cli run``, long polling) against the Bot
API emulator in this process, on SQLite (always; one process, dialogs in memory) and on
PostgreSQL with Redis (when TEST_DATABASE_URL and TEST_REDIS_URL are set; dialogs and
chat locks in Redis under a REDIS_PREFIX of this run's own).

Kill round: ``--residents`` residents of one building (its grid has one grid worker)
arrive at random moments within ``--spread`` seconds and file, each the way a person
does: /new, press «环境卫生» («仍然提交» when neighbours already reported the same), type
the description, press «确认提交», reading each reply (up to ``--think`` seconds) before
acting again. Meanwhile the bot is killed ``--kills`` times at random moments (seeded by
``--seed``; ``--min-delay`` to ``--max-delay`` seconds after it answered again) and
started again at once. A person reacts to whatever the bot answers, going on from its
newest message: presses «确认提交» again while the summary shows it, answers the question
shown, or starts again with /new when the conversation is gone (a main menu, a "stale
button" notice). A reply that does not come within ``--patience`` seconds is waited for
until the bot answers again; if it still has not come, the person goes on from the chat
as it is (a "retried" step). A resident is done on seeing «已提交» (or «已经提交过了»).
After every restart a spare resident's /menu, sent right at the kill, times the stall:
from starting the new process until that /menu is answered; the baseline is the same
figure for the first, cold start.
At the end the outbox drains (every resident saw «已提交», the grid worker has a task
card for every appeal in the database), then:

- lost: residents told «已提交» with no appeal in the database;
- duplicate appeals: appeals beyond one per resident;
- duplicate pushes: task cards for the same appeal number (#000123) beyond the first;
- duplicate confirmations: «已提交» messages beyond one per resident;
- error answers: messages or button answers saying «出了点问题».

Load round: ``--load`` residents file at once (no think time, no kills) on a fresh
database and bot; per step, the time from the action until its reply is in the chat
(for «确认提交» the form edited to «已提交»; after a crash, the outbox's message). The baseline is
the same latency for one resident alone (``--baseline-filings`` filings one after
another), measured in the same run on the same bot just before.

    .venv/bin/python bench/reliability.py
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/reliability.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from emulator import BotAPIEmulator, EmulatedUser, EmulatorUsageError
from storage.appeals import Appeal
from storage.clock import SystemClock
from storage.migrate import upgrade
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.factories import build_tree
from tests.processes import BOT_USERNAME, TOKEN, BotProcess, database

WORKER, COMMUNITY = 2001, 3001
FIRST_RESIDENT = 10_000
DESCRIPTION = "楼道里堆满了杂物"
FILED = "已提交"
ALREADY = "已经提交过了"
ERROR = "出了点问题"
TASK_CARD = "新诉求"
NUMBER = re.compile(r"#(\d{6})")


# --- the emulator's chats -----------------------------------------------------------------


class Chats:
    """Reads the emulator's chats and wakes whoever waits on one when it changes."""

    def __init__(self, emu: BotAPIEmulator) -> None:
        self.emu = emu
        self._changed: dict[int, asyncio.Event] = {}
        emu.on_event(self._on_event)

    def _on_event(self, event: dict[str, Any]) -> None:
        chat_id = event.get("chat_id")
        if isinstance(chat_id, int) and (waiting := self._changed.pop(chat_id, None)):
            waiting.set()

    async def wait(self, chat_id: int, predicate: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            left = deadline - loop.time()
            if left <= 0:
                return False
            changed = self._changed.setdefault(chat_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, 0.1))
        return True

    def texts(self, chat_id: int) -> list[str]:
        return [m.text or m.caption or "" for m in self.emu.chat(chat_id).bot_messages]

    def snapshot(self, chat_id: int) -> dict[int, str]:
        return {
            m.message_id: m.text or m.caption or "" for m in self.emu.chat(chat_id).bot_messages
        }

    def toasts(self, chat_id: int) -> int:
        """Button answers with words (the bot's notices of a stale button or an error)."""
        return sum(bool(a.get("text")) for a in self.emu.chat(chat_id).callback_answers)

    def replied(
        self, chat_id: int, before: dict[int, str], toasts: int, expects: tuple[str, ...]
    ) -> bool:
        """Since ``before``: a bot message sent or edited to say one of ``expects``, or any
        new bot message, or a button answer with words (what a person reacts to)."""
        return self.toasts(chat_id) > toasts or any(
            message_id not in before
            or (before[message_id] != text and any(e in text for e in expects))
            for message_id, text in self.snapshot(chat_id).items()
        )

    def filed(self, chat_id: int) -> bool:
        return any(FILED in t or ALREADY in t for t in self.texts(chat_id))

    def answered_since(self, chat_id: int, mark: int) -> bool:
        """The bot called a method on this chat since request number ``mark``."""
        return any(r.chat_id == chat_id and r.ok for r in self.emu.requests[mark:])

    def errors_shown(self, chat_id: int) -> int:
        answers = [str(a.get("text") or "") for a in self.emu.chat(chat_id).callback_answers]
        return sum(ERROR in t for t in [*self.texts(chat_id), *answers])


# --- residents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    act: Callable[[BotAPIEmulator, EmulatedUser], object]
    expects: tuple[str, ...]


NEW = Step("/new", lambda e, u: e.send_command(u, "new"), ("请选择问题的",))
CATEGORY = Step("category", lambda e, u: e.press_button(u, "环境卫生"), ("用文字描述", "类似问题"))
STILL = Step("still file", lambda e, u: e.press_button(u, "仍然提交"), ("用文字描述",))
TEXT = Step("description", lambda e, u: e.send_text(u, DESCRIPTION), ("请核对",))
CONFIRM = Step("confirm", lambda e, u: e.press_button(u, "确认提交"), (FILED, ALREADY))


def next_step(emu: BotAPIEmulator, user_id: int) -> Step:
    """What a person does next, reading the newest message from the bot."""
    last = emu.chat(user_id).last_bot_message
    if last is None:
        return NEW
    buttons = [label for row in last.inline_buttons() for label, _ in row]
    if any("确认提交" in b for b in buttons):
        return CONFIRM
    if any("仍然提交" in b for b in buttons):
        return STILL
    if "环境卫生" in buttons:
        return CATEGORY
    if "用文字描述" in (last.text or ""):
        return TEXT
    return NEW


@dataclass
class Resident:
    user: EmulatedUser
    think: float
    rng: random.Random
    arrival: float = 0.0  # seconds after the start of filing
    latencies: list[tuple[str, float]] = field(default_factory=list)  # (step, seconds)
    late: int = 0  # replies that came only after the patience ran out
    retried: int = 0  # steps whose reply never came
    done: bool = False
    gave_up: bool = False

    async def file(
        self, chats: Chats, up: asyncio.Event, *, patience: float, seconds: float
    ) -> None:
        """Files one appeal, step by step, reacting to each reply. A reply that does not
        come within ``patience`` is waited for until the bot is up again (``up``); then
        the person goes on from what the chat shows. A button answered with a notice
        (stale, error) makes them start again with /new, as the notice asks."""
        emu, uid = chats.emu, self.user.id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        start_again = False
        while loop.time() < deadline:
            if chats.filed(uid):
                self.done = True
                return
            step = NEW if start_again else next_step(emu, uid)
            before, toasts = chats.snapshot(uid), chats.toasts(uid)

            def replied(
                step: Step = step, before: dict[int, str] = before, n: int = toasts
            ) -> bool:
                return chats.replied(uid, before, n, step.expects) or chats.filed(uid)

            started = time.perf_counter()
            try:
                step.act(emu, self.user)
            except EmulatorUsageError:  # the button went away meanwhile: look again
                await asyncio.sleep(0.2)
                continue
            left = max(0.0, deadline - loop.time())
            answered = await chats.wait(uid, replied, min(patience, left))
            if not answered:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(up.wait(), max(0.0, deadline - loop.time()))
                answered = replied()
                self.late += answered
                self.retried += not answered
            if answered:
                self.latencies.append((step.name, time.perf_counter() - started))
            start_again = chats.toasts(uid) > toasts
            if self.think:
                await asyncio.sleep(self.rng.uniform(0.1, self.think))
        self.done = chats.filed(uid)
        self.gave_up = not self.done


def make_residents(emu: BotAPIEmulator, ids: range, think: float, seed: int) -> list[Resident]:
    people = []
    for user_id in ids:
        user = emu.add_user(user_id=user_id, first_name=f"居民{user_id}", language_code="zh-hans")
        emu.world.chats[user_id].opened = True
        people.append(Resident(user, think, random.Random(seed * 100_003 + user_id)))
    return people


# --- database -----------------------------------------------------------------------------


async def seed(url: str, residents: range) -> None:
    """The small district of tests.factories, ``residents`` in its first building
    (consented, bound), a grid worker for its grid and staff for its community."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        clock = SystemClock()
        tree = await build_tree(sessionmaker, clock)
        async with sessionmaker() as session:
            now = clock.now()
            for user_id in residents:
                session.add(
                    User(
                        id=user_id,
                        first_name=f"居民{user_id}",
                        telegram_language="zh-hans",
                        building_id=tree.building.id,
                        consent_at=now,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            for user_id, role, node in (
                (WORKER, Role.WORKER, tree.grid),
                (COMMUNITY, Role.COMMUNITY_STAFF, tree.community),
            ):
                session.add(
                    User(id=user_id, first_name=f"staff{user_id}", created_at=now, last_seen_at=now)
                )
                await session.flush()
                await StaffRepo(session).grant(
                    user_id=user_id, role=role, node=node, granted_by=None, now=now
                )
            await session.commit()
    finally:
        await engine.dispose()


async def appeals_by_resident(url: str) -> tuple[Counter[int], list[str], int]:
    """Appeals per resident, every appeal's number, outbox rows neither sent nor failed."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            appeals = (await session.execute(select(Appeal))).scalars().all()
            owed = (
                await session.execute(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
                )
            ).scalar_one()
            residents = Counter(a.resident_id for a in appeals if a.resident_id is not None)
            return residents, [a.number for a in appeals], int(owed)
    finally:
        await engine.dispose()


async def forget_redis(redis_url: str | None, prefix: str) -> None:
    if not redis_url:
        return
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    emu = BotAPIEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


# --- figures ------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    return "timed out" if value is None else f"{value:.2f} s"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, value: object) -> None:
    print(f"  {label + ':':<42} {value}")


def rejected(emu: BotAPIEmulator) -> str:
    """The Bot API calls the emulator refused, by method and error."""
    kinds = Counter(f"{r.method}: {(r.error or '')[:60]}" for r in emu.errors)
    return f"{sum(kinds.values())}" + "".join(f"; {n} x {k}" for k, n in kinds.most_common(3))


def cards(chats: Chats) -> Counter[str]:
    """Task cards in the grid worker's chat, by appeal number."""
    return Counter(
        m.group(1) for t in chats.texts(WORKER) if TASK_CARD in t and (m := NUMBER.search(t))
    )


@dataclass
class Stage:
    """The emulator, its chats and one bot process, started, killed and started again;
    ``up`` is clear from a kill until the restarted bot answered the probe."""

    emu: BotAPIEmulator
    chats: Chats
    bot: BotProcess
    probe: EmulatedUser
    up: asyncio.Event = field(default_factory=asyncio.Event)

    async def restart(self, *, kill: bool, seconds: float) -> float | None:
        """Kill the bot (if asked) and start it again; seconds from starting the process
        until the probe's /menu, sent at the kill, is answered (None: not within
        ``seconds``, or the process did not start)."""
        self.up.clear()
        try:
            if kill:
                await self.bot.kill()
            mark = len(self.emu.requests)
            self.emu.send_command(self.probe, "menu")
            started = time.perf_counter()
            try:
                await self.bot.start()
            except AssertionError:  # BotProcess's "the bot did not start"
                return None
            answered = await self.chats.wait(
                self.probe.id, lambda: self.chats.answered_since(self.probe.id, mark), seconds
            )
            return time.perf_counter() - started if answered else None
        finally:
            self.up.set()


@contextlib.asynccontextmanager
async def stage(
    kind: str, residents: range, redis_url: str | None
) -> AsyncIterator[tuple[Stage, str]]:
    """A fresh database (``residents`` and one more, the probe, seeded), the emulator
    with those people and the staff, and a bot process not yet started; stopped (or
    killed) and cleaned up afterwards."""
    prefix = f"bench-rel-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        async with database(kind, Path(tmp)) as url, emulator() as emu:
            await seed(url, range(residents.start, residents.stop + 1))
            for staff in (WORKER, COMMUNITY):
                emu.add_user(user_id=staff, first_name=f"staff{staff}", language_code="zh-hans")
                emu.world.chats[staff].opened = True
            probe = emu.add_user(residents.stop, first_name="探针", language_code="zh-hans")
            emu.world.chats[probe.id].opened = True
            bot = BotProcess(
                emu,
                url,
                Path(tmp),
                redis_url=redis_url,
                extra_env={"REDIS_PREFIX": prefix},
                cold=True,  # a restart's stall is measured from a real process start
            )
            try:
                yield Stage(emu, Chats(emu), bot, probe), url
            finally:
                code = await bot.stop()
                if code not in (0, None):
                    line("bot exit code on stop", code)
                with contextlib.suppress(Exception):
                    await forget_redis(redis_url, prefix)


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- kill round ---------------------------------------------------------------------------


async def kill_round(kind: str, args: argparse.Namespace, redis_url: str | None) -> None:
    print(
        f"kill round: {args.residents} residents arriving over {args.spread:.0f} s, "
        f"{args.kills} kills (seed {args.seed}), think up to {args.think:.1f} s, "
        f"patience {args.patience:.0f} s"
    )
    rng = random.Random(args.seed)
    ids = range(FIRST_RESIDENT, FIRST_RESIDENT + args.residents)
    async with stage(kind, ids, redis_url) as (st, url):
        chats = st.chats
        people = make_residents(st.emu, ids, args.think, args.seed)
        for person in people:
            person.arrival = rng.uniform(0, args.spread)

        async def arrive(person: Resident) -> None:
            await asyncio.sleep(person.arrival)
            await person.file(chats, st.up, patience=args.patience, seconds=args.resident_timeout)

        filing: list[asyncio.Task[None]] = []
        stalls: list[float | None] = []
        round_started = time.perf_counter()
        try:
            async with asyncio.timeout(args.round_timeout):
                cold = await st.restart(kill=False, seconds=args.stall_timeout)
                if cold is None:
                    line("cold start", f"timed out\n{st.bot.log()[-1500:]}")
                    return
                filing_started = time.perf_counter()
                filing = [asyncio.create_task(arrive(p)) for p in people]
                for n in range(1, args.kills + 1):
                    await asyncio.sleep(rng.uniform(args.min_delay, args.max_delay))
                    at = time.perf_counter() - filing_started
                    mid = sum(p.arrival <= at and not (p.done or p.gave_up) for p in people)
                    stall = await st.restart(kill=True, seconds=args.stall_timeout)
                    stalls.append(stall)
                    print(
                        f"  kill {n} at {at:5.1f} s into filing, {mid:>3} residents "
                        f"mid-filing: stall {seconds(stall)}"
                    )
                    if stall is None:
                        print(st.bot.log()[-1500:])
                        break
                await asyncio.gather(*filing)
                filed_at = time.perf_counter() - filing_started

                async def drained() -> bool:
                    told = all(any(FILED in t for t in chats.texts(p.user.id)) for p in people)
                    _, numbers, _ = await appeals_by_resident(url)
                    return told and set(numbers) <= set(cards(chats))

                drained_at: float | None = None
                loop = asyncio.get_running_loop()
                drain_deadline = loop.time() + args.drain_timeout
                while loop.time() < drain_deadline:
                    if await drained():
                        drained_at = time.perf_counter() - filing_started
                        break
                    await asyncio.sleep(1.0)
                await asyncio.sleep(args.settle)  # late copies would show up here
                total = time.perf_counter() - round_started
        except TimeoutError:
            line("round", f"timed out after {args.round_timeout:.0f} s")
            return
        finally:
            await cancel(filing)

        counts, numbers, owed = await appeals_by_resident(url)
        told = [p for p in people if any(FILED in t for t in chats.texts(p.user.id))]
        pushed = cards(chats)
        confirmations = [sum(FILED in t for t in chats.texts(p.user.id)) for p in people]
        latencies = [x for p in people for _, x in p.latencies]
        measured = [s for s in stalls if s is not None]
        errors = sum(chats.errors_shown(c) for c in [*ids, st.probe.id, WORKER, COMMUNITY])
        line("residents told filed", f"{len(told)}/{len(people)}")
        line("residents who gave up (timed out)", sum(p.gave_up for p in people))
        line("appeals in the database", f"{sum(counts.values())} for {len(counts)} residents")
        line("lost", sum(counts[p.user.id] == 0 for p in told))
        line("duplicate appeals", sum(c - 1 for c in counts.values() if c > 1))
        line("duplicate pushes", sum(c - 1 for c in pushed.values()))
        line("appeals without a task card", len(set(numbers) - set(pushed)))
        line(
            "duplicate confirmations",
            f"{sum(c - 1 for c in confirmations if c > 1)} "
            f"(to {sum(c > 1 for c in confirmations)} residents)",
        )
        line("error answers", errors)
        line("requests the emulator rejected", rejected(st.emu))
        line("cold start until first answer", seconds(cold))
        if not stalls:
            line("longest stall after restart", "no kills")
        elif len(measured) < len(stalls):
            line("longest stall after restart", "timed out")
        else:
            assert cold is not None
            longest = max(measured)
            line("longest stall after restart", f"{seconds(longest)} (x{longest / cold:.2f} cold)")
        line("replies late (after the patience)", sum(p.late for p in people))
        line("steps retried (reply never came)", sum(p.retried for p in people))
        line("longest wait for one reply", seconds(max(latencies) if latencies else None))
        line("all residents done after", seconds(filed_at))
        line("outbox drained after", seconds(drained_at))
        line("outbox rows still owed at the end", owed)
        line("total time", seconds(total))


# --- load round ---------------------------------------------------------------------------


async def load_round(kind: str, args: argparse.Namespace, redis_url: str | None) -> None:
    print(
        f"load round: {args.load} residents at once; baseline: one resident alone, "
        f"{args.baseline_filings} filings one after another"
    )
    lone_ids = range(FIRST_RESIDENT, FIRST_RESIDENT + args.baseline_filings)
    crowd_ids = range(lone_ids.stop, lone_ids.stop + args.load)
    async with stage(kind, range(lone_ids.start, crowd_ids.stop), redis_url) as (st, url):
        chats = st.chats
        lone = make_residents(st.emu, lone_ids, 0, args.seed)
        crowd = make_residents(st.emu, crowd_ids, 0, args.seed)
        patience, limit = args.step_timeout, args.resident_timeout
        tasks: list[asyncio.Task[None]] = []
        try:
            async with asyncio.timeout(args.round_timeout):
                if await st.restart(kill=False, seconds=args.stall_timeout) is None:
                    line("cold start", f"timed out\n{st.bot.log()[-1500:]}")
                    return
                for person in lone:
                    await person.file(chats, st.up, patience=patience, seconds=limit)
                started = time.perf_counter()
                tasks = [
                    asyncio.create_task(p.file(chats, st.up, patience=patience, seconds=limit))
                    for p in crowd
                ]
                await asyncio.gather(*tasks)
                elapsed = time.perf_counter() - started
        except TimeoutError:
            line("round", f"timed out after {args.round_timeout:.0f} s")
            return
        finally:
            await cancel(tasks)

        counts, _, _ = await appeals_by_resident(url)
        baseline = [x for p in lone for _, x in p.latencies]
        latencies = [x for p in crowd for _, x in p.latencies]
        done = sum(p.done for p in crowd)
        errors = sum(chats.errors_shown(c) for c in [*lone_ids, *crowd_ids])
        line("residents done", f"{done}/{len(crowd)}")
        line("completion time", seconds(elapsed) if done == len(crowd) else "timed out")
        line("steps unanswered within the step timeout", sum(p.retried for p in crowd))
        if latencies and baseline:
            p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
            b50, b95 = percentile(baseline, 0.5), percentile(baseline, 0.95)
            line(
                "per-step latency, crowd",
                f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms ({len(latencies)} steps)",
            )
            line(
                "per-step latency, one resident alone",
                f"p50 {b50 * 1000:.0f} ms, p95 {b95 * 1000:.0f} ms ({len(baseline)} steps)",
            )
            for name in (NEW, CATEGORY, STILL, TEXT, CONFIRM):
                of_step = [x for p in crowd for n, x in p.latencies if n == name.name]
                if of_step:
                    line(
                        f"  crowd, {name.name}",
                        f"p50 {percentile(of_step, 0.5) * 1000:.0f} ms, "
                        f"p95 {percentile(of_step, 0.95) * 1000:.0f} ms ({len(of_step)} steps)",
                    )
            line("ratio p95 crowd / p95 alone", f"x{p95 / b95:.1f}")
            line("ratio p50 crowd / p50 alone", f"x{p50 / b50:.1f}")
        else:
            line("per-step latency", "no answered steps")
        line("appeals in the database", f"{sum(counts.values())} for {len(counts)} residents")
        line("duplicate appeals", sum(c - 1 for c in counts.values() if c > 1))
        line("error answers", errors)
        line("requests the emulator rejected", rejected(st.emu))


async def run(args: argparse.Namespace) -> None:
    stores: list[tuple[str, str | None]] = [("sqlite", None)]
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"):
        stores.append(("postgresql", os.environ["TEST_REDIS_URL"]))
    started = time.perf_counter()
    for kind, redis_url in stores:
        print(f"store: {kind}" + (" + Redis" if redis_url else ""))
        rounds = [(args.residents > 0, kill_round), (args.load > 0, load_round)]
        for wanted, round_ in rounds:
            if not wanted:
                continue
            try:
                await round_(kind, args, redis_url)
            except Exception as exc:  # one store or round failing must not hide the others
                line("round failed", f"{type(exc).__name__}: {exc}")
        print()
    print(f"whole run: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--residents", type=int, default=40, help="residents in the kill round")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds residents arrive in")
    parser.add_argument("--think", type=float, default=1.0, help="max seconds between steps")
    parser.add_argument("--patience", type=float, default=10.0, help="seconds before retrying")
    parser.add_argument("--min-delay", type=float, default=0.5, help="seconds up before a kill")
    parser.add_argument("--max-delay", type=float, default=3.0)
    parser.add_argument("--load", type=int, default=200, help="residents in the load round")
    parser.add_argument("--baseline-filings", type=int, default=5)
    parser.add_argument("--step-timeout", type=float, default=90.0, help="load round")
    parser.add_argument("--stall-timeout", type=float, default=60.0)
    parser.add_argument("--resident-timeout", type=float, default=120.0)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=1.5, help="seconds to catch late copies")
    parser.add_argument("--round-timeout", type=float, default=300.0)
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also in a file
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
