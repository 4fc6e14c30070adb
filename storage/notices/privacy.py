"""What deleting a person does to notices: their acknowledgements go."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.notices.models import NoticeAck


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(NoticeAck).where(NoticeAck.user_id == user_id))
