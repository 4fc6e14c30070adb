"""抢单: many partners of one skill pressing 接单 on the same order at once, through the
real Dispatcher over the real aiogram HTTP client against the Bot API emulator, against a
bare aiogram echo bot on the same emulator in the same run.

Per store (SQLite always; PostgreSQL when TEST_DATABASE_URL is set, with Redis for the
dialogs' state and the per-chat lock when TEST_REDIS_URL is set too; ``--stores`` picks):

1. Baseline: a bare aiogram Dispatcher answering each text with one sendMessage, fed
   ``--partners`` text updates from as many chats all at once, and again spread over
   ``--spread-ms`` like the presses (``--echo-rounds`` rounds of each; the round with the
   median p99 is shown). Response time: from the update's arrival until the handler's
   sendMessage returned to the client.
2. The race: one community, ``--partners`` approved partners of skill "repair"; a
   resident places a "repair" order and the outbox delivers the offer card to each. Each
   partner presses the real 接单 button on their own card (a callback query the emulator
   builds from the message as it is), the presses fed concurrently through
   ``app.dispatcher.feed_update`` in a random order spread over ``--spread-ms``. Response
   time: from the press's arrival (its slot in the spread; fed then, or as soon as the
   busy event loop gets to it) until its answerCallbackQuery returned to the client
   (and, shown apart, until the whole update was handled, commit included). Then the
   outbox is delivered: the losers' cards are edited to say the order is gone.
   The partners last used the bot ``--last-seen-minutes`` ago, so each press also
   records that they were seen (as the bot does at most every 10 minutes).

Printed: the winners (must be exactly 1), how each press was answered (every loser must
get the 手慢了一步 alert), the losers' cards edited after delivery, whether the outbox,
the audit log and the points ledger agree with that, the emulator's errors, the bot's
logged errors, p50/p99 of the press and of the echo, p99(press) ÷ p99(echo), and the CPU
this process (bot and emulator) spent per update in each. A ``FAIL`` line and exit
status 1 when there is not exactly one winner or a loser was not told.

    .venv/bin/python bench/partners.py --stores sqlite
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/partners.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import logging
import os
import random
import sys
import tempfile
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.methods.base import Response, TelegramMethod, TelegramType
from aiogram.types import Message, Update
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import remote
from bot import heap
from bot.app import App, bootstrap, create_bot
from bot.config import Settings, load_settings
from bot.dialogs.partners.callbacks import PartnerPress
from bot.i18n import translator
from emulator import BotAPIEmulator
from storage.audit import AuditEntry
from storage.clock import SystemClock
from storage.migrate import upgrade
from storage.outbox import OutboxMessage
from storage.partners import (
    Application,
    OrderDraft,
    OrderState,
    PartnerPolicy,
    PartnerService,
    PartnerState,
    PointEntry,
    ServiceOrder,
)
from storage.partners.service import OFFER, OFFER_GONE, ORDER_NEWS, TAKEN
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.factories import Tree, build_tree
from tests.processes import BOT_USERNAME, TOKEN, database

SKILL = "repair"
RESIDENT = 600_000  # who places the order
FIRST_PARTNER = 700_000
FIRST_ECHO = 900_000  # chats only the echo bot talks to
LANGUAGE = "zh"
T = translator(LANGUAGE)
WON = T("partner.done.take")  # ✅ 接单成功！…
LOST = T("partner.problem.taken")  # 手慢了一步，…
APOLOGY = T("errors.unexpected")  # the bot's generic error answer
GONE = T("partner.card.gone")  # ✅ 已被其他合伙人接单，谢谢您！


def pad(text: str, width: int) -> str:
    """Left-justified as a terminal shows it: CJK characters take two columns."""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - shown)


def line(label: str, value: object) -> None:
    print(f"  {pad(label + ':', 54)} {value}")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# --- timing ---------------------------------------------------------------------------------


class Answers(BaseRequestMiddleware):
    """When the Bot API calls that answer an update returned to the client:
    answerCallbackQuery by query id, sendMessage by chat."""

    def __init__(self) -> None:
        self.callbacks: dict[str, float] = {}
        self.messages: dict[int, float] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        response = await make_request(bot, method)
        now = time.perf_counter()
        if isinstance(method, AnswerCallbackQuery):
            self.callbacks.setdefault(method.callback_query_id, now)
        elif isinstance(method, SendMessage) and isinstance(method.chat_id, int):
            self.messages.setdefault(method.chat_id, now)
        return response


@dataclass(frozen=True)
class Fed:
    """One update fed to a Dispatcher."""

    chat: int
    key: str  # the callback query id, or the chat for a message
    started: float  # when it arrives: the time the schedule gives it
    fed: float  # when feed_update was called (later when the event loop was busy)
    handled: float  # feed_update returned
    error: str | None  # feed_update raised (the GridDispatcher catches everything itself)


@dataclass(frozen=True)
class Storm:
    fed: list[Fed]
    cpu: float  # seconds this process spent on the whole storm

    @property
    def span(self) -> float:
        return max(f.started for f in self.fed) - min(f.started for f in self.fed)

    @property
    def lag(self) -> float:
        """How late the last update was fed after its arrival."""
        return max(f.fed - f.started for f in self.fed)

    def cpu_per_update(self) -> str:
        return f"{self.cpu / len(self.fed) * 1000:.2f} ms"


async def storm(
    dp: Dispatcher, bot: Bot, raws: list[tuple[int, str, dict[str, Any]]], spread: float
) -> Storm:
    """Feed every update concurrently, the i-th arriving ``spread * i / n`` seconds after
    the first (all at once when ``spread`` is 0). Response times count from the arrival:
    an update that arrives while the event loop is busy waits, as it would in the socket
    of a running bot.

    One feeder starts each update's task when it arrives, as a polling or webhook bot
    does: ten thousand tasks started at once, each to sleep until its turn, held the
    event loop for a tenth of a second at the start and were measured as the bot's."""
    updates = [
        (chat, key, Update.model_validate(raw, context={"bot": bot})) for chat, key, raw in raws
    ]
    n = len(updates)
    # What exists now (the bot as started, and this harness's prepared updates) stays to
    # the end: out of the collector's sight, as a running bot puts what startup built
    # (bot/heap.py), so that neither bot is measured walking the harness's objects.
    heap.settle()
    cpu = time.process_time()
    start = time.perf_counter()

    async def one(arrives: float, chat: int, key: str, update: Update) -> Fed:
        fed = time.perf_counter()
        error = None
        try:
            await dp.feed_update(bot, update)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Fed(chat, key, arrives, fed, time.perf_counter(), error)

    tasks: list[asyncio.Task[Fed]] = []
    try:
        for i, (chat, key, update) in enumerate(updates):
            arrives = start + spread * i / n
            delay = arrives - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(arrives, chat, key, update)))
        fed = await asyncio.gather(*tasks)
        return Storm(list(fed), time.process_time() - cpu)
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class Figures:
    p50: float  # ms
    p99: float
    worst: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Figures:
        ordered = sorted(seconds)
        if not ordered:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        middle = len(ordered) // 2
        p50 = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return cls(p50 * 1000, p99 * 1000, ordered[-1] * 1000, len(ordered))

    def row(self, label: str, note: str = "") -> str:
        return (
            f"  {pad(label, 40)} {self.p50:>8.2f} {self.p99:>8.2f} {self.worst:>8.2f} "
            f"{self.count:>5}  {note}"
        )


