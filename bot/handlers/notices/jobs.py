"""The notices' timed work, driven by the database: progress messages, the reminder and
the door-visit lists (each fires once across restarts and processes: the notice row
records that it did, in the same transaction as what it owes)."""

from __future__ import annotations

from bot.faults import crash_point
from bot.scheduling import JobContext
from storage.notices import NoticeService


async def refresh_progress(context: JobContext) -> int:
    async with context.services() as s:
        service = s.get(NoticeService)
        started = await service.start_due()
        queued = await service.refresh_progress()
        await s.commit()
    return started + queued


async def follow_up(context: JobContext) -> int:
    async with context.services() as s:
        service = s.get(NoticeService)
        done = await service.remind_due() + await service.visits_due()
        await s.commit()
    if done:
        crash_point("notices.followed_up")
    return done
