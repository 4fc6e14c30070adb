"""Delivers the outbox: renders each owed message in its recipient's language with the
renderer its feature registered for the message's kind, and sends it through the paced
sending layer.

Several workers send at once (Telegram allows about 30 messages a second, each one takes
a round trip), each claiming one message at a time: the most urgent lane first, never a
second message for a chat that has one in flight, never a row another worker or process
holds. The claim is committed before the send and the result after it, each in a short
transaction of its own. A claim lasts as long as the process that made it: each process
beats every few seconds, and the claims of one that went silent, or that a restart on
the same machine finds gone, are taken back at once (storage.processes; see
storage.outbox for what that means for duplicates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Message, MessageId
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.faults import crash_point
from bot.i18n import Translator, pick_language, translator
from bot.sending import Outcome, Sender
from storage.clock import Clock, SystemClock
from storage.outbox import OutboxMessage, OutboxRepo, Recovered
from storage.processes import ProcessRepo
from storage.roles import Staffing
from storage.services import Config, Services
from storage.users import User

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Any]]

SILENT_FOR = timedelta(seconds=10)  # a process that has not beaten for this long is dead
BEATS_PER_SILENCE = 4  # beats within SILENT_FOR: one late beat is not death
IDLE_SECONDS = 2.0  # how long an idle worker waits before looking again unprompted


def machine_identity() -> str:
    """Where this process's pid means something: the host and its pid namespace."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{namespace}"[:200]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


class Gone(Exception):
    """What the message is about no longer exists (or no longer concerns the recipient):
    there is nothing to send, and nothing to retry."""


@dataclass
class Rendering:
    """What a renderer needs to turn one outbox message into Bot API calls."""

    bot: Bot
    services: Services
    t: Translator
    settings: Settings
    message: OutboxMessage
    user: User | None
    _staffing: Staffing | None = field(default=None, repr=False)

    @property
    def chat_id(self) -> int:
        return self.message.user_id

    @property
    def params(self) -> dict[str, Any]:
        return self.message.params

    async def staffing(self) -> Staffing:
        """The recipient's roles: a card shows only the buttons they may press."""
        if self._staffing is None:
            self._staffing = await self.services.staff.staffing(
                self.chat_id, config_admins=self.settings.admin_ids
            )
        return self._staffing


Renderer = Callable[[Rendering], Awaitable[list[Send]]]


def _message_id(value: Any) -> int | None:
    if isinstance(value, Message | MessageId):
        return int(value.message_id)
    if isinstance(value, list) and value and isinstance(value[-1], Message):
        return int(value[-1].message_id)
    return None


