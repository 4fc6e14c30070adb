"""Time-based work, driven by the database: APScheduler wakes each feature's jobs (the
appeal deadline sweep, …) at their interval, and the outbox delivery sends what they
produced. Nothing is kept in memory between runs, so a restart or a second process
loses and doubles nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.registry import Job
from storage.clock import Clock
from storage.services import Config, Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    config: Config

    @asynccontextmanager
    async def services(self) -> AsyncIterator[Services]:
        """A unit of work of its own; the caller commits."""
        async with self.sessionmaker() as session:
            yield Services(session, self.clock, self.config)


class Scheduler:
    def __init__(self, jobs: Sequence[Job], context: JobContext, kick: Callable[[], None]) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.context = context
        self.kick = kick
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        # One run of a job at a time in this process (the interval and an explicit call,
        # such as the sandbox's clock control, must not overlap).
        self._locks = {name: asyncio.Lock() for name in self.jobs}

    async def run(self, name: str) -> int:
        job = self.jobs[name]
        async with self._locks[name]:
            done = await job.run(self.context)
        if done:
            log.info("%s: %d done", name, done)
            self.kick()
        return done

    async def run_all(self) -> int:
        """Every job once, now: what the next ticks would do."""
        return sum([await self.run(name) for name in self.jobs])

    def start(self) -> None:
        for name, job in self.jobs.items():
            self._scheduler.add_job(
                self.run,
                IntervalTrigger(seconds=job.every_seconds),
                args=[name],
                id=name,
                max_instances=1,
                coalesce=True,
                replace_existing=True,
                # A bot that was down when things came due catches up at once.
                next_run_time=datetime.now(UTC),
            )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop ticking; a run in flight finishes first instead of being cancelled
        mid-transaction by APScheduler's shutdown."""
        for lock in self._locks.values():
            await lock.acquire()
        try:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
        finally:
            for lock in self._locks.values():
                lock.release()
