"""The deadline sweep: every appeal timer now due fires once, each appeal in its own
transaction. Safe to run from several processes at once and after downtime: firing moves
``due_at`` on, and a concurrent second firing fails the version check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from storage.appeals.models import AppealError
from storage.appeals.policy import AppealPolicy
from storage.appeals.service import AppealService


async def sweep(
    session_factory: async_sessionmaker[AsyncSession],
    policy: AppealPolicy,
    now: datetime,
    limit: int = 200,
    after_each: Callable[[], object] | None = None,
) -> list[tuple[int, str]]:
    """Fire every due timer; returns (appeal id, what happened) for those that fired."""
    async with session_factory() as session:
        ids = await AppealService(session, policy, now).due(limit)
    fired: list[tuple[int, str]] = []
    for appeal_id in ids:
        async with session_factory() as session:
            try:
                what = await AppealService(session, policy, now).fire(appeal_id)
                await session.commit()
            except (AppealError, StaleDataError):
                await session.rollback()
                continue
            if what:
                fired.append((appeal_id, what))
                if after_each is not None:
                    after_each()
    return fired
