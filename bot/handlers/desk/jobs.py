"""Dropping the desk's links and sessions that ended long ago, hourly."""

from __future__ import annotations

from bot.scheduling import JobContext
from storage.desk import DeskAuth


async def purge_ended(context: JobContext) -> int:
    async with context.services() as services:
        done = await services.get(DeskAuth).purge()
        await services.commit()
    return done
