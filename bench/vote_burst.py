"""A council vote burst: ``--residents`` residents of one community each press a ballot
button on their own ballot card within ``--window-s`` seconds, through the real
Dispatcher over the real aiogram HTTP client against the Bot API emulator, against a bare
aiogram echo bot under the same burst in the same run. Then staff close the vote and the
result goes to every subscriber through the notices engine.

Per store (SQLite always; PostgreSQL when TEST_DATABASE_URL is set, with Redis for the
dialogs' state and the per-chat lock when TEST_REDIS_URL is set too; ``--stores`` picks):

1. Setup (not timed): the residents (rows inserted directly), their community's staff
   member opens a vote (同意 / 反对 / 弃权) through the council service, and the outbox
   delivers the ballot cards (with a fast sender: setting up is not what is measured).
2. ``--rounds`` turns (3), each of two bursts under the same schedule:
   a. Baseline: a bare aiogram Dispatcher answering each text with one sendMessage, fed
      one text from each of ``--residents`` chats spread evenly over the window. Response
      time: from the update's arrival until its sendMessage returned to the client.
   b. Ballots: each resident presses one option on their own card (in the first round
      any, later another than their last: a changed mind, written and re-marked as the
      first was), a callback query the emulator builds from the card as it is;
      ``--doubled`` of them press again later in the window, another option (a doubled
      tap): their last press must count. Presses arrive spread evenly over the window in
      random order, fed concurrently through ``app.dispatcher.feed_update``. Response
      time: from the press's arrival until its answerCallbackQuery returned to the client.
   The two take turns because this machine's speed drifts from minute to minute (the
   same echo cost 0.6 ms of CPU in one run and 1.5 ms in the next): one echo minutes
   before one ballot burst measured the drift as much as the bot. Each round's ratio is
   printed, and their median.
3. Counted once: ballots stored = residents, each the option they pressed last, the
   service's counts equal to a count by hand from the presses; emulator errors.
4. Publishing: staff close the vote (the service's close and the result notice, as the
   staff button does), then the outbox delivers the result at ``--send-rate`` (the bot's
   SEND_RATE; Telegram allows about 30 a second): the time from the close until every
   subscriber has it, beside the floor the rate sets (recipients ÷ rate).

The emulator runs in a process of its own (``bench/remote.py``): Telegram is not in the
bot's process, and an emulator that was took its CPU from the bot it measured (twice over
for a ballot, which makes two calls where the echo makes one). What each storm starts with
(the bot as started, the prepared updates) is frozen out of the collector's sight, as
``gridbot run`` does with what startup built (``bot/heap.py``); the emulator freezes its
world after each setup step. CPU per update is this process's: the bot's.

A ``FAIL`` line and exit status 1 when a ballot is missing, doubled or not the last
press, the counts disagree, or a subscriber did not get the result.

    .venv/bin/python bench/vote_burst.py --residents 2000 --window-s 12 --stores sqlite
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/vote_burst.py
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select

from bench import remote
from bench.partners import (
    FIRST_ECHO,
    Answers,
    ErrorLog,
    Fed,
    Figures,
    Storm,
    echo_round,
    forget_redis,
    header,
    line,
    load,
    storm,
)
from bench.remote import RemoteEmulator
from bot.app import App, bootstrap
from bot.config import load_settings
from bot.dialogs.council.callbacks import CouncilPress
from bot.dialogs.council.publish import publish_result
from bot.i18n import translator
from bot.sending import Sender
from storage.clock import ManualClock
from storage.council import Ballot, CouncilService, Vote
from storage.migrate import upgrade
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.factories import Tree, build_tree
from tests.processes import BOT_USERNAME, TOKEN, database

FIRST_RESIDENT = 1_000_000
OFFICER = 990_000  # the community's staff member who opens and closes the vote
LANGUAGE = "zh"
T = translator(LANGUAGE)
QUESTION = "是否同意在小区东门增设电动车集中充电棚？"
OPTIONS = 3  # 同意 / 反对 / 弃权
# During the meeting (25 November 15:30 in Shanghai): daytime, so the result is not held
# for quiet hours.
NOW = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
SETUP_RATE = 1000.0  # messages a second for the ballot cards, which are not measured


def name(user_id: int) -> str:
    """As Telegram says it and the bot stored it: a press has no name to refresh."""
    return "郑红梅" if user_id == OFFICER else f"居民{user_id - FIRST_RESIDENT}"


async def seed(sessionmaker: Any, tree: Tree, n: int) -> list[int]:
    """``n`` residents over the community's three buildings, and its staff member."""
    homes = [tree.building.id, tree.building2.id, tree.building3.id]
    ids = list(range(FIRST_RESIDENT, FIRST_RESIDENT + n))
    seen = NOW - timedelta(hours=1)  # a press also records that they were seen
    rows = [
        {
            "id": uid,
            "first_name": name(uid),
            "telegram_language": LANGUAGE,
            "building_id": homes[i % len(homes)],
            "consent_at": seen,
            "created_at": seen,
            "last_seen_at": seen,
        }
        for i, uid in enumerate([*ids, OFFICER])
    ]
    async with sessionmaker() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(User), rows[start : start + 2000])
        await StaffRepo(session).grant(
            user_id=OFFICER,
            role=Role.COMMUNITY_STAFF,
            node=tree.community,
            granted_by=None,
            now=NOW,
        )
        await session.commit()
    return ids


