"""A notice to thousands of residents through the Bot API emulator, with 1% of them having
blocked the bot and a 429 (retry_after 3 s, with Telegram's penalty) injected every
~2,000 messages: how close to the configured rate it goes, what is lost or comes twice,
what a kill -9 halfway costs, and how long an urgent appeal waits behind it.

The emulator counts Telegram's flood limits (30 messages/s per bot, 1/s per chat) without
enforcing them: every breach is a violation. Per store, on SQLite always and on
PostgreSQL (+ Redis for the bot process) when TEST_DATABASE_URL and TEST_REDIS_URL are
set (``--stores``, ``--rounds`` pick):

1. ``broadcast``: the bot's own Delivery and Sender in this process (built by
   ``bot.app.bootstrap`` and started with its scheduler, so the notice's progress job
   finishes it). The sustained rate of copies let through (sent, or refused with 403:
   Telegram counts both) ÷ the configured rate (``--rate``, the bot's SEND_RATE),
   without the retry_after pauses and raw; lost (outbox rows neither sent nor failed at
   the end, and residents not blocked who never received a copy); duplicated (copies
   beyond one per chat in the emulator); blocked as the notice's progress counts them;
   flood violations. Baselines measured first in the same run: the Sender alone (no
   outbox, no database) pacing ``--baseline-messages`` messages at the configured rate,
   and at 95% of it; the CPU this process spends per message in each.
2. ``kill``: the same broadcast by the real bot (``python -m bot.cli run``, SEND_RATE
   set) killed with SIGKILL once half the copies are out, and
   started again at once: lost, duplicates (against the copies the emulator had
   delivered but the outbox had not recorded at the kill: at least once, at most one
   extra per message in flight), the time from the restart until sending resumes
   against the cold start's same figure, the bot process's CPU per copy.
3. Urgent appeals (一键呼叫), during ``broadcast``: ``--urgent-samples`` filed spread over
   it, timed from filing until both staff pushes are in the emulator, against the same
   appeal filed with the outbox idle just before; one more filed right after an injected
   429 (Telegram forbids sending until retry_after passes), shown with its time in the
   pause.

Notices wait out quiet hours (22:00-07:00 Asia/Shanghai by default): within them the
notice is sent urgent (``--urgent-notice auto``): besides going out at once (nobody
here muted notices), that only changes its header.

    .venv/bin/python bench/notices.py --recipients 2000 --stores sqlite
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/notices.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, bootstrap
from bot.config import load_settings
from bot.sending import Sender
from emulator import BotAPIEmulator
from emulator.limits import Limits
from storage.appeals import AppealPolicy, AppealService, Draft
from storage.clock import SystemClock
from storage.hierarchy import Node
from storage.migrate import upgrade
from storage.notices import AudienceRole, Notice, NoticeService, NoticeState, Progress
from storage.notices.quiet import Choice
from storage.notices.service import COPY, Content, NoticeConfig
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.factories import Tree, build_tree
from tests.processes import BOT_USERNAME, TOKEN, BotProcess, database

WORKER, COMMUNITY, AUTHOR = 2001, 3001, 4001  # grid worker, community staff, street officer
STAFF = (WORKER, COMMUNITY)  # who an urgent appeal is pushed to
FIRST_RESIDENT = 100_000
FIRST_FILER = 90_000  # residents of another building who file the urgent appeals
FIRST_BARE = 50_000  # chats only the emulator knows: the bare Sender's baseline
BODY = "【停水通知】明天 9:00 至 17:00 检修供水管道，请提前储水。"
MARK = "停水通知"
TELEGRAM_RATE = 30  # messages/s per bot the emulator counts against
RETRY = re.compile(r"retry after (\d+)")


def line(label: str, value: object) -> None:
    print(f"  {label + ':':<52} {value}")


def seconds(value: float | None) -> str:
    return "timed out" if value is None else f"{value:.2f} s"


# --- the people ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    residents: list[int]  # the notice's audience
    blocked: list[int]  # of them, those who blocked the bot (403 in the emulator)
    filers: list[int]  # residents of another building, one per urgent appeal

    @classmethod
    def of(cls, recipients: int, filers: int) -> Cast:
        residents = list(range(FIRST_RESIDENT, FIRST_RESIDENT + recipients))
        return cls(residents, residents[50::100], list(range(FIRST_FILER, FIRST_FILER + filers)))


async def seed(url: str, cast: Cast) -> Tree:
    """The district of tests.factories: the residents consented and bound to its first
    building (inserted in bulk), the filers to its second, a grid worker, community
    staff and the street officer who sends the notice."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        clock = SystemClock()
        tree = await build_tree(sessionmaker, clock)
        now = clock.now()

        def resident(user_id: int, building: Node) -> dict[str, object]:
            return {
                "id": user_id,
                "first_name": f"居民{user_id}",
                "telegram_language": "zh-hans",
                "building_id": building.id,
                "consent_at": now,
                "created_at": now,
                "last_seen_at": now,
            }

        rows = [resident(u, tree.building) for u in cast.residents]
        rows += [resident(u, tree.building2) for u in cast.filers]
        rows += [
            {"id": u, "first_name": f"staff{u}", "created_at": now, "last_seen_at": now}
            for u in (WORKER, COMMUNITY, AUTHOR)
        ]
        async with sessionmaker() as session:
            for start in range(0, len(rows), 2000):
                await session.execute(insert(User), rows[start : start + 2000])
            staff = StaffRepo(session)
            for user_id, role, node in (
                (WORKER, Role.WORKER, tree.grid),
                (COMMUNITY, Role.COMMUNITY_STAFF, tree.community),
                (AUTHOR, Role.STREET_STAFF, tree.street),
            ):
                await staff.grant(user_id=user_id, role=role, node=node, granted_by=None, now=now)
            await session.commit()
        return tree
    finally:
        await engine.dispose()