class Delivery:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        settings: Settings,
        clock: Clock,
        config: Config,
        renderers: Mapping[str, Renderer],
        *,
        at_most_once: Collection[str] = (),
        workers: int = 8,
        silent_for: timedelta = SILENT_FOR,
        shared_database: bool | None = None,
        wall: Clock | None = None,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.config = config
        self.renderers = dict(renderers)
        self.at_most_once = frozenset(at_most_once)
        self.workers = max(1, workers)
        self.silent_for = silent_for
        self.beat_every = silent_for.total_seconds() / BEATS_PER_SILENCE
        # Liveness is real time, whatever the clock the tests and the sandbox move says.
        self.wall: Clock = wall or SystemClock()
        self.me = secrets.token_hex(8)
        self.machine = machine_identity()
        self.pid = os.getpid()
        self._beaten_at: float | None = None  # monotonic time of the last heartbeat
        # SQLite serves one process: at start-up every claim is this process's own past.
        # On a database other processes share, only the dead ones' claims are taken.
        self.shared_database = (
            shared_database
            if shared_database is not None
            else sessionmaker.kw.get("bind") is not None
            and sessionmaker.kw["bind"].dialect.name != "sqlite"
        )
        # Idle workers, each waiting on its own future: a kick wakes one, and a worker that
        # found something to send wakes the next, so a burst fans out to every worker while
        # a single message costs one look, not one per worker.
        self._idle: deque[asyncio.Future[None]] = deque()
        self._unheard_kicks = 0  # kicks that came while no worker was idle
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[int] = set()  # chats this process has a message in flight to
        self.sent = 0

    # --- running ----------------------------------------------------------------------

    def kick(self) -> None:
        """Something may be owed now: one idle worker looks (if none is idle, the busy ones
        look again when they finish)."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._unheard_kicks += 1

    async def start(self) -> None:
        # Before any worker claims anything: a single process takes back every claim it
        # left when it stopped; processes sharing a database take back those of the
        # processes that are gone (a predecessor on this machine is, at once).
        await self.beat()
        self._report(await self.recover(everything=not self.shared_database))
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"outbox-worker-{i}")
            for i in range(self.workers)
        ]
        self._tasks.append(asyncio.create_task(self._janitor(), name="outbox-heartbeat"))

    def _report(self, recovered: Recovered) -> None:
        if recovered.released or recovered.uncertain:
            log.warning(
                "outbox: %d message(s) were in flight when a sender stopped: %d sent again, "
                "%d set aside as uncertain",
                recovered.released + recovered.uncertain,
                recovered.released,
                recovered.uncertain,
            )
            self.kick()

    async def stop(self) -> None:
        started = bool(self._tasks)
        # Told as well as cancelled: a cancellation that lands inside a database call can
        # come back as that call's error (and a kick can resolve an idle worker's wait as
        # it is cancelled); a worker that missed it still sees the flag and ends.
        self._stopping = True
        for waiter in self._idle:
            if not waiter.done():
                waiter.set_result(None)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if started:
            # What this process still held goes back to the others now, not when its
            # silence is noticed.
            try:
                await self._take_back([self.me], self.clock.now() - self.silent_for)
            except Exception:
                log.exception("outbox: could not give back this process's claims")

    async def _worker(self) -> None:
        while not self._stopping:
            unheard = self._unheard_kicks
            try:
                handled = await self.deliver_one()
            except Exception:
                log.exception("outbox delivery failed; retrying shortly")
                handled = False
            if handled:
                self.kick()  # there may be more: a colleague looks too
            elif self._unheard_kicks == unheard:  # else: something came while it looked
                await self._idle_until_kicked()

    async def _idle_until_kicked(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            # Unprompted now and then too: messages come due (a quiet hour ends, a retry's
            # pause passes) without anybody committing anything.
            await asyncio.wait({waiter}, timeout=IDLE_SECONDS)
        finally:
            with contextlib.suppress(ValueError):
                self._idle.remove(waiter)

    async def _janitor(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.beat_every)
            try:
                await self.beat()
                self._report(await self.recover())
            except Exception:
                log.exception("outbox heartbeat or recovery failed")

    async def beat(self) -> None:
        """Say this process is alive (registering it on the first beat)."""
        async with self.sessionmaker() as session:
            await ProcessRepo(session).beat(self.me, self.machine, self.pid, self.wall.now())
            await session.commit()
        self._beaten_at = time.monotonic()

    async def _alive(self) -> None:
        """Beat now if the last beat is getting old: claims are made only by a process
        the others know to be alive (also when no heartbeat task runs: CLI, tests)."""
        if self._beaten_at is None or time.monotonic() - self._beaten_at > self.beat_every:
            self._beaten_at = time.monotonic()  # one beat for all the workers that see it
            await self.beat()

    async def recover(self, *, everything: bool = False) -> Recovered:
        """Take back the claims of processes that are gone (``everything``: every other
        process, when this is the only one and it just started)."""
        async with self.sessionmaker() as session:
            dead = await ProcessRepo(session).dead(
                self.me,
                self.wall.now(),
                self.silent_for,
                machine=self.machine,
                pid=self.pid,
                pid_alive=pid_alive,
                everyone_else=everything,
            )
        now = self.clock.now()
        orphaned_before = now + timedelta(seconds=1) if everything else now - self.silent_for
        return await self._take_back(dead, orphaned_before)

    async def _take_back(self, dead: list[str], orphaned_before: datetime) -> Recovered:
        async with self.sessionmaker() as session:
            recovered = await OutboxRepo(session).recover(
                dead, orphaned_before, self.clock.now(), self.at_most_once
            )
            await ProcessRepo(session).forget(dead)
            await session.commit()
        if dead:
            log.info("outbox: process(es) %s gone", ", ".join(dead))
        return recovered

    async def deliver_pending(self, limit: int = 10_000) -> int:
        """Send what is owed now, one after the other, most urgent first; returns how
        many were handled. (The running bot's workers do the same concurrently.)"""
        done = 0
        while done < limit and await self.deliver_one():
            done += 1
        return done

    # --- one message --------------------------------------------------------------------

    async def deliver_one(self) -> bool:
        """Claim, send and record one message; False when nothing can be sent now."""
        await self._alive()
        async with self.sessionmaker() as session:
            message = await OutboxRepo(session).claim(
                self.clock.now(), self.me, avoid=self._sending
            )
            if message is None:
                return False
            await session.commit()
        self._sending.add(message.user_id)
        try:
            await self._send_claimed(message)
        finally:
            self._sending.discard(message.user_id)
        return True

    async def _send_claimed(self, message: OutboxMessage) -> None:
        async with self.sessionmaker() as session:
            services = Services(session, self.clock, self.config)
            try:
                outcome, error, sent_id = await self._deliver(services, message)
            except Gone as exc:
                outcome, error, sent_id = Outcome.GONE, str(exc) or "gone", None
            except Exception as exc:  # a rendering bug must not block the queue
                log.exception("outbox message %s could not be rendered", message.id)
                outcome, error, sent_id = Outcome.FAILED, repr(exc), None
            await session.rollback()  # rendering only reads
        if outcome is Outcome.SENT:
            crash_point("delivery.sent")
        async with self.sessionmaker() as session:
            repo = OutboxRepo(session)
            now = self.clock.now()
            if outcome is Outcome.SENT:
                await repo.mark_sent(message.id, now, sent_id)
                self.sent += 1
            else:
                final = outcome in (Outcome.BLOCKED, Outcome.GONE)
                await repo.mark_failed(message, now, error or outcome.value, final=final)
            await session.commit()

    async def _deliver(
        self, services: Services, message: OutboxMessage
    ) -> tuple[Outcome, str | None, int | None]:
        user = await services.users.get(message.user_id)
        if user is not None and user.blocked_at is not None:
            return Outcome.BLOCKED, "blocked", None
        renderer = self.renderers.get(message.kind)
        if renderer is None:
            raise Gone(f"no renderer for {message.kind!r}")
        language = pick_language(
            user.language if user else None,
            user.telegram_language if user else None,
            self.settings.default_language,
        )
        rendering = Rendering(
            self.bot, services, translator(language), self.settings, message, user
        )
        sent_id = None
        for send in await renderer(rendering):
            result = await self.sender.send(message.user_id, send, skip_check=True)
            if not result.ok:
                return result.outcome, result.error, None
            sent_id = _message_id(result.value) or sent_id
        return Outcome.SENT, None, sent_id
