"""The appeal deadline sweep, run by the scheduler every 30 seconds."""

from __future__ import annotations

from bot.faults import crash_point
from bot.scheduling import JobContext
from storage.appeals import AppealPolicy, sweep


async def sweep_deadlines(context: JobContext) -> int:
    fired = await sweep(
        context.sessionmaker,
        context.config.get(AppealPolicy),
        context.clock.now(),
        after_each=lambda: crash_point("sweep.fired"),
    )
    return len(fired)