def register(emu: BotAPIEmulator, cast: Cast) -> None:
    """Everyone has a chat with the bot open; the blocked ones answer 403."""
    for user_id in [*cast.residents, *cast.filers, WORKER, COMMUNITY, AUTHOR]:
        emu.add_user(user_id=user_id, first_name=f"居民{user_id}", language_code="zh-hans")
        emu.world.chats[user_id].opened = True
    emu.block(*cast.blocked)


def quiet_now() -> bool:
    """Whether the default quiet hours (22:00-07:00, Asia/Shanghai) hold notices now."""
    return Choice().quiet_until(SystemClock().now(), NoticeConfig().zone) is not None


async def send_notice(
    sessionmaker: async_sessionmaker[AsyncSession], tree: Tree, *, urgent: bool
) -> int:
    async with sessionmaker() as session:
        node = await session.get(Node, tree.building.id)
        assert node is not None
        notice = await NoticeService(session, SystemClock().now()).send(
            author_id=AUTHOR,
            node=node,
            roles=[AudienceRole.RESIDENTS],
            content=Content(chat_id=AUTHOR, message_id=1, media=None, body=BODY, entities=[]),
            urgent=urgent,
        )
        await session.commit()
        return notice.id


async def notice_state(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int
) -> tuple[str, Progress]:
    async with sessionmaker() as session:
        notice = await session.get(Notice, notice_id)
        assert notice is not None
        return notice.state, await NoticeService(session, SystemClock().now()).progress(notice)


async def in_flight(sessionmaker: async_sessionmaker[AsyncSession], notice_id: int) -> list[int]:
    """Recipients whose copy is claimed but neither recorded sent nor failed."""
    async with sessionmaker() as session:
        stmt = select(OutboxMessage.user_id).where(
            OutboxMessage.kind == COPY,
            OutboxMessage.subject_id == notice_id,
            OutboxMessage.claimed_at.is_not(None),
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
        )
        return [int(u) for u in (await session.execute(stmt)).scalars()]


