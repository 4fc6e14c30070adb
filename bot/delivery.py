"""Delivers the outbox: renders each owed message in its recipient's language with the
renderer its feature registered for the message's kind, and sends it through the paced
sending layer.

Several workers send at once (Telegram allows about 30 messages a second, each one takes
a round trip). Messages are claimed for them in batches, one statement for as many
workers as are free: the most urgent lane first, never a second message for a chat that
has one in flight, never a row another worker or process holds. A batch is rendered in
one session: its recipients are read in one statement, and what several of its messages
share (a notice, its place) is read once. The claim is committed before the send; the
outcomes are written together with the next claim, or within RECORD_WITHIN, and a chat's
next message is claimed only once its last one is written. A claim lasts as long as the
process that made it: each process beats every few seconds, and the claims of one that
went silent, or that a restart on the same machine finds gone, are taken back at once
(storage.processes; see storage.outbox for what that means for duplicates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Message, MessageId
from sqlalchemy import event
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
from storage.users import User, UserRepo

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Any]]

SILENT_FOR = timedelta(seconds=10)  # a process that has not beaten for this long is dead
BEATS_PER_SILENCE = 4  # beats within SILENT_FOR: one late beat is not death
IDLE_SECONDS = 2.0  # how long an idle worker waits before looking again unprompted
PUMP = "outbox-pump"
RECORD_WITHIN = 0.25  # seconds an outcome may wait to be written (with the next claim)


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


@dataclass
class Prepared:
    """A claimed message, rendered: what to send, or why nothing will be."""

    message: OutboxMessage
    sends: list[Send]
    outcome: Outcome | None = None
    error: str | None = None


@dataclass(frozen=True)
class Record:
    """How a claimed message fared, to be written."""

    message: OutboxMessage
    outcome: Outcome
    error: str | None
    sent_id: int | None


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
        # Claimed together once this many workers are free (or at once after a commit):
        # the others' sends keep the pace meanwhile.
        self.batch = max(1, self.workers * 3 // 4)
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
        self._stir = asyncio.Event()  # something may be owed, or a worker came free
        self._kicked = False  # something was committed: claim at once, even one
        self._tasks: list[asyncio.Task[None]] = []
        self._copies: set[asyncio.Task[None]] = set()  # messages being sent
        self._sending: set[int] = set()  # chats this process has a message in flight to
        self._records: list[Record] = []  # outcomes not yet written
        self._recording: asyncio.Task[None] | None = None
        self._record_waiting = False  # the recording task is only waiting, not writing
        self._stopping = False
        self.sent = 0

    # --- running ----------------------------------------------------------------------

    def kick(self) -> None:
        self._kicked = True
        self._stir.set()

    async def start(self) -> None:
        # Before any worker claims anything: a single process takes back every claim it
        # left when it stopped; processes sharing a database take back those of the
        # processes that are gone (a predecessor on this machine is, at once).
        await self.beat()
        self._report(await self.recover(everything=not self.shared_database))
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._pump(), name=PUMP),
            asyncio.create_task(self._janitor(), name="outbox-heartbeat"),
        ]

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
        # A claim or a write under way is let finish (a few milliseconds): cut short, its
        # connection could be left inside a transaction that holds its rows.
        self._stopping = True
        self._stir.set()
        pump = [task for task in self._tasks if task.get_name() == PUMP]
        if pump:
            await asyncio.wait(pump, timeout=5.0)  # then cancelled like the rest
        copies = list(self._copies)
        for task in [*self._tasks, *copies]:
            task.cancel()
        for task in [*self._tasks, *copies]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._settle_recording()
        self._tasks, self._copies = [], set()
        self._stopping = False
        if started:
            # What was sent is written down first: given back, it would go again.
            try:
                await self._flush()
            except Exception:
                log.exception("outbox: could not record what was sent")
            # What this process still held goes back to the others now, not when its
            # silence is noticed.
            try:
                await self._take_back([self.me], self.clock.now() - self.silent_for)
            except Exception:
                log.exception("outbox: could not give back this process's claims")

    async def _pump(self) -> None:
        """Claim messages for the workers that are free, a batch per round trip, and
        send each in a task of its own (at most ``workers`` at once). Under a steady
        flow it waits until three quarters of them are free, so a batch is worth its
        claim (the others' sends keep the pace meanwhile); a
        commit (``kick``) has whatever is owed claimed at once, the urgent lane first."""
        while not self._stopping:
            self._stir.clear()
            kicked, self._kicked = self._kicked, False
            free = self.workers - len(self._copies)
            if free > 0 and (kicked or free >= self.batch):
                try:
                    prepared = await self._prepare(free)
                except Exception:
                    log.exception("outbox delivery failed; retrying shortly")
                    prepared = []
                if self._stopping:
                    break  # what was just claimed goes back with the rest on stop
                for item in prepared:
                    task = asyncio.create_task(self._deliver_prepared(item))
                    self._copies.add(task)
                    task.add_done_callback(self._done)
                if prepared and len(prepared) == free:
                    continue  # more may be owed: claimed again as workers come free
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stir.wait(), timeout=IDLE_SECONDS)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._copies.discard(task)
        self._stir.set()

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

    # --- one batch ----------------------------------------------------------------------

    async def deliver_one(self) -> bool:
        """Claim, send and record one message; False when nothing can be sent now."""
        prepared = await self._prepare(1)
        if not prepared:
            return False
        await self._deliver_prepared(prepared[0])
        await self._flush()
        return True

    async def _prepare(self, limit: int) -> list[Prepared]:
        """Claim up to ``limit`` messages (what was sent meanwhile is recorded in the
        same transaction) and render them, all in one session: the recipients are read
        in one statement, and what several of them share (a notice, its place) once."""
        await self._alive()
        records, self._records = self._records, []
        try:
            async with self.sessionmaker() as session:
                await self._write(OutboxRepo(session), records)
                messages = await OutboxRepo(session).claim_many(
                    self.clock.now(), self.me, limit, avoid=self._sending
                )
                await session.commit()
        except BaseException:
            self._records[:0] = records  # written next time
            raise
        self._recorded(records)
        if not messages:
            return []
        self._sending.update(m.user_id for m in messages)
        try:
            return await self._render(messages)
        except Exception as exc:  # claimed: recorded as failed (tried again later), not held
            log.exception("outbox messages could not be rendered")
            return [Prepared(m, [], Outcome.FAILED, repr(exc)) for m in messages]
        except BaseException:
            self._sending.difference_update(m.user_id for m in messages)
            raise

    async def _render(self, messages: list[OutboxMessage]) -> list[Prepared]:
        prepared: list[Prepared] = []
        session: AsyncSession | None = None
        # The session's identity map holds what was read only while something refers to
        # it: what one message read (its recipient, a notice, its place) is kept here for
        # the next ones, so each is read once per batch.
        kept: list[object] = []
        try:
            for message in messages:
                if session is None:
                    session = self.sessionmaker()
                    event.listen(
                        session.sync_session,
                        "loaded_as_persistent",
                        lambda _, instance: kept.append(instance),
                    )
                    await UserRepo(session).get_many([m.user_id for m in messages])
                services = Services(session, self.clock, self.config)
                try:
                    sends = await self._rendered(services, message)
                    if isinstance(sends, Outcome):
                        prepared.append(Prepared(message, [], sends, sends.value))
                    else:
                        prepared.append(Prepared(message, sends))
                except Gone as exc:
                    prepared.append(Prepared(message, [], Outcome.GONE, str(exc) or "gone"))
                except Exception as exc:  # a rendering bug must not block the queue
                    log.exception("outbox message %s could not be rendered", message.id)
                    prepared.append(Prepared(message, [], Outcome.FAILED, repr(exc)))
                    # Its transaction may be broken: the rest read in a fresh one (closed,
                    # not rolled back: what was read for the others stays loaded).
                    await session.close()
                    session = None
        finally:
            if session is not None:
                await session.close()  # rendering only reads
        return prepared

    async def _rendered(self, services: Services, message: OutboxMessage) -> list[Send] | Outcome:
        user = await services.users.get(message.user_id)
        if user is not None and user.blocked_at is not None:
            return Outcome.BLOCKED
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
        return await renderer(rendering)

    async def _deliver_prepared(self, item: Prepared) -> None:
        """Send one rendered message; its outcome is written with the next claim, or
        within RECORD_WITHIN (the chat stays in flight until then)."""
        message = item.message
        try:
            outcome, error, sent_id = await self._send(item)
        except Exception as exc:
            log.exception("outbox message %s could not be sent", message.id)
            outcome, error, sent_id = Outcome.FAILED, repr(exc), None
        except BaseException:
            self._sending.discard(message.user_id)  # cancelled: given back on stop
            raise
        if outcome is Outcome.SENT:
            crash_point("delivery.sent")
        self._records.append(Record(message, outcome, error, sent_id))
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_soon())

    async def _send(self, item: Prepared) -> tuple[Outcome, str | None, int | None]:
        if item.outcome is not None:
            return item.outcome, item.error or item.outcome.value, None
        sent_id = None
        for send in item.sends:
            result = await self.sender.send(item.message.user_id, send, skip_check=True)
            if not result.ok:
                return result.outcome, result.error, None
            sent_id = _message_id(result.value) or sent_id
        return Outcome.SENT, None, sent_id

    async def _record_soon(self) -> None:
        self._record_waiting = True
        try:
            await asyncio.sleep(RECORD_WITHIN)
        finally:
            self._record_waiting = False
        try:
            await self._flush()
        except Exception:
            log.exception("outbox: could not record what was sent; trying again")
            self._recording = None
            self._stir.set()

    async def _settle_recording(self) -> None:
        """The recording task ends: cancelled while it only waits, else let finish."""
        task, self._recording = self._recording, None
        if task is None or task.done():
            return
        if self._record_waiting:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _flush(self) -> None:
        """Write down every outcome not yet written, in one transaction."""
        records, self._records = self._records, []
        if not records:
            return
        try:
            async with self.sessionmaker() as session:
                await self._write(OutboxRepo(session), records)
                await session.commit()
        except BaseException:
            self._records[:0] = records
            raise
        self._recorded(records)

    async def _write(self, repo: OutboxRepo, records: list[Record]) -> None:
        now = self.clock.now()
        await repo.mark_sent_many(
            [(r.message.id, r.sent_id) for r in records if r.outcome is Outcome.SENT], now
        )
        for r in records:
            if r.outcome is not Outcome.SENT:
                final = r.outcome in (Outcome.BLOCKED, Outcome.GONE)
                await repo.mark_failed(r.message, now, r.error or r.outcome.value, final=final)

    def _recorded(self, records: list[Record]) -> None:
        """Written: their chats may have their next message claimed."""
        for r in records:
            self._sending.discard(r.message.user_id)
            if r.outcome is Outcome.SENT:
                self.sent += 1
        if records:
            self._stir.set()
