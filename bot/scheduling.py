"""Time-based work, driven by the database: APScheduler wakes a sweep that fires every
appeal timer now due, and the outbox delivery loop sends what that produced. Nothing is
kept in memory between runs, so a restart or a second process loses and doubles nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from storage.appeals import sweep

log = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 30


class Scheduler:
    def __init__(self, app: App, *, every: float = SWEEP_EVERY_SECONDS) -> None:
        self.app = app
        self.every = every
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        # One sweep at a time in this process (the interval job and an explicit call, such
        # as the sandbox's clock control, must not overlap).
        self._lock = asyncio.Lock()

    async def sweep_once(self) -> list[tuple[int, str]]:
        async with self._lock:
            fired = await sweep(self.app.sessionmaker, self.app.policy, self.app.clock.now())
        if fired:
            log.info("deadline sweep fired %d timer(s)", len(fired))
            self.app.kick()
        return fired

    def start(self) -> None:
        self._scheduler.add_job(
            self.sweep_once,
            IntervalTrigger(seconds=self.every),
            id="appeal-deadlines",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
        self._scheduler.start()
        # A bot that was down when deadlines passed catches up at once, not in 30 s.
        self._scheduler.modify_job("appeal-deadlines", next_run_time=_now())

    async def stop(self) -> None:
        """Stop ticking; a sweep in flight finishes first instead of being cancelled
        mid-transaction by APScheduler's shutdown."""
        async with self._lock:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)


def _now() -> datetime:
    return datetime.now(UTC)