async def settled(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int, user_ids: list[int]
) -> bool:
    if not user_ids:
        return True
    async with sessionmaker() as session:
        stmt = select(OutboxMessage.id).where(
            OutboxMessage.kind == COPY,
            OutboxMessage.subject_id == notice_id,
            OutboxMessage.user_id.in_(user_ids),
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
        )
        return (await session.execute(stmt.limit(1))).first() is None


async def wait_done(
    sessionmaker: async_sessionmaker[AsyncSession],
    notice_id: int,
    tally: Tally,
    limit: float,
) -> float | None:
    """Seconds until the notice's progress job marked it done (None: not within
    ``limit``); a progress line every minute."""
    started = time.perf_counter()
    shown = started
    while (elapsed := time.perf_counter() - started) < limit:
        state, _ = await notice_state(sessionmaker, notice_id)
        if state == NoticeState.DONE:
            return elapsed
        if time.perf_counter() - shown >= 60:
            tally.scan()
            print(f"    … {len(tally.sends)} copies out after {elapsed:.0f} s")
            shown = time.perf_counter()
        await asyncio.sleep(1.0)
    return None


# --- what the emulator saw ----------------------------------------------------------------


@dataclass
class Tally:
    """The emulator's requests, read as they come: notice copies let through (sent, or
    refused with 403 by a blocked chat; Telegram counts both), copies received per chat,
    the pauses every injected 429 imposed, pushes to staff."""

    emu: BotAPIEmulator
    recipients: frozenset[int]
    seen: int = 0
    sends: list[float] = field(default_factory=list)  # wall-clock times of copies let through
    received: Counter[int] = field(default_factory=Counter)  # copies delivered, per chat
    pauses: list[tuple[float, float]] = field(default_factory=list)
    staff_cards: dict[int, list[float]] = field(default_factory=dict)

    def scan(self) -> None:
        requests = self.emu.requests
        for r in requests[self.seen :]:
            if r.status == 429:
                match = RETRY.search(r.error or "")
                end = r.at + (int(match.group(1)) if match else 1)
                # A refusal inside a pause is the penalty, not a new pause.
                if not self.pauses or r.at > self.pauses[-1][1]:
                    self.pauses.append((r.at, end))
                continue
            if r.method != "sendMessage":
                continue
            if r.chat_id in self.recipients and MARK in str(r.params.get("text", "")):
                self.sends.append(r.at)
                if r.ok:
                    self.received[r.chat_id] += 1
            elif r.chat_id in STAFF and r.ok:
                self.staff_cards.setdefault(r.chat_id, []).append(r.at)
        self.seen = len(requests)

    def rate(self, until: float = float("inf")) -> tuple[float, float, float, float, int]:
        """(raw rate, rate without the 429 pauses, span, paused seconds, copies) over the
        copies let through before ``until``."""
        sends = sorted(t for t in self.sends if t < until)
        if len(sends) < 2:
            return 0.0, 0.0, 0.0, 0.0, len(sends)
        first, last = sends[0], sends[-1]
        span = last - first
        paused = sum(max(0.0, min(e, last) - max(s, first)) for s, e in self.pauses)
        return (len(sends) - 1) / span, (len(sends) - 1) / (span - paused), span, paused, len(sends)

    def first_send_after(self, moment: float) -> float | None:
        later = [t for t in self.sends if t > moment]
        return min(later) if later else None


def violations(emu: BotAPIEmulator, *, since: int, tally: Tally) -> str:
    """Flood violations from the ``since``-th on, by kind, and how many came in the
    second after a 429's pause ended."""
    found = emu.violations[since:]
    kinds = Counter(v.kind for v in found)
    detail = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    wall = time.time() - emu.monotonic()  # the flood clock's readings as wall-clock time
    after = sum(any(0 <= v.at + wall - end <= 1.0 for _, end in tally.pauses) for v in found)
    return (
        f"{len(found)}"
        + (f" ({detail})" if detail else "")
        + (f"; {after} of them in the second after a 429 pause" if tally.pauses else "")
    )


