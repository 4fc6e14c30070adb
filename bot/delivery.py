"""Delivers the outbox: renders each owed message in its recipient's language with the
renderer its feature registered for the message's kind, and sends it through the paced
sending layer.

Several workers send at once (Telegram allows about 30 messages a second, each one takes
a round trip), each claiming one message at a time: the most urgent lane first, never a
second message for a chat that has one in flight, never a row another worker or process
holds. The claim is committed before the send and the result after it, each in a short
transaction of its own; claims left by a process that died are taken back after a lease
(see storage.outbox for what that means for duplicates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Message, MessageId
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.faults import crash_point
from bot.i18n import Translator, pick_language, translator
from bot.sending import Outcome, Sender
from storage.clock import Clock
from storage.outbox import OutboxMessage, OutboxRepo, Recovered
from storage.roles import Staffing
from storage.services import Config, Services
from storage.users import User

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Any]]

LEASE = timedelta(seconds=60)  # a claim older than this belongs to a sender that stopped
HEARTBEAT_SECONDS = 20.0  # a slow send (a long 429 wait) renews its claim this often
IDLE_SECONDS = 2.0  # how long an idle worker waits before looking again unprompted
RECOVER_EVERY = 10.0


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
        lease: timedelta = LEASE,
        shared_database: bool | None = None,
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
        self.lease = lease
        self.me = f"{secrets.token_hex(4)}"
        # SQLite serves one process: at start-up every claim is this process's own past.
        # A database other processes share waits out the lease instead.
        self.shared_database = (
            shared_database
            if shared_database is not None
            else sessionmaker.kw.get("bind") is not None
            and sessionmaker.kw["bind"].dialect.name != "sqlite"
        )
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[int] = set()  # chats this process has a message in flight to
        self.sent = 0

    # --- running ----------------------------------------------------------------------

    def kick(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        # Before any worker claims anything: a single process takes back every claim it
        # left when it stopped; processes sharing a database wait out the lease.
        self._report(await self.recover(everything=not self.shared_database))
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"outbox-worker-{i}")
            for i in range(self.workers)
        ]
        self._tasks.append(asyncio.create_task(self._janitor(), name="outbox-recovery"))

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
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _worker(self) -> None:
        while True:
            try:
                handled = await self.deliver_one()
            except Exception:
                log.exception("outbox delivery failed; retrying shortly")
                handled = False
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_SECONDS)
                self._wake.clear()

    async def _janitor(self) -> None:
        while True:
            await asyncio.sleep(RECOVER_EVERY)
            try:
                self._report(await self.recover())
            except Exception:
                log.exception("outbox recovery failed")

    async def recover(self, *, everything: bool = False) -> Recovered:
        """Take back claims of senders that stopped (``everything``: all claims, when
        this is the only process and it just started)."""
        now = self.clock.now()
        older_than = now + timedelta(seconds=1) if everything else now - self.lease
        async with self.sessionmaker() as session:
            recovered = await OutboxRepo(session).recover(older_than, now, self.at_most_once)
            await session.commit()
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
        heartbeat = asyncio.create_task(self._heartbeat(message.id))
        try:
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
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
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

    async def _heartbeat(self, message_id: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            async with self.sessionmaker() as session:
                await OutboxRepo(session).touch(message_id, self.clock.now())
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
