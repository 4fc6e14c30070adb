"""What deleting a resident's data does to appeals: they stay as the community's record
of what was reported and done, unlinked from the person (no resident id, phone or
location); what they followed is dropped."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.models import Appeal, AppealEvent, AppealFollower, AppealMedia


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Appeal)
        .where(Appeal.resident_id == user_id)
        .values(resident_id=None, contact_phone=None, latitude=None, longitude=None)
    )
    await session.execute(
        update(AppealEvent).where(AppealEvent.actor_id == user_id).values(actor_id=None)
    )
    await session.execute(
        update(AppealMedia).where(AppealMedia.added_by == user_id).values(added_by=None)
    )
    await session.execute(delete(AppealFollower).where(AppealFollower.user_id == user_id))


async def held(session: AsyncSession, user_id: int) -> int:
    """How many appeals the user filed: shown on the privacy screen."""
    stmt = select(func.count()).select_from(Appeal).where(Appeal.resident_id == user_id)
    return int((await session.execute(stmt)).scalar_one())