def first_request(emu: BotAPIEmulator, method: str, after: float) -> float | None:
    return next((r.at for r in emu.requests if r.method == method and r.at > after), None)


def outcome(tally: Tally, cast: Cast, state: str, progress: Progress) -> None:
    """The figures every run shares: what reached whom, what the outbox says."""
    blocked = set(cast.blocked)
    never = [u for u in cast.residents if u not in blocked and not tally.received[u]]
    doubled = {u: n for u, n in tally.received.items() if n > 1}
    line("notice state at the end", state)
    line(
        "outbox: sent / blocked / failed otherwise / owed",
        f"{progress.sent} / {progress.blocked} / {progress.failed} / {progress.waiting}"
        f" of {progress.total}",
    )
    line("lost (rows neither sent nor failed/blocked)", progress.waiting)
    line("lost (not blocked, never received a copy)", len(never))
    line(
        "duplicated (copies beyond one per chat)",
        f"{sum(n - 1 for n in doubled.values())} (to {len(doubled)} residents)",
    )
    line("blocked counted", f"{progress.blocked} (blocked in the emulator: {len(blocked)})")
    line("blocked chats given a copy", sum(tally.received[u] for u in blocked))


# --- urgent appeals -----------------------------------------------------------------------


@dataclass(frozen=True)
class Urgent:
    at: float  # seconds into the broadcast (negative: before it)
    filed: float  # wall-clock time it was filed
    first: float | None  # seconds until the first staff push was in the emulator
    last: float | None  # until both were

    def paused(self, tally: Tally) -> float:
        """Seconds of its wait that fell in a 429's retry_after (Telegram forbids sending)."""
        end = self.filed + (self.last if self.last is not None else 60.0)
        return sum(max(0.0, min(e, end) - max(s, self.filed)) for s, e in tally.pauses)

    def shown(self) -> str:
        return f"first card {seconds(self.first)}, both {seconds(self.last)}"


async def file_urgent(
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
    filer: int,
    tally: Tally,
    kick: Callable[[], None],
    *,
    since: float,
    limit: float = 60.0,
) -> Urgent:
    """File a 一键呼叫 and time it until the grid worker and the community staff have it."""
    tally.scan()
    before = {c: len(tally.staff_cards.get(c, [])) for c in STAFF}
    started = time.time()
    async with sessionmaker() as session:
        building = await session.get(Node, tree.building2.id)
        assert building is not None
        await AppealService(session, AppealPolicy(), SystemClock().now()).file(
            filer, building, Draft(category="urgent", urgent=True)
        )
        await session.commit()
    kick()  # what the bot does on every commit
    arrived: list[float] = []

    def both() -> bool:
        nonlocal arrived
        tally.scan()
        arrived = [
            tally.staff_cards[c][before[c]]
            for c in STAFF
            if len(tally.staff_cards.get(c, [])) > before[c]
        ]
        return len(arrived) == len(STAFF)

    await until(both, limit, every=0.005)
    return Urgent(
        started - since,
        started,
        min(arrived) - started if arrived else None,
        max(arrived) - started if len(arrived) == len(STAFF) else None,
    )


async def until(predicate: Callable[[], bool], limit: float, every: float = 0.02) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(every)
    return True


# --- 1 and 3: the broadcast in this process -----------------------------------------------


