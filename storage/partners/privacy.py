"""What deleting a person does to partners: as a resident their orders stay as the
community's record, unlinked (no resident id, phone or comment); as a partner their
application goes and their ledger lines stay anonymised, so the community's totals still
add up."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.partners.models import (
    Nomination,
    Partner,
    PointEntry,
    ServiceOrder,
    TeamMember,
)


async def forget(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(ServiceOrder)
        .where(ServiceOrder.resident_id == user_id)
        .values(
            resident_id=None,
            contact_phone=None,
            comment=None,
            comment_voice_file_id=None,
            may_show=False,
        )
    )
    await session.execute(
        update(ServiceOrder).where(ServiceOrder.ordered_by == user_id).values(ordered_by=None)
    )
    await session.execute(
        update(ServiceOrder).where(ServiceOrder.partner_id == user_id).values(partner_id=None)
    )
    await session.execute(
        update(PointEntry).where(PointEntry.partner_id == user_id).values(partner_id=None)
    )
    await session.execute(update(PointEntry).where(PointEntry.by_id == user_id).values(by_id=None))
    await session.execute(delete(TeamMember).where(TeamMember.partner_id == user_id))
    await session.execute(delete(Partner).where(Partner.user_id == user_id))
    await session.execute(delete(Nomination).where(Nomination.nominee_id == user_id))
    await session.execute(update(Nomination).where(Nomination.by_id == user_id).values(by_id=None))


async def held(session: AsyncSession, user_id: int) -> int:
    """Service orders the person placed: shown on the privacy screen."""
    stmt = select(func.count()).select_from(ServiceOrder).where(ServiceOrder.resident_id == user_id)
    return int((await session.execute(stmt)).scalar_one())
