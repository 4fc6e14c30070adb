"""What deleting a person does to notices: their acknowledgements and their choices
(muted, quiet hours) go."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.notices.models import NoticeAck, NoticePreference
from storage.privacy.kept import Kept

KEPT = (
    Kept("notice.privacy.receipts", NoticeAck.user_id),
    Kept("notice.privacy.settings", NoticePreference.user_id),
)


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(NoticeAck).where(NoticeAck.user_id == user_id))
    await session.execute(delete(NoticePreference).where(NoticePreference.user_id == user_id))
