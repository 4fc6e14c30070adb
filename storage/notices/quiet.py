"""Quiet hours and mute: a non-urgent notice waits until a person's quiet hours end, and
one who muted notices does not get non-urgent ones at all. Urgent notices always go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.notices.models import QUIET_FROM, QUIET_TO, NoticePreference

CHUNK = 5000


@dataclass(frozen=True)
class Choice:
    muted: bool = False
    quiet: bool = True
    quiet_from: int = QUIET_FROM
    quiet_to: int = QUIET_TO

    def quiet_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet hours around ``now`` end, or None outside them."""
        if not self.quiet or self.quiet_from == self.quiet_to:
            return None
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        start, end = self.quiet_from, self.quiet_to
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if not inside:
            return None
        day = local.date() if minute < end else local.date() + timedelta(days=1)
        ends = datetime.combine(day, time(end // 60, end % 60), zone)
        return ends.astimezone(now.tzinfo)


async def choices(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, Choice]:
    """Everyone's choice; the defaults for those who made none."""
    ids = list(user_ids)
    found: dict[int, Choice] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(NoticePreference).where(
            NoticePreference.user_id.in_(ids[start : start + CHUNK])
        )
        for p in (await session.execute(stmt)).scalars():
            found[p.user_id] = Choice(p.muted, p.quiet, p.quiet_from, p.quiet_to)
    return {i: found.get(i, Choice()) for i in ids}


async def choice_of(session: AsyncSession, user_id: int) -> Choice:
    return (await choices(session, [user_id]))[user_id]


async def choose(session: AsyncSession, user_id: int, **changes: object) -> Choice:
    row = await session.get(NoticePreference, user_id)
    if row is None:
        row = NoticePreference(
            user_id=user_id, muted=False, quiet=True, quiet_from=QUIET_FROM, quiet_to=QUIET_TO
        )
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    return Choice(row.muted, row.quiet, row.quiet_from, row.quiet_to)