@dataclass(frozen=True)
class Round:
    """One turn: the echo's burst, then the ballots' under the same schedule."""

    echo: Figures
    echoed: Storm
    press: Figures  # until answered
    handled: Figures  # until committed
    storm: Storm

    @property
    def ratio(self) -> float:
        return self.press.p99 / self.echo.p99


def plan(
    rng: random.Random,
    residents: list[int],
    cards: dict[int, int | None],
    last: dict[int, int],
    doubled: float,
) -> tuple[list[tuple[int, int]], int]:
    """Everyone with a card presses once, in random order: in the first round any
    option, later another option than their last (a changed mind, so that every round
    writes and re-marks as much as the first). ``doubled`` of them press again, another
    option, at least a twentieth of the window later. The presses, and how many were
    second presses."""
    firsts = []
    for uid in residents:
        if cards[uid] is None:
            continue
        before = last.get(uid)
        choice = (
            rng.randrange(OPTIONS)
            if before is None
            else (before + 1 + rng.randrange(OPTIONS - 1)) % OPTIONS
        )
        firsts.append((uid, choice))
    rng.shuffle(firsts)
    again = rng.sample(firsts, int(len(firsts) * doubled))
    presses = list(firsts)
    slot = {uid: i for i, (uid, _) in enumerate(firsts)}
    gap = max(1, len(firsts) // 20)
    for uid, choice in sorted(again, key=lambda p: slot[p[0]], reverse=True):
        other = (choice + 1 + rng.randrange(OPTIONS - 1)) % OPTIONS
        at = min(len(presses), rng.randint(slot[uid] + gap, slot[uid] + 4 * gap))
        presses.insert(at, (uid, other))  # later slots only: the earlier ones stay put
    return presses, len(again)


async def open_vote(app: App, tree: Tree) -> int:
    async with app.services() as services:
        service = services.get(CouncilService)
        meeting = await service.next_meeting(tree.community.id)
        staffing = await services.staff.staffing(OFFICER)
        vote = await service.open_vote(staffing, meeting.id, QUESTION)
        await services.commit()
        return vote.id


async def deliver_all(app: App) -> int:
    sent = 0
    while True:
        done = await app.delivery.deliver_pending()
        if not done:
            return sent
        sent += done


async def store_round(kind: str, args: argparse.Namespace) -> bool:
    n = int(args.residents)
    redis = os.environ.get("TEST_REDIS_URL") if kind == "postgresql" else None
    prefix = f"bench-votes-{uuid.uuid4().hex[:8]}"
    print(f"store: {kind}" + (" (+ Redis for dialogs and the per-chat lock)" if redis else ""))
    line("before", load())
    emu = RemoteEmulator(token=TOKEN, bot_username=BOT_USERNAME)
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
                    clock = ManualClock(NOW)
                    tree = await build_tree(sessionmaker, clock)
                    started = time.perf_counter()
                    residents = await seed(sessionmaker, tree, n)
                    await emu.ask(
                        remote.add_users, [(u, name(u), LANGUAGE) for u in [*residents, OFFICER]]
                    )
                    line(f"{n} residents and their staff", f"{time.perf_counter() - started:.1f} s")
                    overrides: dict[str, object] = {}
                    if redis:
                        overrides.update(redis_url=redis, redis_prefix=prefix)
                    settings = load_settings(
                        bot_token=TOKEN,
                        telegram_api_url=emu.base_url,
                        bot_username=BOT_USERNAME,
                        send_rate=args.send_rate,
                        **overrides,
                    )
                    fast = Sender(sessionmaker, clock, global_rate=SETUP_RATE)
                    app = bootstrap(settings, sessionmaker, clock=clock, sender=fast)
                    try:
                        return await burst(emu, app, clock, tree, residents, errors, args)
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


async def burst(
    emu: RemoteEmulator,
    app: App,
    clock: ManualClock,
    tree: Tree,
    residents: list[int],
    errors: ErrorLog,
    args: argparse.Namespace,
) -> bool:
    n, window = len(residents), float(args.window_s)
    vote_id = await open_vote(app, tree)
    started = time.perf_counter()
    await deliver_all(app)
    prefix = CouncilPress(action="ballot", ref=vote_id, arg=0).pack()[:-1]
    cards = await emu.ask(remote.cards, residents, prefix)
    line(
        "ballot cards delivered (setup)",
        f"{sum(c is not None for c in cards.values())}/{n} "
        f"in {time.perf_counter() - started:.1f} s",
    )

    answers = Answers()
    app.bot.session.middleware(answers)
    errors_before = await emu.ask(remote.error_count)
    statements: Counter[str] = Counter()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[" ".join(statement.split()[:3])] += 1

    bind = app.sessionmaker.kw["bind"].sync_engine
    rng = random.Random(args.seed)
    last: dict[int, int] = {}  # each resident's last press so far: what must count
    rounds: list[Round] = []
    fed: list[Fed] = []
    for number in range(1, max(1, args.rounds) + 1):
        # The echo and the ballots take turns: this machine's speed drifts from one
        # minute to the next, and a ratio of two bursts minutes apart measured the drift.
        if number > 1:  # seen again after the bot's resolution: each round writes as much
            clock.advance(timedelta(minutes=11))
        baseline, echoed = await echo_round(
            lambda k: emu.ask(remote.texts, FIRST_ECHO, k), app.settings, n, window
        )
        presses, seconds = plan(rng, residents, cards, last, args.doubled)
        last.update(presses)
        raws = await emu.ask(
            remote.presses,
            [
                (uid, cards[uid] or 0, CouncilPress(action="ballot", ref=vote_id, arg=c).pack())
                for uid, c in presses
            ],
        )
        event.listen(bind, "after_cursor_execute", seen)
        profile = cProfile.Profile() if args.profile and number == 1 else None
        if profile:
            profile.enable()
        done = await storm(app.dispatcher, app.bot, raws, window)
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
        event.remove(bind, "after_cursor_execute", seen)
        line(
            f"round {number}: presses fed",
            f"{len(done.fed)} ({seconds} second presses) over {done.span:.1f} s, "
            f"fed at most {done.lag * 1000:.0f} ms late",
        )
        press = Figures.of(
            [t - f.started for f in done.fed if (t := answers.callbacks.get(f.key)) is not None]
        )
        handled = Figures.of([f.handled - f.started for f in done.fed])
        rounds.append(Round(baseline, echoed, press, handled, done))
        fed.extend(done.fed)

    async with app.sessionmaker() as session:
        stored = dict(
            (
                await session.execute(
                    select(Ballot.user_id, Ballot.choice).where(Ballot.vote_id == vote_id)
                )
            ).all()
        )
        rows = int(await session.scalar(select(func.count()).where(Ballot.vote_id == vote_id)) or 0)
    async with app.services() as services:
        vote = await services.session.get(Vote, vote_id)
        assert vote is not None
        counts = await services.get(CouncilService).counts(vote)
    by_hand = [Counter(last.values())[i] for i in range(OPTIONS)]
    missing = [uid for uid in last if uid not in stored]
    wrong = [uid for uid, choice in last.items() if uid in stored and stored[uid] != choice]
    line("ballots stored / residents who pressed", f"{rows} / {len(last)}")
    line("ballots missing / not the last press", f"{len(missing)} / {len(wrong)}")
    line("counts: service / by hand from the presses", f"{counts} / {by_hand}")
    told = Counter(
        "ok" if a and not a.get("show_alert") else "alert" if a else "none"
        for a in await emu.ask(remote.answers, [(f.chat, f.key) for f in fed])
    )
    line(
        "presses answered: toast / alert / not answered",
        f"{told['ok']} / {told['alert']} / {told['none']}",
    )
    new_errors = await emu.ask(remote.errors_since, errors_before)
    line(
        "emulator errors (the burst)",
        f"{len(new_errors)}" + (f": {new_errors[:3]}" if new_errors else ""),
    )
    line("bot's logged errors", errors.shown())
    line(
        "SQL statements per press",
        f"{sum(statements.values()) / max(len(fed), 1):.1f} "
        f"(most: {', '.join(f'{k} x{v}' for k, v in statements.most_common(8))})",
    )

    # Staff close it; the result goes to every subscriber at the bot's SEND_RATE.
    app.delivery.sender = Sender(app.sessionmaker, app.clock, global_rate=args.send_rate)
    title = T("council.vote.result_title", community=tree.community.name)
    closed = time.perf_counter()
    async with app.services() as services:
        staffing = await services.staff.staffing(OFFICER)
        vote = await services.get(CouncilService).close_vote(vote_id, staffing)
        recipients = await publish_result(services, T, vote)
        await services.commit()
    counted = time.perf_counter() - closed
    await deliver_all(app)
    published = time.perf_counter() - closed
    got = await emu.ask(remote.got_text, [*residents, OFFICER], title)
    async with app.sessionmaker() as session:
        owed = int(
            await session.scalar(
                select(func.count()).where(
                    OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
                )
            )
            or 0
        )
    line("result: closed and counted in", f"{counted * 1000:.0f} ms")
    line(
        f"result delivered at SEND_RATE {args.send_rate:g}/s",
        f"{got}/{recipients} in {published:.1f} s "
        f"(the rate alone: {recipients / args.send_rate:.1f} s;"
        f" outbox rows owed after: {owed})",
    )
    line("after", load())
    print(header())
    for number, one in enumerate(rounds, 1):
        print(one.echo.row(f"round {number}: echo (bare aiogram)", one.echoed.cpu_per_update()))
        print(one.press.row(f"round {number}: ballot until answered", one.storm.cpu_per_update()))
        print(one.handled.row(f"round {number}: ballot until committed"))
    ratios = sorted(one.ratio for one in rounds)
    print(
        f"  ratio p99 ballot answered / p99 echo ({n} over {window:g} s each), per round: "
        + ", ".join(f"x{one.ratio:.2f}" for one in rounds)
        + f"; median x{ratios[len(ratios) // 2]:.2f} (goal <= 3)"
    )

    ok = True
    if missing or wrong or rows != len(last):
        print(
            f"  FAIL: {len(missing)} missing, {len(wrong)} not the last press, "
            f"{rows} rows for {len(last)}"
        )
        ok = False
    if list(counts) != by_hand:
        print(f"  FAIL: counts {counts} differ from the hand count {by_hand}")
        ok = False
    if got != recipients or owed:
        print(f"  FAIL: the result reached {got} of {recipients}, {owed} rows owed")
        ok = False
    return ok


async def run(args: argparse.Namespace) -> int:
    stores = [s for s in args.stores.split(",") if s]
    if "postgresql" in stores and not os.environ.get("TEST_DATABASE_URL"):
        print("postgresql skipped: TEST_DATABASE_URL is not set")
        stores.remove("postgresql")
    print(
        f"{args.residents} residents pressing a ballot within {args.window_s:g} s, "
        f"{args.doubled:.0%} of them twice"
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
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--window-s", type=float, default=60.0, help="presses spread over")
    parser.add_argument("--doubled", type=float, default=0.05, help="share pressing twice")
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--send-rate", type=float, default=30.0, help="the bot's SEND_RATE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of echo then ballots (the median counts)"
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="print the burst's N costliest functions"
    )
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
