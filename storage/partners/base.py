"""What every partner service shares: the unit of work (session, clock, policy, outbox),
places and people, an order's one conditional state change, who ordered it, and offering
it to the partners who may take it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.hierarchy import HierarchyRepo, Node
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.partners.kinds import (
    OFFER,
    OFFER_GONE,
    ORDER_NEWS,
    TAKEN,
)
from storage.partners.models import (
    OrderState,
    Partner,
    PartnerState,
    ServiceOrder,
    Team,
)
from storage.partners.rules import (
    PartnerError,
    PartnerPolicy,
    PartnerProblem,
    may_serve,
)
from storage.roles import Role, StaffRepo
from storage.services import Services
from storage.users import User


class PartnerBase:
    def __init__(self, session: AsyncSession, now: datetime, policy: PartnerPolicy) -> None:
        self.session = session
        self.now = now
        self.policy = policy
        self.outbox = OutboxRepo(session)
        self.hierarchy = HierarchyRepo(session)
        self.audit = AuditRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        try:
            policy = services.config(PartnerPolicy)
        except LookupError:
            policy = PartnerPolicy()
        return cls(services.session, services.now(), policy)

    async def community_of(self, building_id: int | None) -> Node | None:
        return await self.hierarchy.community_of(building_id)

    async def deciders(self, community_id: int) -> list[int]:
        """Community staff of the community; where it has none, those of its street."""
        staff = StaffRepo(self.session)
        found = await staff.holders(Role.COMMUNITY_STAFF, [community_id])
        if found:
            return found
        community = await self.hierarchy.get(community_id)
        if community is None or community.parent_id is None:
            return []
        return await staff.holders(Role.STREET_STAFF, [community.parent_id])

    async def partner(self, user_id: int) -> Partner | None:
        return await self.session.get(Partner, user_id)

    async def partners_for(self, order: ServiceOrder) -> list[Partner]:
        """Approved, available partners who may serve ``order``: those living in its grid
        first, then the rest of the community (by how long they have been partners)."""
        stmt = (
            select(Partner, User.building_id)
            .join(User, User.id == Partner.user_id)
            .where(
                Partner.community_id == order.community_id,
                Partner.state == PartnerState.APPROVED,
                Partner.available.is_(True),
                User.blocked_at.is_(None),
            )
            .order_by(Partner.decided_at, Partner.user_id)
        )
        rows = (await self.session.execute(stmt)).all()
        grids: dict[int, int | None] = {}
        for _, building_id in rows:
            if building_id is not None and building_id not in grids:
                building = await self.hierarchy.get(building_id)
                grids[building_id] = building.parent_id if building else None
        fit = [(p, b) for p, b in rows if may_serve(p, order) is None]
        return [p for p, b in sorted(fit, key=lambda pb: grids.get(pb[1] or 0) != order.grid_id)]

    async def order(self, order_id: int) -> ServiceOrder | None:
        return await self.session.get(ServiceOrder, order_id)

    async def _get(self, order_id: int) -> ServiceOrder:
        order = await self.order(order_id)
        if order is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        return order

    async def _move(self, order: ServiceOrder, before: Sequence[str], **values: Any) -> bool:
        """Move the order on if it is still in one of ``before``: the one write that
        decides a race."""
        result = await self.session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order.id, ServiceOrder.state.in_([str(s) for s in before]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not changed(result):
            await self.session.refresh(order)
            return False
        await self.session.refresh(order)
        return True

    @staticmethod
    def _lost(order: ServiceOrder, partner_id: int) -> PartnerError:
        """Why a take found the order no longer open (read again after the write that
        decided it): cancelled by whoever ordered it, taken by someone else, or by this
        partner already."""
        if order.state == OrderState.CANCELLED:
            return PartnerError(PartnerProblem.CANCELLED)
        if order.partner_id == partner_id:
            return PartnerError(PartnerProblem.ALREADY)
        return PartnerError(PartnerProblem.TAKEN)

    def _owner(self, order: ServiceOrder) -> list[int]:
        """Who ordered: the resident, or the grid worker for a household (代点单)."""
        owner = order.resident_id or order.ordered_by
        return [owner] if owner else []

    def _tell_owner(self, order: ServiceOrder, event: str, lane: Lane = Lane.STATUS) -> None:
        self.outbox.add(
            self._owner(order),
            ORDER_NEWS,
            now=self.now,
            lane=lane,
            subject_id=order.id,
            event=event,
        )

    async def _offer(self, order: ServiceOrder, *, but: int | None = None) -> int:
        ids = [p.user_id for p in await self.partners_for(order)]
        ids += await self._leaders_for(order)
        ids = [i for i in dict.fromkeys(ids) if i != but]
        return self.outbox.add(ids, OFFER, now=self.now, lane=Lane.TASK, subject_id=order.id)

    async def _leaders_for(self, order: ServiceOrder) -> list[int]:
        """Leaders of the community's teams with the order's skill: they may take it for
        their team even without the skill themselves."""
        stmt = (
            select(Team.leader_id, Team.skills)
            .join(Partner, Partner.user_id == Team.leader_id)
            .where(
                Team.community_id == order.community_id,
                Partner.state == PartnerState.APPROVED,
                Partner.available.is_(True),
            )
        )
        rows = (await self.session.execute(stmt)).all()
        own = (order.resident_id, order.ordered_by)  # never offered their own order
        return [
            int(leader)
            for leader, skills in rows
            if order.skill in (skills or []) and leader not in own
        ]

    async def _withdraw_offers(
        self, order: ServiceOrder, *, but: int | None = None, why: str = "taken"
    ) -> None:
        """The offer cards still showing 接单 say it is gone: edited where they were sent,
        each once (a card edited before, when an earlier taker let it go, is not edited
        again unless a new offer came after)."""
        rows = await self.session.execute(
            select(OutboxMessage.user_id, OutboxMessage.kind, func.max(OutboxMessage.id))
            .where(
                OutboxMessage.kind.in_([OFFER, OFFER_GONE]),
                OutboxMessage.subject_id == order.id,
                OutboxMessage.user_id != (but or 0),
            )
            .group_by(OutboxMessage.user_id, OutboxMessage.kind)
        )
        latest: dict[tuple[int, str], int] = {(int(u), str(k)): int(i) for u, k, i in rows.all()}
        showing = sorted(
            user
            for (user, kind), offered in latest.items()
            if kind == OFFER and latest.get((user, OFFER_GONE), 0) < offered
        )
        self.outbox.add(
            showing,
            OFFER_GONE,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=order.id,
            why=why,
        )

    async def _after_taken(self, order: ServiceOrder, partner_id: int) -> None:
        self.outbox.add([partner_id], TAKEN, now=self.now, lane=Lane.TASK, subject_id=order.id)
        await self._withdraw_offers(order, but=partner_id)
        self._tell_owner(order, "taken")
        await self.audit.record(
            actor_id=partner_id,
            action="order.take",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )


def changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))
