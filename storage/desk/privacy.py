"""What deleting a person's data does to the desk: their links and sessions go (a staff
member who deletes their data is signed out everywhere)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.desk.models import DeskLink, DeskSession
from storage.privacy.kept import Kept

KEPT = (
    Kept("desk.privacy.links", DeskLink.user_id),
    Kept("desk.privacy.sessions", DeskSession.user_id),
)


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(DeskLink).where(DeskLink.user_id == user_id))
    await session.execute(delete(DeskSession).where(DeskSession.user_id == user_id))
