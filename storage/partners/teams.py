"""Teams of partners: created by staff, joined by invitation, taking an order as a team
(团队接单) and its leader handing it to a member."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage.hierarchy import Node
from storage.outbox import Lane
from storage.partners.base import PartnerBase
from storage.partners.kinds import (
    TAKEN,
    TEAM_INVITE,
)
from storage.partners.models import (
    OrderState,
    OrderTimer,
    Partner,
    PartnerState,
    ServiceOrder,
    Team,
    TeamMember,
)
from storage.partners.rules import (
    PartnerError,
    PartnerProblem,
    may_decide,
    may_serve,
)
from storage.roles import Staffing


class Teams(PartnerBase):
    async def create_team(
        self,
        staffing: Staffing,
        community: Node,
        name: str,
        leader_id: int,
        skills: Sequence[str],
    ) -> Team:
        problem = may_decide(staffing, community)
        if problem is not None:
            raise PartnerError(problem)
        leader = await self.partner(leader_id)
        if (
            leader is None
            or leader.state != PartnerState.APPROVED
            or (leader.community_id != community.id)
        ):
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        name = name.strip()
        if (
            not 1 <= len(name) <= 40
            or not skills
            or any(s not in self.policy.skills for s in skills)
        ):
            raise PartnerError(PartnerProblem.BAD_INPUT)
        team = Team(
            community_id=community.id,
            name=name,
            leader_id=leader_id,
            skills=list(skills),
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(team)
        await self.session.flush()
        self.session.add(
            TeamMember(team_id=team.id, partner_id=leader_id, state="member", at=self.now)
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.team",
            at=self.now,
            object_type="team",
            object_id=team.id,
            leader=leader_id,
        )
        return team

    async def team(self, team_id: int) -> Team | None:
        return await self.session.get(Team, team_id)

    async def teams_led(self, partner_id: int) -> Sequence[Team]:
        stmt = select(Team).where(Team.leader_id == partner_id).order_by(Team.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def teams_of(self, community_id: int) -> Sequence[Team]:
        stmt = select(Team).where(Team.community_id == community_id).order_by(Team.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def members(self, team_id: int, *, invited: bool = False) -> list[Partner]:
        states = ["member", "invited"] if invited else ["member"]
        stmt = (
            select(Partner)
            .join(TeamMember, TeamMember.partner_id == Partner.user_id)
            .where(TeamMember.team_id == team_id, TeamMember.state.in_(states))
            .order_by(Partner.real_name)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def _may_run_team(self, team: Team, staffing: Staffing) -> bool:
        if team.leader_id == staffing.user_id:
            return True
        return may_decide(staffing, await self.hierarchy.get(team.community_id)) is None

    async def invite(self, staffing: Staffing, team_id: int, partner_id: int) -> TeamMember:
        """The leader or community staff invite an approved partner of the community."""
        team = await self.team(team_id)
        if team is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        if not await self._may_run_team(team, staffing):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        partner = await self.partner(partner_id)
        if (
            partner is None
            or partner.state != PartnerState.APPROVED
            or partner.community_id != team.community_id
        ):
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        if await self.session.get(TeamMember, (team_id, partner_id)) is not None:
            raise PartnerError(PartnerProblem.ALREADY)
        member = TeamMember(
            team_id=team_id,
            partner_id=partner_id,
            state="invited",
            invited_by=staffing.user_id,
            at=self.now,
        )
        self.session.add(member)
        await self.session.flush()
        self.outbox.add(
            [partner_id], TEAM_INVITE, now=self.now, lane=Lane.STATUS, subject_id=team_id
        )
        return member

    async def answer_invite(self, team_id: int, partner_id: int, *, accept: bool) -> Team:
        member = await self.session.get(TeamMember, (team_id, partner_id))
        team = await self.team(team_id)
        if member is None or team is None:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if member.state != "invited":
            raise PartnerError(PartnerProblem.ALREADY)
        if accept:
            member.state, member.at = "member", self.now
        else:
            await self.session.delete(member)
        await self.audit.record(
            actor_id=partner_id,
            action="partner.team_join" if accept else "partner.team_decline",
            at=self.now,
            object_type="team",
            object_id=team_id,
        )
        return team

    async def team_for(self, order: ServiceOrder, leader_id: int) -> Team | None:
        """The team this leader may take ``order`` with: same community, the skill."""
        for team in await self.teams_led(leader_id):
            if team.community_id == order.community_id and order.skill in team.skills:
                return team
        return None

    async def take_as_team(self, order_id: int, leader_id: int) -> ServiceOrder:
        """团队接单: the leader takes it for the team and then hands it to a member."""
        order = await self._get(order_id)
        team = await self.team_for(order, leader_id)
        problem = (
            may_serve(await self.partner(leader_id), order, team)
            if team is not None
            else PartnerProblem.NOT_PARTNER
        )
        if problem is not None:
            raise PartnerError(problem)
        assert team is not None
        if order.state != OrderState.OPEN:
            raise self._lost(order, leader_id)
        won = await self._move(
            order,
            [OrderState.OPEN],
            state=OrderState.TAKEN,
            partner_id=leader_id,
            team_id=team.id,
            taken_at=self.now,
            timer=OrderTimer.CHASE_PARTNER,
            due_at=self.now + self.policy.chase_after,
        )
        if not won:
            raise self._lost(order, leader_id)
        await self._after_taken(order, leader_id)
        return order

    async def hand_to(self, order_id: int, leader_id: int, member_id: int) -> ServiceOrder:
        """The team's leader hands a taken order to a member, who gets the full card."""
        order = await self._get(order_id)
        team = await self.team(order.team_id) if order.team_id else None
        if team is None or team.leader_id != leader_id or order.partner_id != leader_id:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if order.state != OrderState.TAKEN:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if member_id not in {p.user_id for p in await self.members(team.id)}:
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        if member_id in self._owner(order):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)  # not their own order
        moved = await self._move(order, [OrderState.TAKEN], partner_id=member_id)
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self.outbox.add([member_id], TAKEN, now=self.now, lane=Lane.TASK, subject_id=order.id)
        self._tell_owner(order, "taken")
        await self.audit.record(
            actor_id=leader_id,
            action="order.hand",
            at=self.now,
            object_type="order",
            object_id=order.id,
            member=member_id,
        )
        return order
