"""Partners and their service orders: applying and being decided on, an order offered to
every partner of its skill in the community with one winner, 派单 when nobody takes it,
visits, completion, the resident's confirmation and rating, and the points ledger.

Every change writes what people are owed into the outbox in the same transaction, and
every transition that can race (two partners pressing 接单, a doubled confirmation, a
timer firing in two processes) is a conditional UPDATE on the state it expects: the
loser changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.models import Appeal, AppealEvent
from storage.audit import AuditRepo
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.partners.models import (
    CallState,
    Nomination,
    OrderState,
    OrderTimer,
    Origin,
    Partner,
    PartnerState,
    PointEntry,
    Rating,
    Recognition,
    RecruitmentCall,
    ServiceOrder,
    Team,
    TeamMember,
)
from storage.partners.rules import (
    DECIDERS,
    PROXIES,
    PartnerError,
    PartnerPolicy,
    PartnerProblem,
    Side,
    actions,
    may_decide,
    may_serve,
)
from storage.roles import Role, Staffing, StaffRepo
from storage.services import Services
from storage.users import User

# Outbox kinds
APPLICATION = "partner.application"  # to community staff: a new application to decide
DECISION = "partner.decision"  # to the applicant
OFFER = "partner.offer"  # to each partner who may take an open order
OFFER_GONE = "partner.offer_gone"  # the offer card of those who did not get it: edited
TAKEN = "partner.taken"  # to the partner who has it: the full card with the contact
ORDER_NEWS = "partner.order_news"  # to the resident (or the worker for 代点单)
DISPATCH = "partner.dispatch"  # to community staff: assign it (派单), or it is stuck
CHASE = "partner.chase"  # a reminder to whoever holds the order up
CREDITED = "partner.credited"  # to the partner: confirmed, rated, points
CALL_CLOSED = "partner.call_closed"  # to the call's author: how it went
NOMINATED = "partner.nominated"  # to the nominee: a neighbour put you forward
NOMINATION = "partner.nomination"  # to community staff: who was put forward, by whom
TEAM_INVITE = "partner.team_invite"  # to a partner invited into a team
RECOGNITION = "partner.recognition"  # to community staff: the month's proposal
RELAY = "partner.relay"  # a message between the partner and the resident, through the bot

MAX_TEXT = 1000
MAX_NAME = 32


@dataclass(frozen=True)
class Application:
    real_name: str
    phone: str
    skills: tuple[str, ...]
    availability: tuple[str, ...] = ()
    intro: str = ""
    certificate_file_id: str | None = None
    call_id: int | None = None  # answering this recruitment call
    nominated_by: int | None = None  # 公推: who put them forward


@dataclass(frozen=True)
class CallDraft:
    title: str
    description: str
    skills: tuple[str, ...]
    quota: int
    deadline: datetime


@dataclass(frozen=True)
class CallFigures:
    call: RecruitmentCall
    applied: int  # pending or approved through this call
    approved: int


@dataclass(frozen=True)
class OrderDraft:
    skill: str
    description: str = ""
    voice_file_id: str | None = None
    preferred: str = "any"
    household: str | None = None  # 代点单: the household as the worker names it
    contact_phone: str | None = None


@dataclass(frozen=True)
class Standing:
    balance: int
    rank: int  # 1 = most points among approved partners of the community
    partners: int
    confirmed: int


@dataclass(frozen=True)
class MonthRow:
    partner_id: int
    name: str
    points: int
    confirmed: int
    satisfied: int
    rated: int
    chased: int  # orders of the month that had to be chased to staff (no-shows)

    @property
    def satisfaction(self) -> float:
        return self.satisfied / self.rated if self.rated else 0.0


class PartnerService:
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

    # --- places ---------------------------------------------------------------------

    async def community_of(self, building_id: int | None) -> Node | None:
        node = await self.hierarchy.get(building_id) if building_id else None
        if node is None:
            return None
        return (await self.hierarchy.chain(node)).get(NodeKind.COMMUNITY)

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

    # --- partners ---------------------------------------------------------------------

    async def partner(self, user_id: int) -> Partner | None:
        return await self.session.get(Partner, user_id)

    async def apply(self, user: User, application: Application) -> Partner:
        community = await self.community_of(user.building_id)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        _check_application(application, self.policy)
        partner = await self.partner(user.id)
        if partner is not None and partner.state != PartnerState.REJECTED:
            raise PartnerError(PartnerProblem.ALREADY, partner.state)
        call = None
        if application.call_id is not None:
            call = await self.open_call(application.call_id)
            if call.community_id != community.id:
                raise PartnerError(PartnerProblem.NOT_ALLOWED, "another community's call")
        if partner is None:
            partner = Partner(user_id=user.id, created_at=self.now)
            self.session.add(partner)
        partner.community_id = community.id
        partner.real_name = application.real_name.strip()
        partner.phone = application.phone
        partner.skills = list(application.skills)
        partner.availability = list(application.availability)
        partner.intro = application.intro.strip()
        partner.certificate_file_id = application.certificate_file_id
        partner.state = PartnerState.PENDING
        partner.reason = None
        partner.available = True
        partner.call_id = call.id if call else None
        partner.nominated_by = application.nominated_by
        partner.origin = (
            Origin.CALL if call else Origin.NOMINATED if application.nominated_by else Origin.SELF
        )
        await self.session.flush()
        if application.nominated_by is not None:
            await self.session.execute(
                update(Nomination)
                .where(Nomination.nominee_id == user.id, Nomination.state == "open")
                .values(state="applied")
                .execution_options(synchronize_session=False)
            )
        if call is not None and (await self.call_figures(call)).applied >= call.quota:
            await self._close_call(call)
        self.outbox.add(
            await self.deciders(community.id),
            APPLICATION,
            now=self.now,
            lane=Lane.TASK,
            subject_id=user.id,
        )
        await self.audit.record(
            actor_id=user.id,
            action="partner.apply",
            at=self.now,
            object_type="partner",
            object_id=user.id,
        )
        return partner

    async def decide(
        self, staffing: Staffing, user_id: int, *, approve: bool, reason: str = ""
    ) -> Partner:
        partner = await self.partner(user_id)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(partner.community_id))
        if problem is not None:
            raise PartnerError(problem)
        reason = reason.strip()
        if not approve and not reason:
            raise PartnerError(PartnerProblem.BAD_INPUT, "a rejection needs a reason")
        target = PartnerState.APPROVED if approve else PartnerState.REJECTED
        result = await self.session.execute(
            update(Partner)
            .where(Partner.user_id == user_id, Partner.state == PartnerState.PENDING)
            .values(
                state=target,
                reason=reason or None,
                decided_at=self.now,
                decided_by=staffing.user_id,
            )
            .execution_options(synchronize_session=False)
        )
        if not _changed(result):
            raise PartnerError(PartnerProblem.ALREADY, partner.state)
        await self.session.refresh(partner)
        self.outbox.add([user_id], DECISION, now=self.now, lane=Lane.TASK, subject_id=user_id)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.approve" if approve else "partner.reject",
            at=self.now,
            object_type="partner",
            object_id=user_id,
            reason=reason or None,
        )
        return partner

    # --- teams -----------------------------------------------------------------------

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
        leader = await self.partner(leader_id)
        if team is None or leader is None or leader.state != PartnerState.APPROVED:
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        if order.state != OrderState.OPEN:
            raise PartnerError(PartnerProblem.TAKEN)
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
            raise PartnerError(PartnerProblem.TAKEN)
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

    # --- nominations (公推) -----------------------------------------------------------

    async def nominate(
        self,
        by: User,
        staffing: Staffing,
        *,
        nominee_id: int | None,
        nominee_name: str,
        building: Node | None,
        reason: str,
    ) -> Nomination:
        """``nominee_id`` when picked with the chat's user picker, else a name and a
        building. The community is the nominee's (by their building) or the
        nominator's."""
        name = nominee_name.strip()
        if not name or len(name) > MAX_NAME or len(reason) > MAX_TEXT:
            raise PartnerError(PartnerProblem.BAD_INPUT)
        if nominee_id is not None and nominee_id == by.id:
            raise PartnerError(PartnerProblem.BAD_INPUT, "nobody nominates themselves")
        nominee = await self.session.get(User, nominee_id) if nominee_id else None
        home = building or (
            await self.hierarchy.get(nominee.building_id)
            if nominee is not None and nominee.building_id
            else None
        )
        community = await self.community_of(home.id if home else by.building_id)
        if community is None:
            scopes = [n for n in staffing.scopes(DECIDERS) if n is not None]
            community = next((n for n in scopes if n.node_kind is NodeKind.COMMUNITY), None)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        mine = await self.community_of(by.building_id)
        if (mine is None or mine.id != community.id) and may_decide(staffing, community):
            raise PartnerError(PartnerProblem.NOT_ALLOWED, "only neighbours and its staff")
        existing = await self.partner(nominee_id) if nominee_id else None
        if existing is not None and existing.state in (PartnerState.PENDING, PartnerState.APPROVED):
            raise PartnerError(PartnerProblem.ALREADY)
        nomination = Nomination(
            community_id=community.id,
            nominee_id=nominee_id,
            nominee_name=name,
            building_id=home.id if home and home.node_kind is NodeKind.BUILDING else None,
            reason=reason.strip(),
            by_id=by.id,
            state="open",
            created_at=self.now,
        )
        self.session.add(nomination)
        await self.session.flush()
        if nominee is not None and nominee.blocked_at is None:
            self.outbox.add(
                [nominee.id],
                NOMINATED,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=nomination.id,
            )
        self.outbox.add(
            await self.deciders(community.id),
            NOMINATION,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=nomination.id,
        )
        await self.audit.record(
            actor_id=by.id,
            action="partner.nominate",
            at=self.now,
            object_type="nomination",
            object_id=nomination.id,
        )
        return nomination

    async def nomination_for(self, nomination_id: int, user_id: int) -> Nomination:
        """The open nomination of this user (a forged press on someone else's is refused)."""
        nomination = await self.session.get(Nomination, nomination_id)
        if nomination is None or nomination.nominee_id != user_id:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if nomination.state != "open":
            raise PartnerError(PartnerProblem.ALREADY)
        return nomination

    async def decline_nomination(self, nomination_id: int, user_id: int) -> Nomination:
        nomination = await self.nomination_for(nomination_id, user_id)
        nomination.state = "declined"
        return nomination

    # --- recruitment calls (招募令) ----------------------------------------------------

    async def create_call(
        self, staffing: Staffing, community: Node, draft: CallDraft
    ) -> RecruitmentCall:
        """The call itself; the chat layer sends it out as a notice to the community's
        residents with a 我要报名 button and records the notice on it."""
        problem = may_decide(staffing, community)
        if problem is None and community.node_kind is not NodeKind.COMMUNITY:
            problem = PartnerProblem.NOT_ALLOWED
        if problem is not None:
            raise PartnerError(problem)
        title = draft.title.strip()
        if (
            not title
            or len(title) > 80
            or len(draft.description) > MAX_TEXT
            or not 1 <= draft.quota <= 1000
            or draft.deadline <= self.now
            or any(s not in self.policy.skills for s in draft.skills)
        ):
            raise PartnerError(PartnerProblem.BAD_INPUT)
        call = RecruitmentCall(
            community_id=community.id,
            title=title,
            description=draft.description.strip(),
            skills=list(draft.skills),
            quota=draft.quota,
            deadline=draft.deadline,
            state=CallState.OPEN,
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(call)
        await self.session.flush()
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.call",
            at=self.now,
            object_type="recruitment_call",
            object_id=call.id,
            quota=draft.quota,
        )
        return call

    async def open_call(self, call_id: int) -> RecruitmentCall:
        """The call, if one may still answer it."""
        call = await self.session.get(RecruitmentCall, call_id)
        if call is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        if call.state != CallState.OPEN or call.deadline <= self.now:
            raise PartnerError(PartnerProblem.CLOSED)
        if (await self.call_figures(call)).applied >= call.quota:
            raise PartnerError(PartnerProblem.CLOSED)
        return call

    async def call_figures(self, call: RecruitmentCall) -> CallFigures:
        rows = (
            await self.session.execute(
                select(Partner.state, func.count())
                .where(
                    Partner.call_id == call.id,
                    Partner.state.in_([PartnerState.PENDING, PartnerState.APPROVED]),
                )
                .group_by(Partner.state)
            )
        ).all()
        counts = {str(state): int(n) for state, n in rows}
        return CallFigures(call, sum(counts.values()), counts.get(PartnerState.APPROVED, 0))

    async def calls(self, community_id: int, limit: int = 5) -> list[CallFigures]:
        stmt = (
            select(RecruitmentCall)
            .where(RecruitmentCall.community_id == community_id)
            .order_by(RecruitmentCall.id.desc())
            .limit(limit)
        )
        return [await self.call_figures(c) for c in (await self.session.execute(stmt)).scalars()]

    async def _close_call(self, call: RecruitmentCall) -> bool:
        result = await self.session.execute(
            update(RecruitmentCall)
            .where(RecruitmentCall.id == call.id, RecruitmentCall.state == CallState.OPEN)
            .values(state=CallState.CLOSED, closed_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if not _changed(result):
            return False
        await self.session.refresh(call)
        if call.created_by:
            self.outbox.add(
                [call.created_by],
                CALL_CLOSED,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=call.id,
            )
        return True

    async def close_due_calls(self) -> int:
        """Calls whose deadline passed close, each once (across processes too)."""
        due = (
            (
                await self.session.execute(
                    select(RecruitmentCall).where(
                        RecruitmentCall.state == CallState.OPEN,
                        RecruitmentCall.deadline <= self.now,
                    )
                )
            )
            .scalars()
            .all()
        )
        return sum([await self._close_call(call) for call in due])

    async def suspend(self, staffing: Staffing, user_id: int, reason: str) -> Partner:
        return await self._switch(
            staffing, user_id, PartnerState.APPROVED, PartnerState.SUSPENDED, reason
        )

    async def reinstate(self, staffing: Staffing, user_id: int) -> Partner:
        return await self._switch(
            staffing, user_id, PartnerState.SUSPENDED, PartnerState.APPROVED, ""
        )

    async def _switch(
        self, staffing: Staffing, user_id: int, before: str, after: str, reason: str
    ) -> Partner:
        partner = await self.partner(user_id)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(partner.community_id))
        if problem is not None:
            raise PartnerError(problem)
        if after == PartnerState.SUSPENDED and not reason.strip():
            raise PartnerError(PartnerProblem.BAD_INPUT, "a suspension needs a reason")
        if partner.state != before:
            raise PartnerError(PartnerProblem.WRONG_STATE, partner.state)
        partner.state = after
        partner.reason = reason.strip() or None
        partner.decided_at, partner.decided_by = self.now, staffing.user_id
        self.outbox.add(
            [user_id],
            DECISION,
            now=self.now,
            lane=Lane.TASK,
            subject_id=user_id,
            reinstated=after == PartnerState.APPROVED,
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action=f"partner.{'suspend' if after == PartnerState.SUSPENDED else 'reinstate'}",
            at=self.now,
            object_type="partner",
            object_id=user_id,
            reason=reason.strip() or None,
        )
        return partner

    async def set_available(self, user_id: int, available: bool) -> Partner:
        partner = await self.partner(user_id)
        if partner is None or partner.state != PartnerState.APPROVED:
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        partner.available = available
        return partner

    async def applications(self, staffing: Staffing) -> Sequence[Partner]:
        """Pending applications in the communities this person decides for."""
        communities = [n for n in staffing.scopes(DECIDERS)]
        stmt = select(Partner).where(Partner.state == PartnerState.PENDING)
        rows = (await self.session.execute(stmt.order_by(Partner.created_at))).scalars().all()
        out = []
        for partner in rows:
            node = await self.hierarchy.get(partner.community_id)
            if node is not None and any(c is None or node.is_within(c) for c in communities):
                out.append(partner)
        return out

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

    # --- orders -----------------------------------------------------------------------

    async def order(self, order_id: int) -> ServiceOrder | None:
        return await self.session.get(ServiceOrder, order_id)

    async def place(
        self,
        by: User,
        draft: OrderDraft,
        *,
        building: Node | None = None,
        staffing: Staffing | None = None,
    ) -> ServiceOrder:
        """A resident's order (点单), or a grid worker's for a household without the chat
        (代点单: ``building`` and ``draft.household`` given, ``staffing`` hers)."""
        proxy = building is not None
        home: Node | None
        if building is not None:
            if staffing is None or not staffing.covers(building, PROXIES):
                raise PartnerError(PartnerProblem.NOT_ALLOWED)
            if building.node_kind is not NodeKind.BUILDING or not (draft.household or "").strip():
                raise PartnerError(PartnerProblem.BAD_INPUT, "a household in a building")
            home = building
        else:
            home = await self.hierarchy.get(by.building_id) if by.building_id else None
        if home is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        community = await self.community_of(home.id)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        if draft.skill not in self.policy.skills:
            raise PartnerError(PartnerProblem.BAD_INPUT, "unknown skill")
        if not draft.description.strip() and draft.voice_file_id is None:
            raise PartnerError(PartnerProblem.BAD_INPUT, "say what is needed")
        if len(draft.description) > MAX_TEXT:
            raise PartnerError(PartnerProblem.BAD_INPUT, "too long")
        order = ServiceOrder(
            community_id=community.id,
            building_id=home.id,
            grid_id=home.parent_id,
            resident_id=None if proxy else by.id,
            ordered_by=by.id,
            household=(draft.household or "").strip() or None,
            contact_phone=draft.contact_phone if proxy else by.phone,
            skill=draft.skill,
            tier=self.policy.tier(draft.skill),
            description=draft.description.strip(),
            voice_file_id=draft.voice_file_id,
            preferred=draft.preferred,
            state=OrderState.OPEN,
            created_at=self.now,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(draft.skill),
        )
        self.session.add(order)
        await self.session.flush()
        offered = await self._offer(order)
        if not offered:
            # Nobody to offer it to: staff assign it now rather than after the window.
            order.due_at = self.now
        await self.audit.record(
            actor_id=by.id,
            action="order.place",
            at=self.now,
            object_type="order",
            object_id=order.id,
            proxy=proxy,
        )
        return order

    async def from_appeal(self, staffing: Staffing, appeal_id: int, skill: str) -> ServiceOrder:
        """Staff turn an appeal into a service order (e.g. a repair for an elderly
        resident): for the appeal's resident and building, its text as the description,
        linked both ways (the order keeps the appeal, the appeal's timeline the order)."""
        appeal = await self.session.get(Appeal, appeal_id)
        building = (
            await self.hierarchy.get(appeal.building_id) if appeal and appeal.building_id else None
        )
        if appeal is None or building is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        if not staffing.covers(building, PROXIES):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        linked = await self.session.scalar(
            select(ServiceOrder.id).where(
                ServiceOrder.appeal_id == appeal.id,
                ServiceOrder.state != OrderState.CANCELLED,
            )
        )
        if linked is not None:
            raise PartnerError(PartnerProblem.ALREADY)
        community = await self.community_of(building.id)
        if community is None or skill not in self.policy.skills:
            raise PartnerError(PartnerProblem.BAD_INPUT)
        resident = await self.session.get(User, appeal.resident_id) if appeal.resident_id else None
        order = ServiceOrder(
            community_id=community.id,
            building_id=building.id,
            grid_id=building.parent_id,
            resident_id=appeal.resident_id,
            ordered_by=staffing.user_id,
            household=None if resident else appeal.number,
            contact_phone=appeal.contact_phone or (resident.phone if resident else None),
            skill=skill,
            tier=self.policy.tier(skill),
            description=(appeal.text or "")[:MAX_TEXT],
            preferred="any",
            state=OrderState.OPEN,
            appeal_id=appeal.id,
            created_at=self.now,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(skill),
        )
        self.session.add(order)
        await self.session.flush()
        self.session.add(
            AppealEvent(
                appeal_id=appeal.id,
                at=self.now,
                actor_id=staffing.user_id,
                kind="service_order",
                note=order.number,
                data={"order_id": order.id},
            )
        )
        if not await self._offer(order):
            order.due_at = self.now
        if appeal.resident_id:
            self.outbox.add(
                [appeal.resident_id],
                ORDER_NEWS,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                event="from_appeal",
                appeal=appeal.number,
            )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="order.from_appeal",
            at=self.now,
            object_type="order",
            object_id=order.id,
            appeal=appeal.id,
        )
        return order

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
        return [int(leader) for leader, skills in rows if order.skill in (skills or [])]

    async def _move(self, order: ServiceOrder, before: Sequence[str], **values: Any) -> bool:
        """Move the order on if it is still in one of ``before``: the one write that
        decides a race."""
        result = await self.session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order.id, ServiceOrder.state.in_([str(s) for s in before]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not _changed(result):
            await self.session.refresh(order)
            return False
        await self.session.refresh(order)
        return True

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

    async def take(self, order_id: int, partner_id: int) -> ServiceOrder:
        """接单/抢单: the first approved partner of the skill to press wins."""
        order = await self._get(order_id)
        problem = may_serve(await self.partner(partner_id), order)
        if problem is not None:
            raise PartnerError(problem)
        if order.state != OrderState.OPEN:
            raise PartnerError(
                PartnerProblem.TAKEN if order.partner_id != partner_id else PartnerProblem.ALREADY
            )
        won = await self._move(
            order,
            [OrderState.OPEN],
            state=OrderState.TAKEN,
            partner_id=partner_id,
            taken_at=self.now,
            timer=OrderTimer.CHASE_PARTNER,
            due_at=self.now + self.policy.chase_after,
        )
        if not won:
            raise PartnerError(PartnerProblem.TAKEN)
        await self._after_taken(order, partner_id)
        return order

    async def _after_taken(self, order: ServiceOrder, partner_id: int) -> None:
        self.outbox.add([partner_id], TAKEN, now=self.now, lane=Lane.TASK, subject_id=order.id)
        # The other offer cards say it is gone: edited where they were sent.
        offered = (
            (
                await self.session.execute(
                    select(OutboxMessage.user_id).where(
                        OutboxMessage.kind == OFFER,
                        OutboxMessage.subject_id == order.id,
                        OutboxMessage.user_id != partner_id,
                    )
                )
            )
            .scalars()
            .all()
        )
        self.outbox.add(
            [int(u) for u in offered],
            OFFER_GONE,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=order.id,
        )
        self._tell_owner(order, "taken")
        await self.audit.record(
            actor_id=partner_id,
            action="order.take",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )

    async def assign(self, staffing: Staffing, order_id: int, partner_id: int) -> ServiceOrder:
        """派单: staff pick a partner, who confirms or declines."""
        order = await self._get(order_id)
        problem = may_decide(staffing, await self.hierarchy.get(order.community_id))
        if problem is not None:
            raise PartnerError(problem)
        if "assign" not in actions(Side.STAFF, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        problem = may_serve(await self.partner(partner_id), order)
        if problem is not None:
            raise PartnerError(problem)
        moved = await self._move(
            order,
            [OrderState.OPEN, OrderState.ASSIGNED],
            state=OrderState.ASSIGNED,
            partner_id=partner_id,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(order.skill),
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self.outbox.add(
            [partner_id], OFFER, now=self.now, lane=Lane.TASK, subject_id=order.id, assigned=True
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="order.assign",
            at=self.now,
            object_type="order",
            object_id=order.id,
            partner=partner_id,
        )
        return order

    async def answer_assignment(
        self, order_id: int, partner_id: int, *, accept: bool
    ) -> ServiceOrder:
        order = await self._get(order_id)
        if order.state != OrderState.ASSIGNED or order.partner_id != partner_id:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if accept:
            problem = may_serve(await self.partner(partner_id), order)
            if problem is not None:
                raise PartnerError(problem)
            moved = await self._move(
                order,
                [OrderState.ASSIGNED],
                state=OrderState.TAKEN,
                taken_at=self.now,
                timer=OrderTimer.CHASE_PARTNER,
                due_at=self.now + self.policy.chase_after,
            )
            if moved:
                await self._after_taken(order, partner_id)
        else:
            moved = await self._move(
                order,
                [OrderState.ASSIGNED],
                state=OrderState.OPEN,
                partner_id=None,
                timer=OrderTimer.DISPATCH,
                due_at=self.now,
            )
            if moved:
                await self.audit.record(
                    actor_id=partner_id,
                    action="order.decline",
                    at=self.now,
                    object_type="order",
                    object_id=order.id,
                )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        return order

    async def progress(self, order_id: int, partner_id: int, step: str) -> ServiceOrder:
        """The partner's 已上门 (visited), 已完成 (done), or 无法服务 (release: offered
        again to the others)."""
        order = await self._get(order_id)
        if order.partner_id != partner_id or step not in actions(Side.PARTNER, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        before = [OrderState(order.state)]
        if step == "visited":
            moved = await self._move(order, before, state=OrderState.VISITED, visited_at=self.now)
        elif step == "done":
            moved = await self._move(
                order,
                before,
                state=OrderState.DONE,
                done_at=self.now,
                timer=OrderTimer.CHASE_RESIDENT,
                due_at=self.now + self.policy.chase_after,
            )
        elif step == "release":
            moved = await self._move(
                order,
                before,
                state=OrderState.OPEN,
                partner_id=None,
                taken_at=None,
                timer=OrderTimer.DISPATCH,
                due_at=self.now + self.policy.dispatch_window(order.skill),
            )
            if moved:
                await self._offer(order, but=partner_id)
        else:
            raise PartnerError(PartnerProblem.BAD_INPUT, step)
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self._tell_owner(order, step)
        await self.audit.record(
            actor_id=partner_id,
            action=f"order.{step}",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )
        return order

    async def confirm(
        self, order_id: int, by: int, rating: Rating, *, may_show: bool = False
    ) -> ServiceOrder:
        """The resident (or the worker who ordered for a household) confirms it was done
        and rates it: only now are the points credited, once."""
        order = await self._get(order_id)
        if by not in self._owner(order):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if "confirm" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        moved = await self._move(
            order,
            [OrderState.DONE],
            state=OrderState.CONFIRMED,
            confirmed_at=self.now,
            rating=rating,
            may_show=may_show,
            timer=None,
            due_at=None,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        assert order.partner_id is not None
        points = self.policy.points_for(order.tier)
        self.session.add(
            PointEntry(
                partner_id=order.partner_id,
                community_id=order.community_id,
                order_id=order.id,
                tier=order.tier,
                points=points,
                reason="order",
                at=self.now,
            )
        )
        self.outbox.add(
            [order.partner_id],
            CREDITED,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=order.id,
            points=points,
        )
        await self.audit.record(
            actor_id=by,
            action="order.confirm",
            at=self.now,
            object_type="order",
            object_id=order.id,
            rating=str(rating),
        )
        return order

    async def set_comment(self, order_id: int, by: int, comment: str) -> ServiceOrder:
        order = await self._get(order_id)
        if by not in self._owner(order) or order.state != OrderState.CONFIRMED:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if len(comment) > MAX_TEXT:
            raise PartnerError(PartnerProblem.BAD_INPUT, "too long")
        order.comment = comment.strip() or None
        return order

    async def relay(
        self, order_id: int, by: int, chat_id: int, message_id: int
    ) -> tuple[ServiceOrder, int]:
        """Pass a message between the partner and whoever ordered, without either
        seeing the other's account: the bot copies it. Returns the order and who gets
        it."""
        order = await self._get(order_id)
        if by == order.partner_id:
            side, to = Side.PARTNER, self._owner(order)
        elif by in self._owner(order):
            side, to = Side.RESIDENT, [order.partner_id] if order.partner_id else []
        else:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if "msg" not in actions(side, order.state) or not to:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self.outbox.add(
            to,
            RELAY,
            now=self.now,
            lane=Lane.TASK,
            subject_id=order.id,
            chat=chat_id,
            message=message_id,
            side=str(side),
        )
        return order, to[0]

    async def set_showcase(self, order_id: int, by: int, show: bool) -> ServiceOrder:
        """晒单: the resident agrees (or not) that the done order is shown — the skill, the
        partner's photo and first name, never anything of the resident."""
        order = await self._get(order_id)
        if by not in self._owner(order) or "show" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        order.may_show = show
        return order

    async def add_photo(self, order_id: int, partner_id: int, file_id: str) -> ServiceOrder:
        order = await self._get(order_id)
        if order.partner_id != partner_id or "photo" not in actions(Side.PARTNER, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        order.photo_file_id = file_id
        return order

    async def showcase(self, community_id: int, limit: int = 10) -> Sequence[ServiceOrder]:
        """Done orders the resident agreed to show, newest first."""
        stmt = (
            select(ServiceOrder)
            .where(
                ServiceOrder.community_id == community_id,
                ServiceOrder.state == OrderState.CONFIRMED,
                ServiceOrder.may_show.is_(True),
            )
            .order_by(ServiceOrder.confirmed_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def not_done(self, order_id: int, by: int) -> ServiceOrder:
        """The resident says it is not done after all: back to the partner."""
        order = await self._get(order_id)
        if by not in self._owner(order) or "not_done" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        moved = await self._move(
            order,
            [OrderState.DONE],
            state=OrderState.TAKEN,
            done_at=None,
            timer=OrderTimer.CHASE_PARTNER,
            due_at=self.now + self.policy.chase_after,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        assert order.partner_id is not None
        self.outbox.add(
            [order.partner_id],
            CHASE,
            now=self.now,
            lane=Lane.TASK,
            subject_id=order.id,
            why="not_done",
        )
        return order

    async def cancel(
        self, order_id: int, by: int, staffing: Staffing | None = None
    ) -> ServiceOrder:
        order = await self._get(order_id)
        if by in self._owner(order):
            side = Side.RESIDENT
        else:
            problem = may_decide(
                staffing or Staffing(by), await self.hierarchy.get(order.community_id)
            )
            if problem is not None:
                raise PartnerError(problem)
            side = Side.STAFF
        if "cancel" not in actions(side, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        partner = order.partner_id
        moved = await self._move(
            order,
            [order.state],
            state=OrderState.CANCELLED,
            cancelled_at=self.now,
            timer=None,
            due_at=None,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if partner:
            self.outbox.add(
                [partner], ORDER_NEWS, now=self.now, subject_id=order.id, event="cancelled"
            )
        if side is Side.STAFF:
            self._tell_owner(order, "cancelled")
        await self.audit.record(
            actor_id=by,
            action="order.cancel",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )
        return order

    async def _get(self, order_id: int) -> ServiceOrder:
        order = await self.order(order_id)
        if order is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        return order

    async def orders_of(self, user_id: int, *, limit: int = 20) -> Sequence[ServiceOrder]:
        """A resident's orders, or a partner's, newest first."""
        stmt = (
            select(ServiceOrder)
            .where(
                (ServiceOrder.resident_id == user_id)
                | (ServiceOrder.ordered_by == user_id)
                | (ServiceOrder.partner_id == user_id)
            )
            .order_by(ServiceOrder.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # --- timers -----------------------------------------------------------------------

    async def due(self, limit: int = 200) -> list[int]:
        stmt = (
            select(ServiceOrder.id)
            .where(ServiceOrder.due_at <= self.now)
            .order_by(ServiceOrder.due_at)
            .limit(limit)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def fire(self, order_id: int) -> str | None:
        """Fire the order's timer once: the UPDATE that moves it on names the moment it
        was due, so a second process firing the same timer changes nothing."""
        order = await self.order(order_id)
        if order is None or order.due_at is None or order.due_at > self.now:
            return None
        timer, due = order.timer, order.due_at
        after: dict[str, Any]
        if timer == OrderTimer.DISPATCH:
            after = {"timer": None, "due_at": None, "dispatched_at": self.now}
        elif timer in (OrderTimer.CHASE_PARTNER, OrderTimer.CHASE_RESIDENT):
            after = {"timer": OrderTimer.STAFF, "due_at": self.now + self.policy.staff_after}
        else:
            after = {"timer": None, "due_at": None}
        result = await self.session.execute(
            update(ServiceOrder)
            .where(
                ServiceOrder.id == order.id, ServiceOrder.due_at == due, ServiceOrder.timer == timer
            )
            .values(**after)
            .execution_options(synchronize_session=False)
        )
        if not _changed(result):
            return None
        await self.session.refresh(order)
        staff = await self.deciders(order.community_id)
        if timer == OrderTimer.DISPATCH:
            self.outbox.add(
                staff, DISPATCH, now=self.now, lane=Lane.TASK, subject_id=order.id, why="nobody"
            )
        elif timer == OrderTimer.CHASE_PARTNER and order.partner_id:
            self.outbox.add(
                [order.partner_id],
                CHASE,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                why="partner",
            )
        elif timer == OrderTimer.CHASE_RESIDENT:
            self.outbox.add(
                self._owner(order),
                CHASE,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                why="resident",
            )
        elif timer == OrderTimer.STAFF:
            self.outbox.add(
                staff, DISPATCH, now=self.now, lane=Lane.TASK, subject_id=order.id, why="stuck"
            )
        return str(timer)

    # --- points -----------------------------------------------------------------------

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
        if not _changed(result):
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


def month_bounds(now: datetime, zone: Any, back: int = 0) -> tuple[datetime, datetime, str]:
    """[start, end) of the local month ``back`` months before ``now``'s, and its label."""
    local = now.astimezone(zone)
    year, month = local.year, local.month - back
    while month < 1:
        year, month = year - 1, month + 12
    start = local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (year + month // 12, month % 12 + 1)
    end = start.replace(year=nxt[0], month=nxt[1])
    return start, end, f"{year}-{month:02d}"


def month_bounds_of(label: str, zone: Any) -> tuple[datetime, datetime, str]:
    """The bounds of the month ``label`` ("2026-11") in ``zone``."""
    year, month = (int(p) for p in label.split("-"))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end, label


def _changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))


def _check_application(application: Application, policy: PartnerPolicy) -> None:
    name = application.real_name.strip()
    if not name or len(name) > MAX_NAME:
        raise PartnerError(PartnerProblem.BAD_INPUT, "name")
    if not application.phone:
        raise PartnerError(PartnerProblem.BAD_INPUT, "phone")
    if not application.skills or any(s not in policy.skills for s in application.skills):
        raise PartnerError(PartnerProblem.BAD_INPUT, "skills")
    if len(application.intro) > MAX_TEXT:
        raise PartnerError(PartnerProblem.BAD_INPUT, "intro")
