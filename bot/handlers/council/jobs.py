"""The council's clock, swept every 30 seconds: every community has its next meeting, and
topics a meeting that is over never reviewed go on to it; reminders that fell due go out
as notices (each claimed once, in the same transaction as the notice it becomes, so a
crash either sends it or leaves it due, never both); votes whose time is up close and
their result is published; decisions due soon remind their owners, and overdue ones tell
the community's staff."""

from __future__ import annotations

from bot.dialogs.council.publish import publish_result, send_reminder
from bot.faults import crash_point
from bot.handlers.council.config import CouncilVoice
from bot.i18n import translator
from bot.scheduling import JobContext
from storage.council import CouncilError, CouncilService
from storage.council.decisions import DecisionService


def _voice(context: JobContext) -> str:
    try:
        return context.config.get(CouncilVoice).language
    except LookupError:
        return "zh"


async def sweep_council(context: JobContext) -> int:
    t = translator(_voice(context))
    async with context.services() as s:
        # Making next month's meeting is bookkeeping, not news: it is not counted.
        await s.get(CouncilService).ensure_next_meetings()
        done = await s.get(CouncilService).carry_over()
        done += await s.get(DecisionService).fire_timers()
        await s.commit()
    while True:
        async with context.services() as s:
            claimed = await s.get(CouncilService).claim_due(limit=20)
            for due in claimed:
                await send_reminder(s, t, due)
            await s.commit()
        if claimed:
            crash_point("council.reminded")
        done += len(claimed)
        if len(claimed) < 20:
            break
    async with context.services() as s:
        due_votes = await s.get(CouncilService).due_votes()
    for vote_id in due_votes:
        async with context.services() as s:
            try:
                vote = await s.get(CouncilService).close_vote(vote_id)
            except CouncilError:
                continue  # another process closed it
            await publish_result(s, t, vote)
            await s.commit()
        done += 1
    return done
