"""The partners' figures for a part of the hierarchy and a month (/stats): active
partners by skill, the month's orders by state, how long orders waited to be taken
(median), the completion and satisfaction rates, and the points issued."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.hierarchy import Node, within_path
from storage.partners.models import (
    OrderState,
    Partner,
    PartnerState,
    PointEntry,
    Rating,
    ServiceOrder,
)


@dataclass(frozen=True)
class PartnerKpis:
    active_by_skill: dict[str, int]
    active: int
    orders_by_state: dict[str, int]
    orders: int
    median_take_minutes: float | None
    completion: float | None  # confirmed ÷ orders of the month not cancelled
    satisfaction: float | None  # rated 满意 ÷ rated, of the month's confirmations
    points_issued: int  # credited for orders and added by staff (deductions apart)
    points_deducted: int


async def partner_kpis(
    session: AsyncSession, node: Node, start: datetime, end: datetime
) -> PartnerKpis:
    communities = select(Node.id).where(within_path(Node.path, node.path))
    partners = (
        (
            await session.execute(
                select(Partner.skills).where(
                    Partner.community_id.in_(communities), Partner.state == PartnerState.APPROVED
                )
            )
        )
        .scalars()
        .all()
    )
    by_skill: Counter[str] = Counter(s for skills in partners for s in (skills or []))
    orders = (
        (
            await session.execute(
                select(ServiceOrder).where(
                    ServiceOrder.community_id.in_(communities),
                    ServiceOrder.created_at >= start,
                    ServiceOrder.created_at < end,
                )
            )
        )
        .scalars()
        .all()
    )
    states = Counter(str(o.state) for o in orders)
    waits = [
        (o.taken_at - o.created_at).total_seconds() / 60 for o in orders if o.taken_at is not None
    ]
    live = [o for o in orders if o.state != OrderState.CANCELLED]
    confirmed = [o for o in live if o.state == OrderState.CONFIRMED]
    rated = [o for o in confirmed if o.rating]
    points = (
        await session.execute(
            select(
                func.coalesce(func.sum(PointEntry.points).filter(PointEntry.points > 0), 0),
                func.coalesce(func.sum(PointEntry.points).filter(PointEntry.points < 0), 0),
            ).where(
                PointEntry.community_id.in_(communities),
                PointEntry.at >= start,
                PointEntry.at < end,
            )
        )
    ).one()
    return PartnerKpis(
        active_by_skill=dict(by_skill.most_common()),
        active=len(partners),
        orders_by_state=dict(states),
        orders=len(orders),
        median_take_minutes=statistics.median(waits) if waits else None,
        completion=len(confirmed) / len(live) if live else None,
        satisfaction=(
            sum(1 for o in rated if o.rating == Rating.SATISFIED) / len(rated) if rated else None
        ),
        points_issued=int(points[0]),
        points_deducted=-int(points[1]),
    )
