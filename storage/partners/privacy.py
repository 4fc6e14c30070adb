"""What deleting a person does to partners: as a resident their orders stay as the
community's record, unlinked (no resident id, phone or comment); as a partner their
application goes and their ledger lines stay anonymised, so the community's totals still
add up."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.partners.models import (
    Nomination,
    Partner,
    PointEntry,
    ServiceOrder,
    TeamMember,
)
from storage.privacy.kept import Kept

KEPT = (
    Kept("partner.privacy.orders", ServiceOrder.resident_id),
    Kept("partner.privacy.ordered_for", ServiceOrder.ordered_by),
    Kept("partner.privacy.served", ServiceOrder.partner_id),
    Kept("partner.privacy.points", PointEntry.partner_id),
    Kept("partner.privacy.points_by", PointEntry.by_id),
    Kept("partner.privacy.teams", TeamMember.partner_id),
    Kept("partner.privacy.partner", Partner.user_id),
    Kept("partner.privacy.nominated", Nomination.nominee_id),
    Kept("partner.privacy.nominations_by", Nomination.by_id),
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