@contextlib.asynccontextmanager
async def emulator(cast: Cast, extra: range = range(0)) -> AsyncIterator[BotAPIEmulator]:
    """The emulator with everyone in it (``extra``: chats only it knows), counting
    Telegram's flood limits without enforcing them."""
    emu = BotAPIEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    await emu.start()
    try:
        started = time.perf_counter()
        register(emu, cast)
        line(f"{len(cast.residents)} residents added to the emulator", since(started))
        for user_id in extra:
            emu.add_user(user_id=user_id, first_name="基线")
            emu.world.chats[user_id].opened = True
        emu.limits = Limits(
            global_per_second=TELEGRAM_RATE, per_chat_per_second=1, enforce=False, count=True
        )
        yield emu
    finally:
        await emu.stop()


def since(started: float) -> str:
    return f"{time.perf_counter() - started:.2f} s"


async def seeded(url: str, cast: Cast) -> Tree:
    started = time.perf_counter()
    tree = await seed(url, cast)
    line("residents seeded (bulk insert)", since(started))
    return tree


async def written(sessionmaker: async_sessionmaker[AsyncSession], tree: Tree, urgent: bool) -> int:
    started = time.perf_counter()
    notice_id = await send_notice(sessionmaker, tree, urgent=urgent)
    line("notice written (one outbox row each)", since(started))
    return notice_id


@dataclass(frozen=True)
class Bare:
    configured: float  # the Sender's global_rate
    rate: float  # first to last message in the emulator
    violations: int
    cpu: float  # seconds per message, this process (Sender, aiogram and the emulator)

    def shown(self, rate: float) -> str:
        return (
            f"{self.rate:.2f}/s = x{self.rate / rate:.3f} of {rate:g}/s; "
            f"{self.violations} flood violations"
        )


async def bare_sender(
    app: App, emu: BotAPIEmulator, chats: range, workers: int, rate: float
) -> Bare:
    """The sending layer alone, no outbox: ``workers`` tasks pushing one message to each
    of ``chats`` through a Sender paced at ``rate``."""
    sender = Sender(app.sessionmaker, app.clock, global_rate=rate)
    queue = iter(chats)
    violations_before = emu.violation_count
    mark = len(emu.requests)
    cpu = time.process_time()

    async def work() -> None:
        for chat in queue:  # shared: each chat once
            await sender.send(chat, partial(app.bot.send_message, chat, "基线"), skip_check=True)

    await asyncio.gather(*(work() for _ in range(workers)))
    cpu = time.process_time() - cpu
    times = sorted(r.at for r in emu.requests[mark:] if r.method == "sendMessage" and r.ok)
    measured = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return Bare(rate, measured, emu.violation_count - violations_before, cpu / max(len(times), 1))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


