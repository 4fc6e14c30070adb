"""Points (积分): the append-only ledger, balances and ranks derived from it, the month's
table, and the monthly recognition by the published rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from storage.outbox import Lane
from storage.partners.base import PartnerBase, changed
from storage.partners.drafts import (
    MonthRow,
    Standing,
    month_bounds,
)
from storage.partners.kinds import (
    RECOGNITION,
)
from storage.partners.models import (
    OrderState,
    OrderTimer,
    Partner,
    PartnerState,
    PointEntry,
    Rating,
    Recognition,
    ServiceOrder,
)
from storage.partners.rules import (
    PartnerError,
    PartnerProblem,
    may_decide,
)
from storage.roles import Staffing


class Points(PartnerBase):
    async def adjust(
        self, staffing: Staffing, partner_id: int, points: int, reason: str
    ) -> PointEntry:
        """A staff addition or deduction (an activity, a redemption): a new line."""
        partner = await self.partner(partner_id)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(partner.community_id))
        if problem is not None:
            raise PartnerError(problem)
        if not reason.strip() or points == 0 or abs(points) > 1000:
            raise PartnerError(PartnerProblem.BAD_INPUT)
        entry = PointEntry(
            partner_id=partner_id,
            community_id=partner.community_id,
            points=points,
            reason=reason.strip()[:200],
            by_id=staffing.user_id,
            at=self.now,
        )
        self.session.add(entry)
        await self.session.flush()
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.points",
            at=self.now,
            object_type="partner",
            object_id=partner_id,
            points=points,
            reason=reason.strip(),
        )
        return entry

    async def balance(self, partner_id: int) -> int:
        stmt = select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.partner_id == partner_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def history(self, partner_id: int, limit: int = 10) -> Sequence[PointEntry]:
        stmt = (
            select(PointEntry)
            .where(PointEntry.partner_id == partner_id)
            .order_by(PointEntry.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def standing(self, partner: Partner) -> Standing:
        totals = (
            await self.session.execute(
                select(Partner.user_id, func.coalesce(func.sum(PointEntry.points), 0))
                .outerjoin(PointEntry, PointEntry.partner_id == Partner.user_id)
                .where(
                    Partner.community_id == partner.community_id,
                    Partner.state == PartnerState.APPROVED,
                )
                .group_by(Partner.user_id)
            )
        ).all()
        mine = await self.balance(partner.user_id)
        rank = 1 + sum(1 for _, total in totals if int(total) > mine)
        confirmed = await self.session.scalar(
            select(func.count())
            .select_from(ServiceOrder)
            .where(
                ServiceOrder.partner_id == partner.user_id,
                ServiceOrder.state == OrderState.CONFIRMED,
            )
        )
        return Standing(mine, rank, len(totals), int(confirmed or 0))

    async def month(self, community_id: int, start: datetime, end: datetime) -> list[MonthRow]:
        """Per partner of the community: points, confirmed orders, ratings and orders
        that had to be chased to staff, in [start, end)."""
        partners = (
            (
                await self.session.execute(
                    select(Partner).where(
                        Partner.community_id == community_id,
                        Partner.state.in_([PartnerState.APPROVED, PartnerState.SUSPENDED]),
                    )
                )
            )
            .scalars()
            .all()
        )
        rows = []
        for p in partners:
            points = await self.session.scalar(
                select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                    PointEntry.partner_id == p.user_id,
                    PointEntry.at >= start,
                    PointEntry.at < end,
                )
            )
            orders = (
                (
                    await self.session.execute(
                        select(ServiceOrder.rating).where(
                            ServiceOrder.partner_id == p.user_id,
                            ServiceOrder.state == OrderState.CONFIRMED,
                            ServiceOrder.confirmed_at >= start,
                            ServiceOrder.confirmed_at < end,
                        )
                    )
                )
                .scalars()
                .all()
            )
            chased = await self.session.scalar(
                select(func.count())
                .select_from(ServiceOrder)
                .where(
                    ServiceOrder.partner_id == p.user_id,
                    ServiceOrder.timer == OrderTimer.STAFF,
                    ServiceOrder.taken_at >= start,
                    ServiceOrder.taken_at < end,
                )
            )
            rows.append(
                MonthRow(
                    partner_id=p.user_id,
                    name=p.real_name,
                    points=int(points or 0),
                    confirmed=len(orders),
                    satisfied=sum(1 for r in orders if r == Rating.SATISFIED),
                    rated=sum(1 for r in orders if r),
                    chased=int(chased or 0),
                )
            )
        return sorted(rows, key=lambda r: (-r.points, -r.confirmed, r.name))

    async def propose_recognitions(self) -> int:
        """Once a month, per community with partners: the rule's proposal for the month
        just ended goes to its staff. One row per community and month (a unique index),
        so it is proposed once across restarts, downtime and processes."""
        start, end, label = month_bounds(self.now, self.policy.zone, back=1)
        done = select(Recognition.community_id).where(Recognition.month == label)
        communities = (
            (
                await self.session.execute(
                    select(Partner.community_id)
                    .where(
                        Partner.state == PartnerState.APPROVED, Partner.community_id.not_in(done)
                    )
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
        proposed = 0
        for community_id in communities:
            best = self.outstanding(await self.month(int(community_id), start, end))
            recognition = Recognition(
                community_id=int(community_id),
                month=label,
                partner_ids=[r.partner_id for r in best],
                state="proposed" if best else "none",
                created_at=self.now,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(recognition)
            except IntegrityError:
                continue  # another process proposed it first
            if best:
                self.outbox.add(
                    await self.deciders(int(community_id)),
                    RECOGNITION,
                    now=self.now,
                    lane=Lane.STATUS,
                    subject_id=recognition.id,
                )
                proposed += 1
        return proposed

    async def recognition(self, recognition_id: int) -> Recognition | None:
        return await self.session.get(Recognition, recognition_id)

    async def publish_recognition(self, staffing: Staffing, recognition_id: int) -> Recognition:
        """Staff confirm the proposal; the chat layer sends it out as a notice."""
        recognition = await self.recognition(recognition_id)
        if recognition is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(recognition.community_id))
        if problem is not None:
            raise PartnerError(problem)
        result = await self.session.execute(
            update(Recognition)
            .where(Recognition.id == recognition_id, Recognition.state == "proposed")
            .values(state="published", published_at=self.now, published_by=staffing.user_id)
            .execution_options(synchronize_session=False)
        )
        if not changed(result):
            raise PartnerError(PartnerProblem.ALREADY)
        await self.session.refresh(recognition)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.recognise",
            at=self.now,
            object_type="recognition",
            object_id=recognition_id,
        )
        return recognition

    def outstanding(self, rows: Sequence[MonthRow]) -> list[MonthRow]:
        """The published rule: at least ``recognise_min_orders`` confirmed orders and
        ``recognise_min_satisfied`` of them rated satisfied, never chased to staff; then
        the most points (ties: the better rating)."""
        p = self.policy
        fit = [
            r
            for r in rows
            if r.confirmed >= p.recognise_min_orders
            and r.satisfaction >= p.recognise_min_satisfied
            and r.chased == 0
        ]
        fit.sort(key=lambda r: (-r.points, -r.satisfaction, r.name))
        return fit[: p.recognise_top]
