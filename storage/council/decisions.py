"""决议 and 自治小组: staff record what the council decided, who carries it out (a
self-governance group of a building or an estate, or a named person) and by when; the
owner reports progress and marks it done; a reminder goes before the due date and staff
are told when it is overdue (each once, by a conditional UPDATE, like appeal timers);
when it is done everyone who proposed the topic, attended or voted is told (你说我办)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from storage.council.base import _changed
from storage.council.models import (
    Attendance,
    Ballot,
    Decision,
    DecisionState,
    Group,
    GroupMember,
    Meeting,
    Report,
    Topic,
    Vote,
)
from storage.council.rules import CouncilError, CouncilProblem
from storage.council.service import CouncilService
from storage.hierarchy import Node, NodeKind
from storage.outbox import Lane
from storage.roles import Staffing
from storage.users import User

DECISION_NEW = "council.decision_new"  # to the owners: a decision is theirs
DECISION_REMIND = "council.decision_remind"  # to the owners: due soon
DECISION_OVERDUE = "council.decision_overdue"  # to the owners and the community's staff
DECISION_DONE = "council.decision_done"  # to who proposed, attended or voted: 你说我办
REMIND_BEFORE = timedelta(days=2)
MAX_WHAT = 1000


def overdue(now: datetime) -> ColumnElement[bool]:
    """A decision not done by its due date (what the overdue timer tells staff of)."""
    return and_(Decision.state == DecisionState.OPEN, Decision.due_at <= now)


class DecisionService(CouncilService):
    # --- self-governance groups -------------------------------------------------------

    async def create_group(
        self, staffing: Staffing, community_id: int, node_id: int, name: str
    ) -> Group:
        community = await self._host(staffing, community_id)
        node = await self.hierarchy.get(node_id)
        name = name.strip()
        if node is None or not node.is_within(community) or node.id == community.id:
            raise CouncilError(CouncilProblem.BAD_INPUT, "a building or estate of the community")
        if not name or len(name) > 60:
            raise CouncilError(CouncilProblem.BAD_INPUT, "name")
        group = Group(
            community_id=community_id,
            node_id=node_id,
            name=name,
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(group)
        await self.session.flush()
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.group.create",
            at=self.now,
            object_type="group",
            object_id=group.id,
            name=name,
        )
        return group

    async def group(self, group_id: int) -> Group | None:
        return await self.session.get(Group, group_id)

    async def groups(self, community_id: int) -> Sequence[Group]:
        return (
            (
                await self.session.execute(
                    select(Group).where(Group.community_id == community_id).order_by(Group.id)
                )
            )
            .scalars()
            .all()
        )

    async def add_member(
        self, staffing: Staffing, group_id: int, user_id: int, *, leader: bool = False
    ) -> bool:
        """Only a resident of the group's community joins; True when something changed."""
        group = await self.group(group_id)
        if group is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, group.community_id)
        user = await self.session.get(User, user_id)
        await self._resident_of(user, group.community_id)
        changed = False
        if await self.session.get(GroupMember, (group_id, user_id)) is None:
            self.session.add(GroupMember(group_id=group_id, user_id=user_id, at=self.now))
            changed = True
        if leader and group.leader_id != user_id:
            group.leader_id, changed = user_id, True
        if changed:
            await self.audit.record(
                actor_id=staffing.user_id,
                action="council.group.member",
                at=self.now,
                object_type="group",
                object_id=group_id,
                user=user_id,
                leader=leader,
            )
        await self.session.flush()
        return changed

    async def remove_member(self, staffing: Staffing, group_id: int, user_id: int) -> bool:
        group = await self.group(group_id)
        if group is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, group.community_id)
        member = await self.session.get(GroupMember, (group_id, user_id))
        if member is None:
            return False
        await self.session.delete(member)
        if group.leader_id == user_id:
            group.leader_id = None
        return True

    async def members(self, group_id: int) -> list[int]:
        return [
            int(u)
            for u in (
                await self.session.execute(
                    select(GroupMember.user_id)
                    .where(GroupMember.group_id == group_id)
                    .order_by(GroupMember.at)
                )
            ).scalars()
        ]

    async def groups_of(self, user_id: int) -> list[int]:
        return [
            int(g)
            for g in (
                await self.session.execute(
                    select(GroupMember.group_id).where(GroupMember.user_id == user_id)
                )
            ).scalars()
        ]

    # --- decisions --------------------------------------------------------------------

    async def decide(
        self,
        staffing: Staffing,
        meeting_id: int,
        what: str,
        due_at: datetime,
        *,
        group_id: int | None = None,
        owner_id: int | None = None,
        topic_id: int | None = None,
    ) -> Decision:
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        if meeting.starts_at > self.now:
            raise CouncilError(CouncilProblem.WRONG_STATE, "decided at or after the meeting")
        what = what.strip()
        if not what or len(what) > MAX_WHAT or due_at <= self.now:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if (group_id is None) == (owner_id is None):
            raise CouncilError(CouncilProblem.BAD_INPUT, "a group or a person")
        if group_id is not None:
            group = await self.group(group_id)
            if group is None or group.community_id != meeting.community_id:
                raise CouncilError(CouncilProblem.BAD_INPUT, "a group of this community")
        elif owner_id is not None and owner_id != staffing.user_id:
            await self.check_owner(meeting.community_id, owner_id)
        if topic_id is not None:
            topic = await self.topic(topic_id)
            if topic is None or topic.meeting_id != meeting.id:
                raise CouncilError(CouncilProblem.BAD_INPUT, "a topic of this meeting")
        decision = Decision(
            meeting_id=meeting.id,
            topic_id=topic_id,
            what=what,
            group_id=group_id,
            owner_id=owner_id,
            due_at=due_at,
            state=DecisionState.OPEN,
            percent=0,
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(decision)
        await self.session.flush()
        self.outbox.add(
            await self.owners(decision),
            DECISION_NEW,
            now=self.now,
            lane=Lane.TASK,
            subject_id=decision.id,
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.decision",
            at=self.now,
            object_type="decision",
            object_id=decision.id,
        )
        return decision

    async def check_owner(self, community_id: int, user_id: int) -> User:
        """A named person carrying out a decision lives in the community (staff name
        themselves): raises NOT_RESIDENT otherwise, e.g. for someone who never used the bot."""
        user = await self.session.get(User, user_id)
        await self._resident_of(user, community_id)
        assert user is not None
        return user

    async def decision(self, decision_id: int) -> Decision | None:
        return await self.session.get(Decision, decision_id)

    async def owners(self, decision: Decision) -> list[int]:
        if decision.group_id is not None:
            return await self.members(decision.group_id)
        return [decision.owner_id] if decision.owner_id is not None else []

    async def overdue_decisions(self, community_id: int) -> Sequence[Decision]:
        """A community's decisions past their due date and not done, the longest
        overdue first."""
        stmt = (
            select(Decision)
            .join(Meeting, Meeting.id == Decision.meeting_id)
            .where(Meeting.community_id == community_id, overdue(self.now))
            .order_by(Decision.due_at, Decision.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def decisions(self, meeting_id: int) -> Sequence[Decision]:
        return (
            (
                await self.session.execute(
                    select(Decision).where(Decision.meeting_id == meeting_id).order_by(Decision.id)
                )
            )
            .scalars()
            .all()
        )

    async def decisions_of(self, user_id: int) -> Sequence[Decision]:
        """What this person carries out (theirs, or their groups'), open first by due."""
        groups = await self.groups_of(user_id)
        return (
            (
                await self.session.execute(
                    select(Decision)
                    .where(or_(Decision.owner_id == user_id, Decision.group_id.in_(groups)))
                    .order_by(Decision.state != DecisionState.OPEN, Decision.due_at)
                )
            )
            .scalars()
            .all()
        )

    async def _owner_or_host(self, decision: Decision, user_id: int, staffing: Staffing) -> Meeting:
        meeting = await self.meeting(decision.meeting_id)
        assert meeting is not None
        if user_id in await self.owners(decision):
            return meeting
        await self._host(staffing, meeting.community_id)
        return meeting

    async def report(
        self,
        decision_id: int,
        user_id: int,
        staffing: Staffing,
        *,
        text: str,
        percent: int,
        photo_file_id: str | None = None,
    ) -> Report:
        decision = await self.decision(decision_id)
        if decision is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._owner_or_host(decision, user_id, staffing)
        if decision.state != DecisionState.OPEN:
            raise CouncilError(CouncilProblem.ALREADY)
        text = text.strip()
        if not 0 <= percent <= 100 or (not text and photo_file_id is None) or len(text) > MAX_WHAT:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        report = Report(
            decision_id=decision.id,
            by_id=user_id,
            text=text,
            photo_file_id=photo_file_id,
            percent=percent,
            at=self.now,
        )
        self.session.add(report)
        decision.percent = percent
        await self.session.flush()
        return report

    async def reports(self, decision_id: int) -> Sequence[Report]:
        return (
            (
                await self.session.execute(
                    select(Report).where(Report.decision_id == decision_id).order_by(Report.id)
                )
            )
            .scalars()
            .all()
        )

    async def mark_done(self, decision_id: int, user_id: int, staffing: Staffing) -> Decision:
        """Done once (a doubled press finds it done); then the loop closes."""
        decision = await self.decision(decision_id)
        if decision is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._owner_or_host(decision, user_id, staffing)
        result = await self.session.execute(
            update(Decision)
            .where(Decision.id == decision.id, Decision.state == DecisionState.OPEN)
            .values(state=DecisionState.DONE, percent=100, done_at=self.now, done_by=user_id)
        )
        if not _changed(result):
            raise CouncilError(CouncilProblem.ALREADY)
        await self.session.refresh(decision)
        told = await self.loop_audience(decision)
        self.outbox.add(told, DECISION_DONE, now=self.now, lane=Lane.STATUS, subject_id=decision.id)
        await self.audit.record(
            actor_id=user_id,
            action="council.decision.done",
            at=self.now,
            object_type="decision",
            object_id=decision.id,
            told=len(told),
        )
        return decision

    async def loop_audience(self, decision: Decision) -> list[int]:
        """Who proposed the topic (and the topics merged into it), attended the meeting
        or voted at it; the community's staff too."""
        people: set[int] = set()
        if decision.topic_id is not None:
            authors = await self.session.execute(
                select(Topic.author_id).where(
                    or_(Topic.id == decision.topic_id, Topic.merged_into_id == decision.topic_id)
                )
            )
            people.update(int(a) for a in authors.scalars() if a is not None)
        attended = await self.session.execute(
            select(Attendance.user_id).where(Attendance.meeting_id == decision.meeting_id)
        )
        people.update(int(a) for a in attended.scalars())
        voted = await self.session.execute(
            select(Ballot.user_id)
            .join(Vote, Vote.id == Ballot.vote_id)
            .where(Vote.meeting_id == decision.meeting_id)
        )
        people.update(int(v) for v in voted.scalars())
        meeting = await self.meeting(decision.meeting_id)
        assert meeting is not None
        people.update(await self.hosts(meeting.community_id))
        return sorted(people)

    async def fire_timers(self) -> int:
        """Due soon: the owners are reminded; past due: they and the staff are told. Each
        once: the UPDATE that records it only matches while it is still unrecorded."""
        fired = 0
        soon = (
            (
                await self.session.execute(
                    select(Decision.id).where(
                        Decision.state == DecisionState.OPEN,
                        Decision.reminded_at.is_(None),
                        Decision.due_at <= self.now + REMIND_BEFORE,
                        Decision.due_at > self.now,
                    )
                )
            )
            .scalars()
            .all()
        )
        for decision_id in soon:
            result = await self.session.execute(
                update(Decision)
                .where(Decision.id == decision_id, Decision.reminded_at.is_(None))
                .values(reminded_at=self.now)
            )
            if _changed(result):
                decision = await self.decision(decision_id)
                assert decision is not None
                self.outbox.add(
                    await self.owners(decision),
                    DECISION_REMIND,
                    now=self.now,
                    subject_id=decision_id,
                )
                fired += 1
        late = (
            (
                await self.session.execute(
                    select(Decision.id).where(overdue(self.now), Decision.overdue_at.is_(None))
                )
            )
            .scalars()
            .all()
        )
        for decision_id in late:
            result = await self.session.execute(
                update(Decision)
                .where(
                    Decision.id == decision_id,
                    Decision.overdue_at.is_(None),
                    Decision.state == DecisionState.OPEN,
                )
                .values(overdue_at=self.now)
            )
            if _changed(result):
                decision = await self.decision(decision_id)
                assert decision is not None
                meeting = await self.meeting(decision.meeting_id)
                assert meeting is not None
                told = set(await self.owners(decision)) | set(
                    await self.hosts(meeting.community_id)
                )
                self.outbox.add(
                    sorted(told),
                    DECISION_OVERDUE,
                    now=self.now,
                    lane=Lane.TASK,
                    subject_id=decision_id,
                )
                fired += 1
        return fired

    async def latest_held(self, community_id: int) -> Meeting | None:
        """The meeting decisions are being recorded for: the latest that has begun."""
        return await self.session.scalar(
            select(Meeting)
            .where(Meeting.community_id == community_id, Meeting.starts_at <= self.now)
            .order_by(Meeting.starts_at.desc())
            .limit(1)
        )

    async def buildings_of(self, community: Node) -> Sequence[Node]:
        return [
            n
            for kind in (NodeKind.GRID, NodeKind.BUILDING)
            for n in await self.hierarchy.of_kind(kind, within=community)
        ]