async def broadcast_round(kind: str, args: argparse.Namespace, urgent: bool) -> None:
    print(
        f"broadcast in this process: {args.recipients} residents, 1% blocked, a 429 "
        f"(retry_after {args.retry_after} s) every {args.inject_every} messages, "
        f"rate {args.rate:g}/s; {args.urgent_samples} urgent appeals during it"
    )
    samples = int(args.urgent_samples)
    recipients, rate = int(args.recipients), float(args.rate)
    cast = Cast.of(recipients, samples + 2)
    per_baseline = int(args.baseline_messages)
    bare = range(FIRST_BARE, FIRST_BARE + 2 * per_baseline)
    line("before", load())
    with tempfile.TemporaryDirectory() as tmp:
        async with database(kind, Path(tmp)) as url, emulator(cast, bare) as emu:
            tree = await seeded(url, cast)
            engine = create_engine(url)
            sessionmaker = create_sessionmaker(engine)
            settings = load_settings(
                bot_token=TOKEN,
                telegram_api_url=emu.base_url,
                bot_username=BOT_USERNAME,
                send_rate=rate,
            )
            app = bootstrap(settings, sessionmaker)
            tally = Tally(emu, frozenset(cast.residents))
            filers = iter(cast.filers)
            urgents: list[Urgent] = []
            finished = asyncio.Event()
            sampling: asyncio.Task[None] | None = None
            await app.start()
            try:
                workers = settings.outbox_workers
                baseline = await bare_sender(app, emu, bare[:per_baseline], workers, rate)
                await asyncio.sleep(1.5)  # an empty window again
                margin = await bare_sender(app, emu, bare[per_baseline:], workers, rate * 0.95)
                await asyncio.sleep(1.5)
                idle = await file_urgent(
                    sessionmaker, tree, next(filers), tally, app.kick, since=time.time()
                )
                await asyncio.sleep(1.5)  # staff chats: 1 message/s
                violations_before = emu.violation_count
                emu.inject_429_every(args.inject_every, retry_after=args.retry_after, penalty=True)
                notice_id = await written(sessionmaker, tree, urgent)
                app.kick()
                began, cpu = time.time(), time.process_time()
                expected = recipients / rate

                async def urgent_appeals() -> None:
                    """Spread over the broadcast, then one right after the next 429."""
                    for i in range(samples):
                        at = began + expected * (i + 1) / (samples + 1)
                        await asyncio.sleep(max(0.0, at - time.time()))
                        if finished.is_set():
                            return
                        urgents.append(
                            await file_urgent(
                                sessionmaker, tree, next(filers), tally, app.kick, since=began
                            )
                        )
                        await asyncio.sleep(1.5)
                    seen = emu.injected_429_count
                    await until(
                        lambda: finished.is_set() or emu.injected_429_count > seen, 3600, 0.002
                    )
                    if emu.injected_429_count > seen:
                        urgents.append(
                            await file_urgent(
                                sessionmaker, tree, next(filers), tally, app.kick, since=began
                            )
                        )

                sampling = asyncio.create_task(urgent_appeals())
                done_after = await wait_done(
                    sessionmaker, notice_id, tally, expected * 1.5 + args.drain_timeout
                )
                finished.set()
                await sampling
                cpu = time.process_time() - cpu
                await asyncio.sleep(args.settle)  # late copies would show up here
                tally.scan()
                state, progress = await notice_state(sessionmaker, notice_id)
            finally:
                finished.set()
                if sampling is not None:
                    sampling.cancel()
                    await asyncio.gather(sampling, return_exceptions=True)
                await app.close()
                await engine.dispose()

    raw, net, span, paused, copies = tally.rate()
    line("after", load())
    line(f"baseline: bare Sender, no outbox ({per_baseline} messages)", baseline.shown(rate))
    line(f"  the same paced at {margin.configured:g}/s (95%)", margin.shown(rate))
    line("notice done after (progress job)", seconds(done_after))
    line("copies let through (sent or 403)", f"{copies} in {span:.1f} s, {paused:.1f} s paused")
    line(
        "sustained rate without the 429 pauses",
        f"{net:.2f}/s = x{net / rate:.3f} of the configured {rate:g}/s"
        + (f", x{net / baseline.rate:.3f} of the bare Sender" if baseline.rate else ""),
    )
    line("raw rate, pauses included", f"{raw:.2f}/s = x{raw / rate:.3f}")
    line("429s injected / sender pauses", f"{emu.injected_429_count} / {app.sender.pauses}")
    line(
        "CPU per message, this process (bot + emulator)",
        f"{cpu / max(copies, 1) * 1000:.1f} ms per copy; "
        f"{baseline.cpu * 1000:.1f} ms for the bare Sender's",
    )
    outcome(tally, cast, state, progress)
    line(
        f"flood violations (count only, {TELEGRAM_RATE}/s, 1/s per chat)",
        violations(emu, since=violations_before, tally=tally),
    )
    line("urgent push with the outbox idle (baseline)", idle.shown())
    clear: list[Urgent] = []
    for u in urgents:
        paused_for = u.paused(tally)
        ratio = f" (x{u.last / idle.last:.1f} idle)" if u.last and idle.last else ""
        note = f"; {paused_for:.1f} s of it in a 429 pause" if paused_for else ""
        line(f"urgent push {u.at:5.1f} s into the broadcast", u.shown() + ratio + note)
        if not paused_for:
            clear.append(u)
    if clear:
        finite = [u.last for u in clear if u.last is not None]
        worst = max(finite) if len(finite) == len(clear) else None
        line("slowest urgent push outside 429 pauses (goal 2 s)", seconds(worst))


