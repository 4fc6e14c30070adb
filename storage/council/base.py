"""What every part of the council service shares: the unit of work (session, clock,
policy, outbox, audit), the community of a building, who is a resident there, who may
host it, and a meeting by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.council.models import (
    Meeting,
)
from storage.council.rules import (
    CouncilError,
    CouncilPolicy,
    CouncilProblem,
    may_host,
)
from storage.hierarchy import HierarchyRepo, Node
from storage.outbox import OutboxRepo
from storage.roles import Role, Staffing, StaffRepo
from storage.services import Services
from storage.users import User


def _changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))


class CouncilBase:
    def __init__(self, session: AsyncSession, now: datetime, policy: CouncilPolicy) -> None:
        self.session = session
        self.now = now
        self.policy = policy
        self.hierarchy = HierarchyRepo(session)
        self.outbox = OutboxRepo(session)
        self.audit = AuditRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        try:
            policy = services.config(CouncilPolicy)
        except LookupError:
            policy = CouncilPolicy()
        return cls(services.session, services.now(), policy)

    # --- places and people ------------------------------------------------------------

    async def community_of(self, building_id: int | None) -> Node | None:
        return await self.hierarchy.community_of(building_id)

    async def _resident_of(self, user: User | None, community_id: int) -> None:
        mine = await self.community_of(user.building_id if user else None)
        if mine is None or mine.id != community_id:
            raise CouncilError(CouncilProblem.NOT_RESIDENT)

    async def _host(self, staffing: Staffing, community_id: int) -> Node:
        community = await self.hierarchy.get(community_id)
        problem = may_host(staffing, community)
        if problem is not None:
            raise CouncilError(problem)
        assert community is not None
        return community

    async def hosts(self, community_id: int) -> list[int]:
        """Community staff; where the community has none, its street's."""
        staff = StaffRepo(self.session)
        found = await staff.holders(Role.COMMUNITY_STAFF, [community_id])
        if found:
            return found
        community = await self.hierarchy.get(community_id)
        if community is None or community.parent_id is None:
            return []
        return await staff.holders(Role.STREET_STAFF, [community.parent_id])

    async def meeting(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)