def header() -> str:
    return (
        f"  {pad('response time', 40)} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>5}  "
        "CPU per update"
    )


# --- the bare aiogram echo ------------------------------------------------------------------


# Makes ``n`` text updates from new chats for the echo (chat, key, update).
Texts = Callable[[int], Awaitable[list[tuple[int, str, dict[str, Any]]]]]


def local_texts(emu: BotAPIEmulator) -> Texts:
    async def make(n: int) -> list[tuple[int, str, dict[str, Any]]]:
        return remote.texts(emu, FIRST_ECHO, n)

    return make


async def echo_round(
    texts: Texts, settings: Settings, n: int, spread: float
) -> tuple[Figures, Storm]:
    router = Router()

    @router.message()
    async def answer(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    bot = create_bot(settings)
    answers = Answers()
    bot.session.middleware(answers)
    raws = await texts(n)
    try:
        done = await storm(dp, bot, raws, spread)
    finally:
        await bot.session.close()
    times = [answers.messages[f.chat] - f.started for f in done.fed if f.chat in answers.messages]
    return Figures.of(times), done


@dataclass(frozen=True)
class Echo:
    figures: Figures  # the round with the median p99
    storm: Storm
    p99s: list[float]  # every round's

    def note(self) -> str:
        cpu = self.storm.cpu_per_update()
        if len(self.p99s) < 2:
            return cpu
        return f"{cpu} ({len(self.p99s)} rounds; p99 {min(self.p99s):.0f}-{max(self.p99s):.0f} ms)"


async def echo(texts: Texts, settings: Settings, n: int, spread: float, rounds: int) -> Echo:
    done = [await echo_round(texts, settings, n, spread) for _ in range(max(1, rounds))]
    ranked = sorted(done, key=lambda r: r[0].p99)
    figures, middle = ranked[len(ranked) // 2]
    return Echo(figures, middle, [f.p99 for f, _ in done])


# --- the people and the order ---------------------------------------------------------------


def name(user_id: int) -> str:
    return "王秀英" if user_id == RESIDENT else f"师傅{user_id - FIRST_PARTNER}"


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
    partners: list[int],
    last_seen: timedelta,
) -> None:
    """A resident of the first building, and approved partners of the skill spread over
    the community's three buildings, made as the tests make them: apply, then approved.
    Their rows match what Telegram says of them (nothing to refresh on a press)."""
    now = SystemClock().now()
    homes = [tree.building, tree.building2, tree.building3]
    async with sessionmaker() as session:
        for i, uid in enumerate([RESIDENT, *partners]):
            session.add(
                User(
                    id=uid,
                    first_name=name(uid),
                    telegram_language=LANGUAGE,
                    building_id=homes[i % len(homes)].id,
                    consent_at=now - last_seen,
                    created_at=now - last_seen,
                    last_seen_at=now - last_seen,
                    phone="13911112222" if uid == RESIDENT else None,
                )
            )
        await session.flush()
        service = PartnerService(session, now - last_seen, PartnerPolicy())
        for uid in partners:
            user = await session.get(User, uid)
            assert user is not None
            partner = await service.apply(
                user, Application(real_name=name(uid), phone="13800000000", skills=(SKILL,))
            )
            partner.state, partner.decided_at = PartnerState.APPROVED, now - last_seen
        await session.commit()


async def place(app: App) -> int:
    async with app.services() as services:
        resident = await services.users.get(RESIDENT)
        assert resident is not None
        order = await services.get(PartnerService).place(
            resident, OrderDraft(skill=SKILL, description="厨房水龙头漏水，请尽快上门")
        )
        await services.session.flush()
        return order.id


def offer_card(emu: BotAPIEmulator, user_id: int, data: str) -> int | None:
    """The message in the partner's chat that carries the 接单 button."""
    for message in emu.chat(user_id).bot_messages:
        if any(d == data for row in message.inline_buttons() for _, d in row):
            return message.message_id
    return None


def card_text(emu: BotAPIEmulator, user_id: int, message_id: int | None) -> str:
    message = emu.chat(user_id).find(message_id) if message_id is not None else None
    return (message.text or "") if message is not None else ""


def card_buttons(emu: BotAPIEmulator, user_id: int, message_id: int | None) -> bool:
    message = emu.chat(user_id).find(message_id) if message_id is not None else None
    return message is not None and bool(message.inline_buttons())


# --- what the store says --------------------------------------------------------------------


@dataclass
class Stored:
    state: str = ""
    partner_id: int | None = None
    outbox: Counter[str] = field(default_factory=Counter)  # rows by kind for the order
    taken_to: list[int] = field(default_factory=list)
    gone_to: list[int] = field(default_factory=list)
    news: list[str] = field(default_factory=list)  # ORDER_NEWS events
    owed: int = 0  # rows of the order neither sent nor failed
    failed: list[str] = field(default_factory=list)
    audited: int = 0  # order.take entries
    points: int = 0  # ledger lines, any order


async def stored(sessionmaker: async_sessionmaker[AsyncSession], order_id: int) -> Stored:
    found = Stored()
    async with sessionmaker() as session:
        order = await session.get(ServiceOrder, order_id)
        assert order is not None
        found.state, found.partner_id = order.state, order.partner_id
        rows = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.subject_id == order_id, OutboxMessage.kind.like("partner.%")
                )
            )
        ).scalars()
        for row in rows:
            found.outbox[row.kind] += 1
            if row.kind == TAKEN:
                found.taken_to.append(row.user_id)
            elif row.kind == OFFER_GONE:
                found.gone_to.append(row.user_id)
            elif row.kind == ORDER_NEWS:
                found.news.append(str(row.params.get("event")))
            if row.sent_at is None and row.failed_at is None:
                found.owed += 1
            if row.failed_at is not None:
                found.failed.append(f"{row.kind} to {row.user_id}: {row.error}")
        audited = select(func.count()).where(
            AuditEntry.action == "order.take", AuditEntry.object_id == str(order_id)
        )
        found.audited = int(await session.scalar(audited) or 0)
        found.points = int(await session.scalar(select(func.count(PointEntry.id))) or 0)
    return found