# --- 2: the real bot killed halfway -------------------------------------------------------


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


def cpu_seconds(bot: BotProcess) -> float:
    """User and system CPU the bot process has used (Linux /proc)."""
    if bot.proc is None:
        return 0.0
    try:
        stat = Path(f"/proc/{bot.proc.pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def kill_round(kind: str, args: argparse.Namespace, urgent: bool, redis: str | None) -> None:
    print(
        f"bot process killed with SIGKILL at half of {args.recipients} copies, started "
        f"again at once (SEND_RATE={args.rate:g}" + (", Redis" if redis else "") + ")"
    )
    cast = Cast.of(args.recipients, 0)
    recipients = int(args.recipients)
    prefix = f"bench-notices-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        async with database(kind, Path(tmp)) as url, emulator(cast) as emu:
            emu.inject_429_every(args.inject_every, retry_after=args.retry_after, penalty=True)
            tree = await seeded(url, cast)
            engine: AsyncEngine = create_engine(url)
            sessionmaker = create_sessionmaker(engine)
            tally = Tally(emu, frozenset(cast.residents))
            bot = BotProcess(
                emu,
                url,
                Path(tmp),
                redis_url=redis,
                cold=True,  # a real process start, as in production
                extra_env={
                    "REDIS_PREFIX": prefix,
                    "SEND_RATE": f"{args.rate:g}",
                },
            )
            try:
                notice_id = await written(sessionmaker, tree, urgent)
                spawned = time.time()
                # Not waiting for its first getUpdates: the emulator records a long poll
                # when it returns, seconds later, with the broadcast well under way.
                await bot.start(ready=False)
                expected = args.recipients / args.rate

                def first_after(moment: float) -> Callable[[], bool]:
                    def check() -> bool:
                        tally.scan()
                        return tally.first_send_after(moment) is not None

                    return check

                if not await until(first_after(spawned), 90):
                    line("round", f"the bot sent nothing\n{bot.log()[-1500:]}")
                    return
                cold = tally.first_send_after(spawned)
                cpu_up, sends_up = cpu_seconds(bot), len(tally.sends)

                def halfway() -> bool:
                    tally.scan()
                    return len(tally.sends) >= recipients // 2

                if not await until(halfway, expected + args.drain_timeout):
                    line("round", f"half the copies never went out\n{bot.log()[-1500:]}")
                    return
                cpu_used, sent_meanwhile = cpu_seconds(bot) - cpu_up, len(tally.sends) - sends_up
                await bot.kill()
                killed = time.time()
                await asyncio.sleep(0.3)  # requests the dead process had already sent
                tally.scan()
                flying = await in_flight(sessionmaker, notice_id)
                unrecorded = [u for u in flying if tally.received[u]]
                restarted = time.time()
                await bot.start(ready=False)
                await until(first_after(restarted), 90)
                resumed = tally.first_send_after(restarted)
                settled_after: float | None = None
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 60
                while loop.time() < deadline:
                    if await settled(sessionmaker, notice_id, flying):
                        settled_after = time.time() - restarted
                        break
                    await asyncio.sleep(0.25)
                done_after = await wait_done(
                    sessionmaker, notice_id, tally, expected + args.drain_timeout
                )
                await asyncio.sleep(args.settle)
                tally.scan()
                state, progress = await notice_state(sessionmaker, notice_id)
            finally:
                code = await bot.stop()
                if code not in (0, None):
                    line("bot exit code on stop", code)
                await engine.dispose()
                with contextlib.suppress(Exception):
                    await forget_redis(redis, prefix)

    cold_polling = first_request(emu, "getMe", spawned)
    warm_polling = first_request(emu, "getMe", restarted)
    cold_up = cold_polling - spawned if cold_polling else None
    warm_up = warm_polling - restarted if warm_polling else None
    before_kill = sum(t < killed for t in tally.sends)
    raw, net, _, _, _ = tally.rate(until=killed)
    line("copies let through before the kill", before_kill)
    line(
        "bot process rate before the kill, without pauses",
        f"{net:.2f}/s = x{net / args.rate:.3f} (raw {raw:.2f}/s)",
    )
    line(
        "bot process CPU per copy before the kill",
        f"{cpu_used / max(sent_meanwhile, 1) * 1000:.1f} ms ({sent_meanwhile} copies)",
    )
    line("copies in flight at the kill (claimed)", len(flying))
    line("  of them delivered but not recorded", len(unrecorded))
    line(
        "cold start until the first copy (baseline)",
        f"{seconds(cold and cold - spawned)} (first Bot API call after {seconds(cold_up)})",
    )
    line(
        "restart until sending resumes",
        f"{seconds(resumed and resumed - restarted)} (first call after {seconds(warm_up)})",
    )
    if cold and resumed:
        line("  ratio restart / cold start", f"x{(resumed - restarted) / (cold - spawned):.2f}")
    line("restart until the in-flight copies were settled", seconds(settled_after))
    line("notice done after the restart (progress job)", seconds(done_after))
    outcome(tally, cast, state, progress)
    redelivered = sum(tally.received[u] > 1 for u in unrecorded)
    line("duplicates explained by delivered-not-recorded", f"{redelivered}/{len(unrecorded)}")
    line(
        f"flood violations (count only, {TELEGRAM_RATE}/s, 1/s per chat)",
        violations(emu, since=0, tally=tally),
    )


# --- running ------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    with_pg = bool(os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"))
    stores = [s for s in args.stores.split(",") if s]
    if "postgresql" in stores and not with_pg:
        print("postgresql skipped: TEST_DATABASE_URL and TEST_REDIS_URL are not both set")
        stores.remove("postgresql")
    quiet = quiet_now()
    urgent = args.urgent_notice == "yes" or (args.urgent_notice == "auto" and quiet)
    print(
        f"quiet hours (22:00-07:00 Asia/Shanghai) {'in effect' if quiet else 'not in effect'}"
        f" now: the notice is sent {'urgent' if urgent else 'as an ordinary one'}"
    )
    rounds = [r for r in args.rounds.split(",") if r]
    started = time.perf_counter()
    for kind in stores:
        redis = os.environ["TEST_REDIS_URL"] if kind == "postgresql" else None
        print(f"store: {kind}" + (" (+ Redis for the bot process)" if redis else ""))
        for name in rounds:
            try:
                if name == "broadcast":
                    await broadcast_round(kind, args, urgent)
                elif name == "kill":
                    await kill_round(kind, args, urgent, redis)
                else:
                    line("unknown round", name)
            except Exception as exc:  # one store or round failing must not hide the others
                line("round failed", f"{type(exc).__name__}: {exc}")
        print()
    print(f"whole run: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--rounds", default="broadcast,kill", help="comma-separated")
    parser.add_argument("--rate", type=float, default=30.0, help="the bot's SEND_RATE")
    parser.add_argument("--inject-every", type=int, default=2000, help="a 429 every n messages")
    parser.add_argument("--retry-after", type=int, default=3)
    parser.add_argument("--urgent-samples", type=int, default=3, help="urgent appeals filed")
    parser.add_argument(
        "--urgent-notice",
        choices=("auto", "yes", "no"),
        default="auto",
        help="send the notice urgent (auto: only within quiet hours, which would hold it)",
    )
    parser.add_argument(
        "--baseline-messages", type=int, default=450, help="for the bare Sender's rate"
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to catch late copies")
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
