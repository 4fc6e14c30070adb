"""The one read of anything asked for by an id that came from outside: a button's
callback data, a typed number, a URL. It takes the person (their grants and the
building they live in) and returns None for whatever lies outside their scope, exactly
as for an id that does not exist, so a forged, stale or curious press learns nothing and
a screen has nothing to show or act on. A hidden button is never a permission: every
screen and handler that looks up an appeal, topic, meeting, vote, decision, application,
order or notice by such an id goes through ``Scoped``.

Who sees what:

- an appeal: staff whose scope covers its grid (the desk's ``staff_appeal``, the
  chat's ``Action.OPEN`` rule), the resident who filed it and those following it;
- a meeting, its topics, votes and decisions: staff who may host the community's
  council (``may_host``), and residents living in that community;
- an application (a partner's row): the partner themself and staff who decide on the
  community's partners (``may_decide``);
- a service order: whoever ordered it, the partner holding it, partners it may be
  offered to (``may_serve``) and leaders of the community's teams with its skill, staff
  who decide on the community's partners and grid workers of its building (代点单);
- a notice: its author, staff who may send to its node, those it was sent to and the
  grid workers it sent a door-visit list to.

Writes still ask the domain's rules with the actor (the services re-check every
write): this read decides only what may be looked at."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.desk import MAX_ID, staff_appeal
from storage.appeals.models import Appeal, AppealFollower
from storage.council.models import Decision, Group, Meeting, Topic, Vote
from storage.council.rules import may_host
from storage.hierarchy import Node
from storage.notices.models import Notice
from storage.notices.rules import SENDERS
from storage.notices.service import COPY, VISITS
from storage.outbox import OutboxMessage
from storage.partners.models import Partner, ServiceOrder, Team
from storage.partners.rules import DECIDERS, PROXIES, may_decide, may_serve
from storage.roles import Role, Staffing
from storage.services import Services

T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    """Who is asking: their grants and their home (None: not bound to a building)."""

    user_id: int
    staffing: Staffing
    home: Node | None = None

    def lives_in(self, node: Node | None) -> bool:
        return node is not None and self.home is not None and self.home.is_within(node)

    def staff_over(self, node: Node | None, roles: Iterable[Role] | None = None) -> bool:
        return node is not None and self.staffing.covers(node, roles)


class Scoped:
    """Reads by id, each returning None outside the person's scope."""

    def __init__(self, session: AsyncSession, person: Person) -> None:
        self.session = session
        self.person = person

    @classmethod
    async def of(cls, services: Services, staffing: Staffing) -> Self:
        """The reads for the person ``staffing`` belongs to, their home looked up."""
        user = await services.users.get(staffing.user_id)
        home = await services.hierarchy.get(user.building_id) if user and user.building_id else None
        return cls(services.session, Person(staffing.user_id, staffing, home))

    async def _get(self, kind: type[T], key: int) -> T | None:
        if not 0 < key <= MAX_ID:
            return None
        return await self.session.get(kind, key)

    async def _node(self, node_id: int | None) -> Node | None:
        return await self.session.get(Node, node_id) if node_id else None

    # --- appeals -------------------------------------------------------------------------

    async def appeal(self, appeal_id: int) -> Appeal | None:
        seen = await staff_appeal(self.session, self.person.staffing, appeal_id)
        appeal = seen or await self._get(Appeal, appeal_id)
        me = self.person.user_id
        if appeal is None or seen is not None or appeal.resident_id == me:
            return appeal
        followed = await self.session.get(AppealFollower, (appeal.id, me))
        return appeal if followed is not None else None

    # --- the council ---------------------------------------------------------------------

    async def _community_seen(self, community_id: int) -> bool:
        community = await self._node(community_id)
        if community is None:
            return False
        return may_host(self.person.staffing, community) is None or self.person.lives_in(community)

    async def meeting(self, meeting_id: int) -> Meeting | None:
        meeting = await self._get(Meeting, meeting_id)
        if meeting is None or not await self._community_seen(meeting.community_id):
            return None
        return meeting

    async def topic(self, topic_id: int) -> Topic | None:
        topic = await self._get(Topic, topic_id)
        if topic is None or await self.meeting(topic.meeting_id) is None:
            return None
        return topic

    async def vote(self, vote_id: int) -> Vote | None:
        vote = await self._get(Vote, vote_id)
        if vote is None or await self.meeting(vote.meeting_id) is None:
            return None
        return vote

    async def decision(self, decision_id: int) -> Decision | None:
        decision = await self._get(Decision, decision_id)
        if decision is None or await self.meeting(decision.meeting_id) is None:
            return None
        return decision

    async def group(self, group_id: int) -> Group | None:
        group = await self._get(Group, group_id)
        if group is None or not await self._community_seen(group.community_id):
            return None
        return group

    # --- partners ------------------------------------------------------------------------

    async def application(self, user_id: int) -> Partner | None:
        """A partner's row (their application, their standing), by their user id."""
        partner = await self._get(Partner, user_id)
        if partner is None:
            return None
        if partner.user_id == self.person.user_id:
            return partner
        community = await self._node(partner.community_id)
        return partner if may_decide(self.person.staffing, community) is None else None

    async def order(self, order_id: int) -> ServiceOrder | None:
        order = await self._get(ServiceOrder, order_id)
        if order is None:
            return None
        me = self.person.user_id
        if me in (order.resident_id, order.ordered_by, order.partner_id):
            return order
        if self.person.staff_over(await self._node(order.community_id), DECIDERS):
            return order
        if self.person.staff_over(await self._node(order.building_id), PROXIES):
            return order
        if may_serve(await self.session.get(Partner, me), order) is None:
            return order
        leads = await self.session.scalars(
            select(Team.skills).where(Team.leader_id == me, Team.community_id == order.community_id)
        )
        if any(order.skill in (skills or []) for skills in leads):
            return order
        return None

    # --- notices -------------------------------------------------------------------------

    async def notice(self, notice_id: int) -> Notice | None:
        notice = await self._get(Notice, notice_id)
        if notice is None:
            return None
        me = self.person.user_id
        if notice.author_id == me or self.person.staff_over(
            await self._node(notice.node_id), SENDERS
        ):
            return notice
        reached = await self.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind.in_((COPY, VISITS)),
                OutboxMessage.subject_id == notice.id,
                OutboxMessage.user_id == me,
            )
            .limit(1)
        )
        return notice if reached is not None else None