class Writes:
    """The SQL the presses ran: how many statements, the UPDATEs on service_orders (the
    conditional one that decides the race; by rows matched) and on users (last seen)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = 0
        self.orders: Counter[int] = Counter()  # by rows changed
        self.users = 0
        self.on = False
        event.listen(engine.sync_engine, "after_cursor_execute", self._seen)

    def _seen(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not self.on:
            return
        self.statements += 1
        if statement.startswith("UPDATE service_orders"):
            self.orders[int(cursor.rowcount)] += 1
        elif statement.startswith("UPDATE users"):
            self.users += 1


class ErrorLog(logging.Handler):
    """The bot's own ERROR records (a handler's crash, a failed commit), by exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.kinds: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        self.kinds[type(exc).__name__ if exc else record.getMessage()[:60]] += 1

    def shown(self) -> str:
        total = sum(self.kinds.values())
        detail = ", ".join(f"{k} x{n}" for k, n in self.kinds.most_common(4))
        return f"{total}" + (f" ({detail})" if detail else "")


# --- one store ------------------------------------------------------------------------------


async def forget_redis(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    done = await work()
    return done, time.perf_counter() - started


async def store_round(kind: str, args: argparse.Namespace) -> bool:
    """One store: the echo baselines and the race; whether it passed."""
    n = int(args.partners)
    redis = os.environ.get("TEST_REDIS_URL") if kind == "postgresql" else None
    prefix = f"bench-partners-{uuid.uuid4().hex[:8]}"
    print(f"store: {kind}" + (" (+ Redis for dialogs and the per-chat lock)" if redis else ""))
    line("before", load())
    partners = list(range(FIRST_PARTNER, FIRST_PARTNER + n))
    emu = BotAPIEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    await emu.start()
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with database(kind, Path(tmp)) as url:
                engine = create_engine(url)
                try:
                    await upgrade(engine)
                    sessionmaker = create_sessionmaker(engine)
                    tree = await build_tree(sessionmaker, SystemClock())
                    started = time.perf_counter()
                    await seed(
                        sessionmaker, tree, partners, timedelta(minutes=args.last_seen_minutes)
                    )
                    line(
                        f"{n} partners approved, 1 resident",
                        f"{time.perf_counter() - started:.2f} s",
                    )
                    for uid in [RESIDENT, *partners]:
                        emu.add_user(user_id=uid, first_name=name(uid), language_code=LANGUAGE)
                        emu.world.chats[uid].opened = True
                    overrides: dict[str, object] = {}
                    if args.max_concurrent:
                        overrides["max_concurrent_updates"] = args.max_concurrent
                    if redis:
                        overrides.update(redis_url=redis, redis_prefix=prefix)
                    settings = load_settings(
                        bot_token=TOKEN,
                        telegram_api_url=emu.base_url,
                        bot_username=BOT_USERNAME,
                        send_rate=args.send_rate,
                        **overrides,
                    )
                    app = bootstrap(settings, sessionmaker)
                    try:
                        return await race(emu, app, Writes(engine), partners, errors, args)
                    finally:
                        await app.close()
                        await app.dispatcher.storage.close()
                        if redis:
                            await forget_redis(redis, prefix)
                finally:
                    await engine.dispose()
    finally:
        logging.getLogger().removeHandler(errors)
        await emu.stop()


async def race(
    emu: BotAPIEmulator,
    app: App,
    writes: Writes,
    partners: list[int],
    errors: ErrorLog,
    args: argparse.Namespace,
) -> bool:
    n, spread, settings = len(partners), args.spread_ms / 1000, app.settings
    at_once = await echo(local_texts(emu), settings, n, 0.0, args.echo_rounds)
    echo_spread = await echo(local_texts(emu), settings, n, spread, args.echo_rounds)

    answers = Answers()
    app.bot.session.middleware(answers)
    await app.delivery.deliver_pending()  # what approving them owed (nothing to partners)
    order_id = await place(app)
    offered, took = await timed(app.delivery.deliver_pending)
    data = PartnerPress(action="take", ref=order_id).pack()
    cards = {uid: offer_card(emu, uid, data) for uid in partners}
    line(
        "offer cards delivered (outbox)",
        f"{sum(c is not None for c in cards.values())}/{n} in {took:.2f} s "
        f"({offered} messages, SEND_RATE {settings.send_rate:g}/s)",
    )

    # Each partner presses the 接单 on their own card; the order of the presses is random.
    pressing = [uid for uid in partners if cards[uid] is not None]
    random.Random(args.seed).shuffle(pressing)
    raws: list[tuple[int, str, dict[str, Any]]] = []
    for uid in pressing:
        raw = emu.press(uid, cards[uid] or 0, data, queue=False)
        raws.append((uid, str(raw["callback_query"]["id"]), raw))
    errors_before = len(emu.errors)
    writes.on = True
    done = await storm(app.dispatcher, app.bot, raws, spread)
    writes.on = False
    fed = done.fed
    line(
        "presses fed",
        f"{len(fed)} from {len(fed)} chats arriving over {done.span * 1000:.1f} ms, fed at "
        f"most {done.lag * 1000:.1f} ms late (MAX_CONCURRENT_UPDATES "
        f"{settings.max_concurrent_updates})",
    )
    after = await stored(app.sessionmaker, order_id)  # what the race wrote
    gone_sent, gone_took = await timed(app.delivery.deliver_pending)
    final = await stored(app.sessionmaker, order_id)

    # How each press was answered, as the emulator recorded it.
    told: dict[int, tuple[str, bool]] = {}
    for f in fed:
        mine = [a for a in emu.chat(f.chat).callback_answers if a["callback_query_id"] == f.key]
        told[f.chat] = (
            (str(mine[0].get("text") or ""), bool(mine[0].get("show_alert")))
            if mine
            else ("", False)
        )
    kinds = Counter(
        "won"
        if t == WON
        else "lost"
        if t == LOST
        else "apology"
        if t == APOLOGY
        else "none"
        if not t
        else "other"
        for t, _ in told.values()
    )
    won_by = [uid for uid, (t, _) in told.items() if t == WON]
    winner = after.partner_id if after.state == OrderState.TAKEN else None
    winners = int(winner is not None)
    losers = [f.chat for f in fed if f.chat != winner]
    not_told = [uid for uid in losers if told[uid] != (LOST, True)]
    edited = [uid for uid in losers if GONE in card_text(emu, uid, cards[uid])]
    buttons_left = [uid for uid in losers if card_buttons(emu, uid, cards[uid])]
    taken_card = winner is not None and any(
        "由您负责" in (m.text or "") for m in emu.chat(winner).bot_messages
    )
    resident_told = winner is not None and any(
        name(winner) in (m.text or "") for m in emu.chat(RESIDENT).bot_messages
    )

    line(
        "winners (order TAKEN with a partner)", f"{winners} (state {after.state}, partner {winner})"
    )
    line(
        "answers: 接单成功 / 手慢了 / apology / other / none",
        " / ".join(str(kinds[k]) for k in ("won", "lost", "apology", "other", "none")),
    )
    line("  the one answered 接单成功 is the winner", won_by == [winner])
    line(
        "losers told 手慢了一步 (alert, answerCallbackQuery)",
        f"{len(losers) - len(not_told)}/{len(losers)}",
    )
    line(
        "conditional UPDATEs on the order: won / matched none",
        f"{writes.orders[1]} / {writes.orders[0]} (the other losers read it taken)",
    )
    line("UPDATEs of users (last seen) during the race", writes.users)
    line("SQL statements per press", f"{writes.statements / max(len(fed), 1):.1f}")
    line(
        "losers' cards edited to 已被其他合伙人接单",
        f"{len(edited)}/{len(losers)}, buttons left on {len(buttons_left)} "
        f"({gone_sent} messages delivered in {gone_took:.2f} s)",
    )
    line("winner got the full card / resident told who", f"{taken_card} / {resident_told}")
    line(
        "outbox rows: offer / taken / offer_gone / order_news",
        f"{after.outbox[OFFER]} / {after.outbox[TAKEN]} / {after.outbox[OFFER_GONE]} / "
        f"{after.outbox[ORDER_NEWS]} {after.news}",
    )
    gone_ok = sorted(after.gone_to) == sorted(losers) and after.taken_to == (
        [winner] if winner else []
    )
    line("  offer_gone to exactly the losers, taken to the winner", gone_ok)
    line(
        "after delivery: rows owed / failed",
        f"{final.owed} / {len(final.failed)}" + (f" {final.failed[:3]}" if final.failed else ""),
    )
    line("audit order.take entries / points ledger lines", f"{after.audited} / {after.points}")
    consistent = (
        gone_ok
        and after.outbox[OFFER] == n
        and after.news == ["taken"]
        and after.audited == winners
        and after.points == 0
        and final.owed == 0
        and not final.failed
        and won_by == ([winner] if winner else [])
    )
    line("ledger/DB consistent with the answers", consistent)
    new_errors = emu.errors[errors_before:]
    line(
        "emulator errors (the race and after)",
        f"{len(new_errors)}"
        + (f": {[(r.method, r.error) for r in new_errors[:3]]}" if new_errors else "")
        + (f"; {errors_before} before it" if errors_before else ""),
    )
    line("bot's logged errors", errors.shown())
    raised = [f.error for f in fed if f.error]
    if raised:
        line("feed_update raised", f"{len(raised)}: {raised[:2]}")

    def answered(f: Fed) -> float | None:
        at = answers.callbacks.get(f.key)
        return None if at is None else at - f.started

    press = Figures.of([a for f in fed if (a := answered(f)) is not None])
    lost = Figures.of([a for f in fed if f.chat != winner and (a := answered(f)) is not None])
    handled = Figures.of([f.handled - f.started for f in fed])
    line("after", load())
    print(header())
    print(at_once.figures.row(f"echo (bare aiogram), {n} at once", at_once.note()))
    print(
        echo_spread.figures.row(
            f"echo (bare aiogram), over {args.spread_ms:g} ms", echo_spread.note()
        )
    )
    print(press.row("接单 press until answered", done.cpu_per_update()))
    print(lost.row("  the losers' presses"))
    print(handled.row("接单 press until handled (committed)"))
    print(
        f"  ratio p99 press answered / p99 echo: x{press.p99 / at_once.figures.p99:.2f} "
        f"(echo at once), x{press.p99 / echo_spread.figures.p99:.2f} "
        f"(echo over {args.spread_ms:g} ms)"
    )

    ok = True
    if winners != 1 or len(won_by) != 1:
        print(f"  FAIL: {winners} winners in the store, {len(won_by)} told they won; not 1")
        ok = False
    if not_told:
        shown = [(u, told[u][0][:24]) for u in not_told[:4]]
        print(f"  FAIL: {len(not_told)} losers not told 手慢了一步 as an alert: {shown}")
        ok = False
    if ok and (not consistent or new_errors or len(edited) != len(losers)):
        print("  WARN: see above (consistency, emulator errors or cards not edited)")
    return ok


# --- running --------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    stores = [s for s in args.stores.split(",") if s]
    if "postgresql" in stores and not os.environ.get("TEST_DATABASE_URL"):
        print("postgresql skipped: TEST_DATABASE_URL is not set")
        stores.remove("postgresql")
    print(
        f"{args.partners} partners of skill {SKILL!r} pressing 接单 on one order within "
        f"{args.spread_ms:g} ms; they last used the bot {args.last_seen_minutes:g} min ago"
    )
    failed = 0
    for kind in stores:
        try:
            if not await store_round(kind, args):
                failed += 1
        except Exception as exc:  # one store failing must not hide the others
            line("FAIL: the round failed", f"{type(exc).__name__}: {exc}")
            failed += 1
        print()
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--spread-ms", type=float, default=100.0, help="presses spread over")
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--echo-rounds", type=int, default=3, help="of each echo baseline")
    parser.add_argument(
        "--last-seen-minutes",
        type=float,
        default=60.0,
        help="since the partners last used the bot (under 10: a press writes nothing else)",
    )
    parser.add_argument(
        "--send-rate", type=float, default=30.0, help="the bot's SEND_RATE, for the outbox"
    )
    parser.add_argument(
        "--max-concurrent", type=int, default=0, help="MAX_CONCURRENT_UPDATES (0: the bot's)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the order of the presses")
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
