"""What deleting a resident's data does to appeals: they stay as the community's record
of what was reported and done, unlinked from the person (no resident id, phone or
location); what they followed is dropped."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.models import Appeal, AppealEvent, AppealFollower, AppealMedia
from storage.privacy.kept import Kept

KEPT = (
    Kept("appeal.privacy.filed", Appeal.resident_id),
    Kept("appeal.privacy.followed", AppealFollower.user_id),
    Kept("appeal.privacy.steps", AppealEvent.actor_id),
    Kept("appeal.privacy.media", AppealMedia.added_by),
)


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
