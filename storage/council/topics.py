"""Topics: residents propose them until the cut-off and +1 each other's (one per person);
staff accept them into an ordered agenda, merge duplicates (the +1s go along) or decline
them with a reason, each proposer told; one still waiting for review when its meeting is
over (closed, or past its running time) goes on to the community's next meeting, +1s and
all, and its proposer is told so; the month's appeals rated unsatisfied or called up are
offered as candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.appeals.desk import staff_appeal
from storage.appeals.models import Appeal, Level
from storage.appeals.models import Rating as AppealRating
from storage.appeals.models import State as AppealState
from storage.council.base import _changed
from storage.council.meetings import Meetings
from storage.council.models import (
    Meeting,
    MeetingState,
    Outcome,
    Topic,
    TopicState,
    TopicSupport,
)
from storage.council.rules import (
    MAX_TOPIC,
    RUNNING,
    CouncilError,
    CouncilProblem,
    next_month,
    rsvp_open,
    topics_open,
)
from storage.roles import Staffing
from storage.users import User

# To a proposer: accepted, merged or declined; or, with ``carried_from`` (the meeting it
# was proposed for), carried over to the next meeting still waiting for review.
TOPIC_NEWS = "council.topic_news"


@dataclass(frozen=True)
class TopicRow:
    topic: Topic
    supports: int


class Topics(Meetings):
    # --- topics -------------------------------------------------------------------------

    async def propose(
        self,
        meeting_id: int,
        user: User,
        text: str,
        *,
        voice_file_id: str | None = None,
        photo_file_id: str | None = None,
    ) -> Topic:
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._resident_of(user, meeting.community_id)
        if not topics_open(meeting, self.now, self.policy):
            raise CouncilError(CouncilProblem.CUT_OFF)
        text = text.strip()
        if (not text and voice_file_id is None) or len(text) > MAX_TOPIC:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        topic = Topic(
            meeting_id=meeting_id,
            author_id=user.id,
            text=text,
            voice_file_id=voice_file_id,
            photo_file_id=photo_file_id,
            state=TopicState.OPEN,
            created_at=self.now,
        )
        self.session.add(topic)
        await self.session.flush()
        return topic

    async def topic(self, topic_id: int) -> Topic | None:
        return await self.session.get(Topic, topic_id)

    async def topics(
        self, meeting_id: int, states: Sequence[str] = (TopicState.OPEN, TopicState.ACCEPTED)
    ) -> list[TopicRow]:
        """Accepted topics in agenda order first, then open ones by support and age."""
        supports = (
            select(func.count())
            .select_from(TopicSupport)
            .where(TopicSupport.topic_id == Topic.id)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Topic, supports)
            .where(Topic.meeting_id == meeting_id, Topic.state.in_(list(states)))
            .order_by(
                (Topic.state != TopicState.ACCEPTED),
                Topic.position,
                supports.desc(),
                Topic.id,
            )
        )
        return [TopicRow(t, int(n)) for t, n in rows.all()]

    async def support(self, topic_id: int, user: User) -> bool:
        """+1: one per resident per topic; False when it was there already."""
        topic = await self.topic(topic_id)
        if topic is None or topic.state not in (TopicState.OPEN, TopicState.ACCEPTED):
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(topic.meeting_id)
        assert meeting is not None
        await self._resident_of(user, meeting.community_id)
        if not rsvp_open(meeting, self.now):
            raise CouncilError(CouncilProblem.STARTED)
        if topic.author_id == user.id:
            raise CouncilError(CouncilProblem.OWN_TOPIC)
        if await self.session.get(TopicSupport, (topic_id, user.id)) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(TopicSupport(topic_id=topic_id, user_id=user.id, at=self.now))
        except IntegrityError:
            return False
        return True

    async def supported(self, topic_id: int, user_id: int) -> bool:
        return await self.session.get(TopicSupport, (topic_id, user_id)) is not None

    async def _curate(self, staffing: Staffing, topic_id: int) -> tuple[Topic, Meeting]:
        topic = await self.topic(topic_id)
        if topic is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(topic.meeting_id)
        assert meeting is not None
        await self._host(staffing, meeting.community_id)
        if meeting.state != MeetingState.SCHEDULED:
            raise CouncilError(CouncilProblem.WRONG_STATE)
        return topic, meeting

    async def _decide(self, topic: Topic, staffing: Staffing, state: str, **values: Any) -> None:
        result = await self.session.execute(
            update(Topic)
            .where(Topic.id == topic.id, Topic.state == topic.state)
            .values(state=state, decided_by=staffing.user_id, **values)
        )
        if not _changed(result):
            raise CouncilError(CouncilProblem.ALREADY)
        await self.session.refresh(topic)
        await self.audit.record(
            actor_id=staffing.user_id,
            action=f"council.topic.{state}",
            at=self.now,
            object_type="topic",
            object_id=topic.id,
            **{k: v for k, v in values.items() if isinstance(v, str | int)},
        )
        if topic.author_id is not None:
            self.outbox.add([topic.author_id], TOPIC_NEWS, now=self.now, subject_id=topic.id)

    async def accept(self, staffing: Staffing, topic_id: int) -> Topic:
        topic, meeting = await self._curate(staffing, topic_id)
        if topic.state != TopicState.OPEN:
            raise CouncilError(CouncilProblem.ALREADY)
        last = await self.session.scalar(
            select(func.max(Topic.position)).where(
                Topic.meeting_id == meeting.id, Topic.state == TopicState.ACCEPTED
            )
        )
        await self._decide(topic, staffing, TopicState.ACCEPTED, position=int(last or 0) + 1)
        return topic

    async def set_outcome(self, staffing: Staffing, topic_id: int, outcome: Outcome) -> bool:
        """What the meeting made of an agenda item, once it has begun (and after it was
        closed, to put the record right); False when it already said so."""
        topic = await self.topic(topic_id)
        if topic is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(topic.meeting_id)
        assert meeting is not None
        await self._host(staffing, meeting.community_id)
        if topic.state != TopicState.ACCEPTED or meeting.starts_at > self.now:
            raise CouncilError(CouncilProblem.WRONG_STATE)
        if topic.outcome == outcome:
            return False
        topic.outcome = Outcome(outcome).value
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.topic.outcome",
            at=self.now,
            object_type="topic",
            object_id=topic.id,
            outcome=topic.outcome,
        )
        await self.session.flush()
        return True

    async def decline(self, staffing: Staffing, topic_id: int, reason: str) -> Topic:
        topic, _ = await self._curate(staffing, topic_id)
        reason = reason.strip()
        if not reason or len(reason) > 200:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if topic.state not in (TopicState.OPEN, TopicState.ACCEPTED):
            raise CouncilError(CouncilProblem.ALREADY)
        await self._decide(topic, staffing, TopicState.DECLINED, reason=reason, position=None)
        return topic

    async def merge(self, staffing: Staffing, topic_id: int, into_id: int) -> Topic:
        """A duplicate folds into another topic of the same meeting; its +1s go along."""
        topic, meeting = await self._curate(staffing, topic_id)
        target = await self.topic(into_id)
        if (
            target is None
            or target.id == topic.id
            or target.meeting_id != meeting.id
            or target.state not in (TopicState.OPEN, TopicState.ACCEPTED)
        ):
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if topic.state not in (TopicState.OPEN, TopicState.ACCEPTED):
            raise CouncilError(CouncilProblem.ALREADY)
        supporters = set(
            (
                await self.session.execute(
                    select(TopicSupport.user_id).where(TopicSupport.topic_id == topic.id)
                )
            ).scalars()
        )
        if topic.author_id is not None:
            supporters.add(topic.author_id)
        supporters.discard(target.author_id or 0)
        for user_id in supporters:
            if await self.session.get(TopicSupport, (target.id, user_id)) is None:
                self.session.add(TopicSupport(topic_id=target.id, user_id=user_id, at=self.now))
        await self._decide(
            topic, staffing, TopicState.MERGED, merged_into_id=target.id, position=None
        )
        return topic

    async def move_topic(self, staffing: Staffing, topic_id: int, up: bool) -> bool:
        """Swap an accepted topic with its neighbour in the agenda."""
        topic, meeting = await self._curate(staffing, topic_id)
        if topic.state != TopicState.ACCEPTED or topic.position is None:
            raise CouncilError(CouncilProblem.WRONG_STATE)
        neighbour = await self.session.scalar(
            select(Topic)
            .where(
                Topic.meeting_id == meeting.id,
                Topic.state == TopicState.ACCEPTED,
                Topic.position < topic.position if up else Topic.position > topic.position,
            )
            .order_by(Topic.position.desc() if up else Topic.position)
            .limit(1)
        )
        if neighbour is None or neighbour.position is None:
            return False
        topic.position, neighbour.position = neighbour.position, topic.position
        return True

    async def carry_over(self, meeting: Meeting | None = None) -> int:
        """Topics still waiting for review whose meeting is over (``meeting``, or every
        meeting closed or past its running time) go to their community's next meeting,
        each proposer told; a topic staff decide on meanwhile stays where it is."""
        over = or_(Meeting.state != MeetingState.SCHEDULED, Meeting.starts_at <= self.now - RUNNING)
        stmt = (
            select(Topic.id, Topic.author_id, Meeting.id, Meeting.community_id)
            .join(Meeting, Meeting.id == Topic.meeting_id)
            .where(Topic.state == TopicState.OPEN, over)
            .order_by(Topic.id)
        )
        if meeting is not None:
            stmt = stmt.where(Meeting.id == meeting.id)
        carried = 0
        following: dict[int, Meeting] = {}
        for topic_id, author_id, from_id, community_id in (await self.session.execute(stmt)).all():
            if community_id not in following:
                following[community_id] = await self.next_meeting(community_id)
            to = following[community_id]
            moved = await self.session.execute(
                update(Topic)
                .where(
                    Topic.id == topic_id,
                    Topic.meeting_id == from_id,
                    Topic.state == TopicState.OPEN,
                )
                .values(meeting_id=to.id)
                .execution_options(synchronize_session=False)
            )
            if not _changed(moved):
                continue
            carried += 1
            await self.audit.record(
                actor_id=None,
                action="council.topic.carried",
                at=self.now,
                object_type="topic",
                object_id=topic_id,
                meeting=to.id,
            )
            if author_id is not None:
                self.outbox.add(
                    [author_id], TOPIC_NEWS, now=self.now, subject_id=topic_id, carried_from=from_id
                )
        return carried

    async def candidate_appeals(self, meeting: Meeting, limit: int = 30) -> Sequence[Appeal]:
        """Appeals of the meeting's month in its community that ended unsatisfied or were
        called up a level: offered to staff as topics, until one becomes a topic."""
        year, month = (int(p) for p in meeting.month.split("-"))
        start = datetime(year, month, 1, tzinfo=self.policy.zone).astimezone(UTC)
        following = next_month(year, month)
        end = datetime(*following, 1, tzinfo=self.policy.zone).astimezone(UTC)
        taken = select(Topic.id).where(Topic.appeal_id == Appeal.id).exists()
        stmt = (
            select(Appeal)
            .where(
                Appeal.community_id == meeting.community_id,
                Appeal.submitted_at >= start,
                Appeal.submitted_at < end,
                or_(
                    and_(
                        Appeal.state == AppealState.CLOSED,
                        Appeal.rating == AppealRating.UNSATISFIED,
                    ),
                    Appeal.escalations > 0,
                    Appeal.level != Level.GRID,
                ),
                ~taken,
            )
            .order_by(Appeal.submitted_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def add_topic(
        self, staffing: Staffing, meeting_id: int, text: str, appeal_id: int | None = None
    ) -> Topic:
        """Staff put a topic straight on the agenda (e.g. from an appeal of the month)."""
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        text = text.strip()
        if not text or len(text) > MAX_TOPIC:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if appeal_id is not None:
            appeal = await staff_appeal(self.session, staffing, appeal_id)
            if appeal is None or appeal.community_id != meeting.community_id:
                raise CouncilError(CouncilProblem.BAD_INPUT, "an appeal of this community")
        last = await self.session.scalar(
            select(func.max(Topic.position)).where(
                Topic.meeting_id == meeting.id, Topic.state == TopicState.ACCEPTED
            )
        )
        topic = Topic(
            meeting_id=meeting_id,
            author_id=None,
            text=text,
            appeal_id=appeal_id,
            state=TopicState.ACCEPTED,
            position=int(last or 0) + 1,
            decided_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(topic)
        await self.session.flush()
        return topic
