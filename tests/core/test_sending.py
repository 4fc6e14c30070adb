"""The outbound sending layer under Telegram's limits, 429s and 403s, over real HTTP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sending import HEADROOM, Outcome, RateLimiter, Sender
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.users import User, UserRepo
from tests.conftest import RecordingSleep
from tests.harness import Harness


def _known(emu: BotAPIEmulator, user_id: int) -> None:
    """A user who has opened the chat (Telegram refuses to message anyone else)."""
    emu.send_text(emu.add_user(user_id=user_id, first_name=f"u{user_id}"), "/start", queue=False)


async def _users(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, ids: list[int]
) -> None:
    async with sessionmaker() as session:
        for uid in ids:
            await UserRepo(session).touch(
                user_id=uid,
                first_name=f"u{uid}",
                last_name=None,
                username=None,
                telegram_language="zh",
                now=clock.now(),
            )
        await session.commit()


async def test_429_is_retried_403_marks_blocked_and_nobody_else_suffers(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    ids = [3001, 3002, 3003, 3004]
    for uid in ids:
        _known(emu, uid)
    await _users(sessionmaker, clock, ids)
    emu.fail(3001, status=429, retry_after=2, times=2)
    emu.block(3002)
    sleep = RecordingSleep()
    sender = Sender(sessionmaker, clock, sleep=sleep, monotonic=sleep.monotonic)
    bot = harness.bot

    results = await sender.send_many(
        ids, lambda chat_id: lambda: bot.send_message(chat_id, f"通知 {chat_id}")
    )

    assert [r.outcome for r in results] == [
        Outcome.SENT,
        Outcome.BLOCKED,
        Outcome.SENT,
        Outcome.SENT,
    ]
    # Waited retry_after twice (the per-chat pacing then needs no extra wait), then got through.
    assert sleep.calls.count(2.0) == 2
    assert [m.text for m in emu.chat(3001).bot_messages] == ["通知 3001"]
    assert [m.text for m in emu.chat(3004).bot_messages] == ["通知 3004"]
    async with sessionmaker() as session:
        blocked = await session.get(User, 3002)
        assert blocked is not None and blocked.blocked_at == clock.now()

    # From now on the blocked user is skipped without a request.
    before = len(emu.sent_to(3002))
    again = await sender.send_many([3002, 3003], lambda cid: lambda: bot.send_message(cid, "再次"))
    assert [r.outcome for r in again] == [Outcome.BLOCKED, Outcome.SENT]
    assert len(emu.sent_to(3002)) == before


async def test_retries_are_bounded_and_rejections_do_not_stop_the_batch(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    for uid in (3101, 3102):
        _known(emu, uid)
    emu.fail(3101, status=429, retry_after=1, times=50)
    sleep = RecordingSleep()
    sender = Sender(sessionmaker, clock, sleep=sleep, monotonic=sleep.monotonic, max_retries=3)
    bot = harness.bot
    results = await sender.send_many(
        [3101, 3102, 99999],  # 99999 never talked to the bot: "chat not found"
        lambda cid: lambda: bot.send_message(cid, "<b>hi</b>"),
    )
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.SENT, Outcome.FAILED]
    assert sleep.calls.count(1.0) == 3
    assert len(emu.sent_to(3101)) == 4  # the first try and three retries
    assert results[2].error is not None and "chat not found" in results[2].error


async def test_rate_limiter_spaces_calls() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(30.0, sleep=sleep, monotonic=lambda: now[0])
    for _ in range(61):
        await limiter.wait()
    # 61 calls at 30/s take two seconds: the first is free, each next one waits 1/30 s.
    assert abs(now[0] - 2.0) < 1e-9
    assert len(waits) == 60


async def test_per_chat_pacing_is_one_per_second(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    _known(emu, 3201)
    _known(emu, 3202)
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    sender = Sender(sessionmaker, clock, sleep=sleep, monotonic=lambda: now[0])
    bot = harness.bot
    for i in range(3):
        await sender.send(3201, lambda i=i: bot.send_message(3201, f"m{i}"))
    # Three messages to one chat: 1 s apart, and the headroom kept under the limit.
    assert abs(now[0] - (100.0 + 2 / HEADROOM)) < 1e-6 and 2 / HEADROOM > 2.0
    start = now[0]
    await sender.send(3202, lambda: bot.send_message(3202, "other chat"))
    assert now[0] - start < 0.05  # another chat is not held back by the first one
    assert len(emu.chat(3201).bot_messages) == 3


async def test_senders_queued_during_a_429_pause_do_not_all_go_when_it_ends(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """Eight concurrent senders (the outbox's workers) through one Sender in real time:
    a 429 arrives while the others hold their turns; when its pause ends they go one
    by one at the configured rate, so no one-second window at the emulator holds more
    than the limit (before, all eight went at once the moment the pause ended)."""
    from asyncio import gather

    from emulator.limits import Limits

    ids = list(range(3101, 3161))
    for uid in ids:
        _known(emu, uid)
    await _users(sessionmaker, clock, ids)
    emu.limits = Limits(global_per_second=20, per_chat_per_second=1, enforce=False)
    emu.inject_429_every(25, retry_after=1)
    sender = Sender(sessionmaker, clock, global_rate=20)
    bot = harness.bot
    queue = list(ids)

    async def worker() -> list[Outcome]:
        done = []
        while queue:
            chat_id = queue.pop(0)
            result = await sender.send(chat_id, lambda c=chat_id: bot.send_message(c, "通知"))
            done.append(result.outcome)
        return done

    outcomes = [o for batch in await gather(*(worker() for _ in range(8))) for o in batch]
    assert outcomes.count(Outcome.SENT) == len(ids)
    assert emu.injected_429_count >= 2 and sender.pauses >= 2
    assert emu.violations == []


async def test_a_late_arrival_never_puts_one_too_many_into_a_second() -> None:
    """Sends spaced by the rate limiter, one of them held up on its way (a busy event
    loop, the network) and arriving late: the send ``size`` places after it would land
    within the same second. The arrival window holds that one back until a second after
    the late one came back; without it the second holds one too many."""
    import asyncio
    import time

    from bot.sending import HEADROOM, ArrivalWindow, RateLimiter

    async def run(window: ArrivalWindow | None) -> int:
        limiter = RateLimiter(5, sleep=asyncio.sleep, monotonic=time.monotonic, headroom=HEADROOM)
        arrivals: list[float] = []
        tasks = []

        async def travel(delay: float, back: object) -> None:
            await asyncio.sleep(delay)
            arrivals.append(time.monotonic())
            if callable(back):
                back()

        for i in range(7):
            await limiter.wait()
            back = await window.enter() if window else None
            tasks.append(asyncio.create_task(travel(0.15 if i == 0 else 0.0, back)))
        await asyncio.gather(*tasks)
        arrivals.sort()
        return max(sum(1 for b in arrivals if a <= b < a + 1.0) for a in arrivals)

    assert await run(None) == 6  # the late first one and the next five share a second
    window = ArrivalWindow(5, sleep=asyncio.sleep, monotonic=time.monotonic)
    assert await run(window) == 5
