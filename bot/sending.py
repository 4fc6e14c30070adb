"""The one way the bot sends messages it starts itself (push tasks, reminders, notices).

Paced under Telegram's limits (about 30 messages/s per bot, configurable for a
self-hosted Bot API or paid broadcasts; 1/s per chat). A 429 is about the whole bot, not
one chat: every send waits out its ``retry_after`` before going on, and the one that got
it retries a bounded number of times. Users who blocked the bot (403) are marked and
skipped from then on, and one failing recipient never stops the others. Direct replies to
a user's own action do not go through here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock
from storage.users import User, UserRepo

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403 now, or marked blocked before
    FAILED = "failed"  # rejected or still rate-limited after the retries
    GONE = "gone"  # nothing left to send (what the message was about no longer exists)


@dataclass(frozen=True)
class SendResult:
    chat_id: int
    outcome: Outcome
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


# Calls are spaced by their start; the network and the event loop move their arrival by
# a few milliseconds either way, and exactly 1/30 s apart some one-second windows then
# hold 31 at Telegram's end. Spacing them 2.5% wider leaves 25 ms of such jitter per
# second unseen (bench/notices.py counts the windows that are not: 1.5% still let one or
# two through per 2,000 on a busy machine).
HEADROOM = 0.975
SLACK = 0.2  # how much of one interval a late call's successor may catch up


class RateLimiter:
    """Spaces calls at least ``interval`` apart, measured from when each actually went
    (a call the event loop let go late does not let the next one go early); waiting
    callers queue in order."""

    def __init__(
        self, per_second: float, *, sleep: Sleep, monotonic: Monotonic, headroom: float = 1.0
    ) -> None:
        self.interval = 1.0 / (per_second * headroom)
        self._next = 0.0
        self._sleep = sleep
        self._monotonic = monotonic
        self._turn = asyncio.Lock()

    def hold_until(self, moment: float) -> None:
        """No call before ``moment`` (a 429's pause): the next goes then, the rest spaced
        after it."""
        self._next = max(self._next, moment)

    async def wait(self) -> None:
        async with self._turn:
            now = self._monotonic()
            slot = max(now, self._next)
            if slot > now:
                await self._sleep(slot - now)
            went = max(self._monotonic(), slot)
            # On schedule, but a call let go late pushes the schedule back (all but a
            # sliver), so the next cannot follow it closer than the limit allows.
            self._next = max(slot + self.interval, went + self.interval * (1 - SLACK))


WINDOW_WAIT_CAP = 0.5  # a send that has not come back by then does not hold the others longer


class ArrivalWindow:
    """At most ``size`` sends in any one second where they arrive, whatever delays them
    between going and arriving (a busy event loop, the network): a send may start only a
    second after the one ``size`` sends before it came back, its answer being the proof
    that it had arrived. The spacing limiter keeps the rate; this keeps the jitter from
    ever putting one too many into a second. A send that has not come back within
    WINDOW_WAIT_CAP is taken to have arrived when that wait ended."""

    def __init__(self, size: int, *, sleep: Sleep, monotonic: Monotonic) -> None:
        self._size = max(1, size)
        self._sleep = sleep
        self._monotonic = monotonic
        self._sent: deque[asyncio.Future[float]] = deque()
        self._turn = asyncio.Lock()

    async def enter(self) -> Callable[[], None]:
        """Wait for this send's place; call what it returns once the send came back."""
        async with self._turn:
            if len(self._sent) >= self._size:
                oldest = self._sent.popleft()
                try:
                    came_back = await asyncio.wait_for(asyncio.shield(oldest), WINDOW_WAIT_CAP)
                except TimeoutError:
                    came_back = self._monotonic()
                if (wait := came_back + 1.0 - self._monotonic()) > 0:
                    await self._sleep(wait)
            sent: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            self._sent.append(sent)

        def back() -> None:
            if not sent.done():
                sent.set_result(self._monotonic())

        return back


class Sender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._monotonic = monotonic
        self._global = RateLimiter(global_rate, sleep=sleep, monotonic=monotonic, headroom=HEADROOM)
        self._window = ArrivalWindow(int(global_rate), sleep=sleep, monotonic=monotonic)
        self._per_chat_rate = per_chat_rate
        self._chats: dict[int, RateLimiter] = {}
        self._paused_until = 0.0
        self.pauses = 0  # 429s seen: the whole sender waited each time

    @property
    def rate(self) -> float:
        """Messages a second actually aimed at: the configured rate less the headroom."""
        return 1.0 / self._global.interval

    async def _wait_turn(self, chat_id: int) -> Callable[[], None]:
        """Wait until this send may go; returns what to call once it came back."""
        await self._wait_out_pause()
        await self._chat_limiter(chat_id).wait()
        while True:
            await self._global.wait()
            if self._paused_until <= self._monotonic():
                back = await self._window.enter()
                if self._paused_until <= self._monotonic():
                    return back
                back()  # the place is given up unused: nothing went
            # A 429 came in while this send waited for its slot: the slot is void (every
            # sender holding one would otherwise go at once when the pause ends). Wait
            # it out and queue again; the limiter's schedule starts after the pause.
            await self._wait_out_pause()

    async def _wait_out_pause(self) -> None:
        while (pause := self._paused_until - self._monotonic()) > 0:
            await self._sleep(pause)

    def _pause(self, seconds: float) -> None:
        self.pauses += 1
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        self._global.hold_until(self._paused_until)

    def _chat_limiter(self, chat_id: int) -> RateLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            limiter = RateLimiter(
                self._per_chat_rate, sleep=self._sleep, monotonic=self._monotonic, headroom=HEADROOM
            )
            self._chats[chat_id] = limiter
        return limiter

    async def send(
        self, chat_id: int, call: Callable[[], Awaitable[T]], *, skip_check: bool = False
    ) -> SendResult:
        """Run one Bot API call aimed at ``chat_id`` under the limits."""
        if not skip_check and await self._is_blocked(chat_id):
            return SendResult(chat_id, Outcome.BLOCKED, error="blocked earlier")
        attempt = 0
        while True:
            back = await self._wait_turn(chat_id)
            try:
                return SendResult(chat_id, Outcome.SENT, value=await call())
            except TelegramRetryAfter as exc:
                attempt += 1
                if attempt > self.max_retries or exc.retry_after > self.max_retry_wait:
                    log.warning("chat %s still rate limited after %s tries", chat_id, attempt)
                    return SendResult(chat_id, Outcome.FAILED, error=exc.message)
                self._pause(float(exc.retry_after))
            except TelegramForbiddenError as exc:
                await self._mark_blocked(chat_id)
                return SendResult(chat_id, Outcome.BLOCKED, error=exc.message)
            except TelegramNetworkError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    return SendResult(chat_id, Outcome.FAILED, error=str(exc))
                await self._sleep(min(2.0**attempt, self.max_retry_wait))
            except TelegramAPIError as exc:
                log.warning("sending to %s rejected: %s", chat_id, exc.message)
                return SendResult(chat_id, Outcome.FAILED, error=exc.message)
            finally:
                back()

    async def send_many(
        self,
        chat_ids: Iterable[int],
        make_call: Callable[[int], Callable[[], Awaitable[Any]]],
    ) -> list[SendResult]:
        """Send to each recipient in turn; blocked users are looked up once for the batch."""
        ids = list(dict.fromkeys(chat_ids))
        blocked = await self._blocked_among(ids)
        results = []
        for chat_id in ids:
            if chat_id in blocked:
                results.append(SendResult(chat_id, Outcome.BLOCKED, error="blocked earlier"))
                continue
            try:
                results.append(await self.send(chat_id, make_call(chat_id), skip_check=True))
            except Exception as exc:  # one recipient's bug must not stop the rest
                log.exception("unexpected error sending to %s", chat_id)
                results.append(SendResult(chat_id, Outcome.FAILED, error=repr(exc)))
        return results

    async def _is_blocked(self, chat_id: int) -> bool:
        async with self.sessionmaker() as session:
            return await UserRepo(session).is_blocked(chat_id)

    async def _blocked_among(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        async with self.sessionmaker() as session:
            stmt = select(User.id).where(User.id.in_(ids), User.blocked_at.is_not(None))
            return {int(i) for i in (await session.execute(stmt)).scalars().all()}

    async def _mark_blocked(self, chat_id: int) -> None:
        async with self.sessionmaker() as session:
            await UserRepo(session).mark_blocked(chat_id, self.clock.now())
            await session.commit()
        log.info("user %s blocked the bot; skipping them from now on", chat_id)
