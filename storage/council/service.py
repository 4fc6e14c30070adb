"""The council in one unit of work: the next meeting (always there), moving it, the
reminders that fall due, subscriptions, RSVPs, attendance, topics and votes.

Every change that can race is one conditional statement on the state it expects: a
reminder fires when its ``fired_at`` is still empty, a vote closes when it is still open,
a ballot is written only while its vote is open (PostgreSQL: under a share lock on the
vote, so a close waits for ballots in flight and they then see it closed), and the
primary keys hold one ballot, one RSVP and one +1 per person."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from sqlalchemy import and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals.models import Appeal, Level
from storage.appeals.models import Rating as AppealRating
from storage.appeals.models import State as AppealState
from storage.audit import AuditRepo
from storage.council.models import (
    Answer,
    Attendance,
    Ballot,
    CouncilSettings,
    Meeting,
    MeetingState,
    OptOut,
    Reminder,
    ReminderKind,
    Rsvp,
    Topic,
    TopicState,
    TopicSupport,
    Vote,
    VoteState,
)
from storage.council.rules import (
    DEFAULT_OFFSETS,
    MAX_QUESTION,
    MAX_TOPIC,
    RUNNING,
    CouncilError,
    CouncilPolicy,
    CouncilProblem,
    checkin_open,
    may_host,
    meeting_start,
    month_key,
    next_month,
    options_of,
    rsvp_open,
    topics_open,
)
from storage.hierarchy import HierarchyRepo, Node, NodeKind, within_path
from storage.outbox import Lane, OutboxRepo
from storage.roles import Role, Staffing, StaffRepo
from storage.services import Services
from storage.users import User

MAX_MINUTES = 2000  # characters: the minutes and the rest of a meeting fit in one message
TOPIC_NEWS = "council.topic_news"  # to a proposer: accepted, merged or declined
BALLOT = "council.ballot"  # to each voter: the question and one button per option


def _changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class TopicRow:
    topic: Topic
    supports: int


@dataclass(frozen=True)
class Due:
    """A reminder this unit of work claimed: it must be sent before the commit."""

    reminder: Reminder
    meeting: Meeting
    late: bool


class CouncilService:
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
        node = await self.hierarchy.get(building_id) if building_id else None
        if node is None:
            return None
        return (await self.hierarchy.chain(node)).get(NodeKind.COMMUNITY)

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

    # --- settings and the next meeting -------------------------------------------------

    async def settings(self, community_id: int) -> CouncilSettings:
        found = await self.session.get(CouncilSettings, community_id)
        if found is not None:
            return found
        return CouncilSettings(
            community_id=community_id, day=25, minute_of_day=15 * 60, place="", offsets={}
        )

    def offsets(self, settings: CouncilSettings) -> dict[str, int]:
        return {**DEFAULT_OFFSETS, **(settings.offsets or {})}

    async def meeting(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def next_meeting(self, community_id: int) -> Meeting:
        """The meeting residents are preparing for: the scheduled one not yet over (a
        meeting running now still counts), created from the settings when missing."""
        found = await self.session.scalar(
            select(Meeting)
            .where(
                Meeting.community_id == community_id,
                Meeting.state == MeetingState.SCHEDULED,
                Meeting.starts_at > self.now - RUNNING,
            )
            .order_by(Meeting.starts_at)
            .limit(1)
        )
        if found is not None:
            return found
        return await self._create_next(community_id)

    async def _create_next(self, community_id: int) -> Meeting:
        settings = await self.settings(community_id)
        local = self.now.astimezone(self.policy.zone)
        year, month = local.year, local.month
        taken = set(
            (
                await self.session.execute(
                    select(Meeting.month).where(Meeting.community_id == community_id)
                )
            ).scalars()
        )
        for _ in range(24):
            starts = meeting_start(
                year, month, settings.day, settings.minute_of_day, self.policy.zone
            )
            key = f"{year:04d}-{month:02d}"
            if starts > self.now and key not in taken:
                break
            year, month = next_month(year, month)
        meeting = Meeting(
            community_id=community_id,
            month=key,
            starts_at=starts,
            place=settings.place,
            latitude=settings.latitude,
            longitude=settings.longitude,
            state=MeetingState.SCHEDULED,
            checkin_code=f"{secrets.randbelow(10_000):04d}",
            created_at=self.now,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(meeting)
                await self.session.flush()
        except IntegrityError:
            # Another process made this month's meeting first: use theirs.
            theirs = await self.session.scalar(
                select(Meeting).where(Meeting.community_id == community_id, Meeting.month == key)
            )
            assert theirs is not None
            return theirs
        self._add_reminders(meeting, self.offsets(settings), fired=set())
        await self.session.flush()
        return meeting

    def _add_reminders(self, meeting: Meeting, offsets: dict[str, int], fired: set[str]) -> None:
        for kind in ReminderKind:
            if kind.value in fired or kind.value not in offsets:
                continue
            due = meeting.starts_at - timedelta(minutes=offsets[kind.value])
            self.session.add(Reminder(meeting_id=meeting.id, kind=kind.value, due_at=due))

    async def ensure_next_meetings(self) -> int:
        """Every community has its next meeting (the job's first step)."""
        upcoming = (
            select(Meeting.id)
            .where(
                Meeting.community_id == Node.id,
                Meeting.state == MeetingState.SCHEDULED,
                Meeting.starts_at > self.now - RUNNING,
            )
            .exists()
        )
        missing = (
            (
                await self.session.execute(
                    select(Node.id).where(Node.kind == NodeKind.COMMUNITY, ~upcoming)
                )
            )
            .scalars()
            .all()
        )
        for community_id in missing:
            await self._create_next(int(community_id))
        return len(missing)

    async def update_settings(
        self,
        staffing: Staffing,
        community_id: int,
        *,
        day: int | None = None,
        minute_of_day: int | None = None,
        place: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> CouncilSettings:
        """The standing arrangement; the next meeting follows it unless it was moved."""
        await self._host(staffing, community_id)
        settings = await self.session.get(CouncilSettings, community_id)
        if settings is None:
            settings = await self.settings(community_id)
            self.session.add(settings)
        if day is not None:
            if not 1 <= day <= 28:
                raise CouncilError(CouncilProblem.BAD_INPUT, "day 1-28")
            settings.day = day
        if minute_of_day is not None:
            if not 0 <= minute_of_day < 24 * 60:
                raise CouncilError(CouncilProblem.BAD_INPUT, "time of day")
            settings.minute_of_day = minute_of_day
        if place is not None:
            place = place.strip()
            if not place or len(place) > 120:
                raise CouncilError(CouncilProblem.BAD_INPUT, "place")
            settings.place = place
        if location is not None:
            settings.latitude, settings.longitude = location
        settings.updated_by, settings.updated_at = staffing.user_id, self.now
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.settings",
            at=self.now,
            object_type="node",
            object_id=community_id,
            day=settings.day,
            minute=settings.minute_of_day,
            place=settings.place,
        )
        await self.session.flush()
        meeting = await self.next_meeting(community_id)
        if meeting.moved_at is None and meeting.starts_at > self.now:
            meeting.place, meeting.latitude = settings.place, settings.latitude
            meeting.longitude, meeting.host_id = settings.longitude, staffing.user_id
            local = meeting.starts_at.astimezone(self.policy.zone)
            starts = meeting_start(
                local.year, local.month, settings.day, settings.minute_of_day, self.policy.zone
            )
            if starts != meeting.starts_at and starts > self.now:
                await self._retime(meeting, starts)
        return settings

    async def move(
        self, staffing: Staffing, meeting_id: int, starts_at: datetime, reason: str
    ) -> Meeting:
        """One month's meeting at another time (a holiday, the weather): its reminders
        not yet sent are replaced, so the old ones can never fire."""
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        if meeting.state != MeetingState.SCHEDULED or meeting.starts_at <= self.now:
            raise CouncilError(CouncilProblem.WRONG_STATE)
        reason = reason.strip()
        if starts_at <= self.now or not reason or len(reason) > 200:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if starts_at == meeting.starts_at:
            raise CouncilError(CouncilProblem.ALREADY)
        meeting.moved_at, meeting.moved_reason = self.now, reason
        meeting.host_id = staffing.user_id
        await self._retime(meeting, starts_at)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.move",
            at=self.now,
            object_type="meeting",
            object_id=meeting.id,
            to=starts_at.isoformat(),
            reason=reason,
        )
        return meeting

    async def _retime(self, meeting: Meeting, starts_at: datetime) -> None:
        await self.session.execute(
            delete(Reminder).where(Reminder.meeting_id == meeting.id, Reminder.fired_at.is_(None))
        )
        fired = set(
            (
                await self.session.execute(
                    select(Reminder.kind).where(Reminder.meeting_id == meeting.id)
                )
            ).scalars()
        )
        meeting.starts_at = starts_at
        settings = await self.settings(meeting.community_id)
        self._add_reminders(meeting, self.offsets(settings), fired)
        await self.session.flush()

    # --- reminders ----------------------------------------------------------------------

    async def claim_due(self, limit: int = 50) -> list[Due]:
        """Reminders whose moment came, each claimed once (``fired_at`` set by a
        conditional UPDATE: a second process, or a second run, finds it taken). Late ones
        (the bot was down) go only while still useful: before the meeting, a call for
        topics only before the cut-off, and only the latest of several now due."""
        rows = (
            (
                await self.session.execute(
                    select(Reminder.id)
                    .where(Reminder.fired_at.is_(None), Reminder.due_at <= self.now)
                    .order_by(Reminder.due_at)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        claimed: list[Due] = []
        for reminder_id in rows:
            result = await self.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.fired_at.is_(None))
                .values(fired_at=self.now)
            )
            if not _changed(result):
                continue
            reminder = await self.session.get(Reminder, reminder_id, populate_existing=True)
            assert reminder is not None
            meeting = await self.meeting(reminder.meeting_id)
            if meeting is None or not rsvp_open(meeting, self.now):
                reminder.outcome = "skipped"
                continue
            if reminder.kind == ReminderKind.TOPICS and not topics_open(
                meeting, self.now, self.policy
            ):
                reminder.outcome = "skipped"  # a call for topics after they closed
                continue
            superseded = await self.session.scalar(
                select(func.count())
                .select_from(Reminder)
                .where(
                    Reminder.meeting_id == meeting.id,
                    Reminder.due_at > reminder.due_at,
                    Reminder.due_at <= self.now,
                )
            )
            if superseded:
                # The bot was down: only the latest of the reminders now due goes out.
                reminder.outcome = "superseded"
                continue
            late = self.now - reminder.due_at > self.policy.late_after
            reminder.outcome = "late" if late else "sent"
            claimed.append(Due(reminder, meeting, late))
        return claimed

    # --- subscriptions ------------------------------------------------------------------

    async def subscribed(self, user_id: int) -> bool:
        return await self.session.get(OptOut, user_id) is None

    async def subscribe(self, user_id: int, on: bool) -> bool:
        """Set, not flip: a doubled tap changes nothing. True when something changed."""
        current = await self.session.get(OptOut, user_id)
        if on and current is not None:
            await self.session.delete(current)
            return True
        if not on and current is None:
            self.session.add(OptOut(user_id=user_id, at=self.now))
            await self.session.flush()
            return True
        return False

    # --- RSVP and attendance ------------------------------------------------------------

    async def rsvp(self, meeting_id: int, user: User, answer: Answer) -> bool:
        """True when the answer changed (a repeated answer changes nothing)."""
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._resident_of(user, meeting.community_id)
        if not rsvp_open(meeting, self.now):
            raise CouncilError(CouncilProblem.STARTED)
        current = await self.session.get(Rsvp, (meeting_id, user.id))
        if current is not None:
            if current.answer == answer:
                return False
            current.answer, current.at = answer, self.now
            current.building_id = user.building_id
            return True
        try:
            async with self.session.begin_nested():
                self.session.add(
                    Rsvp(
                        meeting_id=meeting_id,
                        user_id=user.id,
                        answer=answer,
                        building_id=user.building_id,
                        at=self.now,
                    )
                )
        except IntegrityError:  # the same person's other tap got there first
            await self.session.execute(
                update(Rsvp)
                .where(Rsvp.meeting_id == meeting_id, Rsvp.user_id == user.id)
                .values(answer=answer, at=self.now)
            )
        return True

    async def answer_of(self, meeting_id: int, user_id: int) -> str | None:
        row = await self.session.get(Rsvp, (meeting_id, user_id))
        return row.answer if row else None

    async def rsvp_counts(self, meeting_id: int) -> dict[tuple[int | None, str], int]:
        """(building id, answer) → how many."""
        rows = await self.session.execute(
            select(Rsvp.building_id, Rsvp.answer, func.count())
            .where(Rsvp.meeting_id == meeting_id)
            .group_by(Rsvp.building_id, Rsvp.answer)
        )
        return {(b, a): int(n) for b, a, n in rows.all()}

    async def rsvps(self, meeting_id: int) -> Sequence[Rsvp]:
        return (
            (await self.session.execute(select(Rsvp).where(Rsvp.meeting_id == meeting_id)))
            .scalars()
            .all()
        )

    async def check_in(self, user: User, code: str) -> Meeting:
        """A resident types the code shown at the meeting."""
        community = await self.community_of(user.building_id)
        if community is None:
            raise CouncilError(CouncilProblem.NOT_RESIDENT)
        meeting = await self.next_meeting(community.id)
        if not checkin_open(meeting, self.now):
            raise CouncilError(CouncilProblem.WRONG_STATE)
        if code.strip() != meeting.checkin_code:
            raise CouncilError(CouncilProblem.BAD_CODE)
        await self._attend(meeting, user.id, "code", None)
        return meeting

    async def mark_attended(self, staffing: Staffing, meeting_id: int, user_id: int) -> bool:
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        return await self._attend(meeting, user_id, "staff", staffing.user_id)

    async def _attend(self, meeting: Meeting, user_id: int, via: str, by: int | None) -> bool:
        if await self.session.get(Attendance, (meeting.id, user_id)) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(
                    Attendance(
                        meeting_id=meeting.id, user_id=user_id, via=via, by_id=by, at=self.now
                    )
                )
        except IntegrityError:
            return False
        return True

    async def attended(self, meeting_id: int, user_id: int) -> bool:
        return await self.session.get(Attendance, (meeting_id, user_id)) is not None

    async def attendance(self, meeting_id: int) -> Sequence[Attendance]:
        return (
            (
                await self.session.execute(
                    select(Attendance).where(Attendance.meeting_id == meeting_id)
                )
            )
            .scalars()
            .all()
        )

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
            appeal = await self.session.get(Appeal, appeal_id)
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

    # --- votes --------------------------------------------------------------------------

    async def open_vote(
        self,
        staffing: Staffing,
        meeting_id: int,
        question: str,
        *,
        options: list[str] | None = None,
        topic_id: int | None = None,
        attendees_only: bool = False,
        live: bool = False,
        quorum: int = 0,
        closes_at: datetime | None = None,
    ) -> Vote:
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        question = question.strip()
        if not question or len(question) > MAX_QUESTION or quorum < 0:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if closes_at is not None and closes_at <= self.now:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        vote = Vote(
            meeting_id=meeting_id,
            topic_id=topic_id,
            question=question,
            options=options_of(options),
            attendees_only=attendees_only,
            live=live,
            quorum=quorum,
            closes_at=closes_at,
            state=VoteState.OPEN,
            opened_by=staffing.user_id,
            opened_at=self.now,
            paper=[],
        )
        self.session.add(vote)
        await self.session.flush()
        voters = await self.eligible(vote, meeting)
        self.outbox.add(voters, BALLOT, now=self.now, lane=Lane.BULK, subject_id=vote.id)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.vote.open",
            at=self.now,
            object_type="vote",
            object_id=vote.id,
            voters=len(voters),
        )
        return vote

    async def eligible(self, vote: Vote, meeting: Meeting) -> list[int]:
        """Residents of the community (or those who attended), who have not blocked the bot."""
        community = await self.hierarchy.get(meeting.community_id)
        assert community is not None
        stmt = (
            select(User.id)
            .join(Node, Node.id == User.building_id)
            .where(
                within_path(Node.path, community.path),
                User.consent_at.is_not(None),
                User.blocked_at.is_(None),
            )
        )
        if vote.attendees_only:
            stmt = stmt.where(
                exists().where(Attendance.meeting_id == meeting.id, Attendance.user_id == User.id)
            )
        return [int(i) for i in (await self.session.execute(stmt.order_by(User.id))).scalars()]

    async def vote(self, vote_id: int) -> Vote | None:
        return await self.session.get(Vote, vote_id)

    async def cast(self, vote_id: int, user: User, choice: int) -> bool:
        """The resident's ballot, written only while the vote is open; True when it
        changed (a repeated choice changes nothing)."""
        vote = await self.vote(vote_id)
        if vote is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(vote.meeting_id)
        assert meeting is not None
        await self._resident_of(user, meeting.community_id)
        if not 0 <= choice < len(vote.options):
            raise CouncilError(CouncilProblem.BAD_INPUT)
        if vote.attendees_only and not await self.attended(meeting.id, user.id):
            raise CouncilError(CouncilProblem.NOT_ATTENDEE)
        if self.session.get_bind().dialect.name != "sqlite":
            # A close waits for this ballot, and this ballot then sees it closed.
            await self.session.execute(
                select(Vote.id).where(Vote.id == vote_id).with_for_update(read=True)
            )
        is_open = (
            select(Vote.id)
            .where(
                Vote.id == vote_id,
                Vote.state == VoteState.OPEN,
                (Vote.closes_at.is_(None)) | (Vote.closes_at > self.now),
            )
            .exists()
        )
        changed = await self.session.execute(
            update(Ballot)
            .where(
                Ballot.vote_id == vote_id,
                Ballot.user_id == user.id,
                Ballot.choice != choice,
                is_open,
            )
            .values(choice=choice, at=self.now)
        )
        if _changed(changed):
            return True
        if (
            await self.session.scalar(
                select(Ballot.choice).where(Ballot.vote_id == vote_id, Ballot.user_id == user.id)
            )
            is not None
        ):
            if not await self.session.scalar(select(is_open)):
                raise CouncilError(CouncilProblem.CLOSED)
            return False
        try:
            async with self.session.begin_nested():
                added = await self.session.execute(
                    insert(Ballot).from_select(
                        ["vote_id", "user_id", "choice", "at"],
                        select(
                            literal(vote_id),
                            literal(user.id),
                            literal(choice),
                            literal(self.now, Ballot.at.type),
                        ).where(is_open),
                    )
                )
        except IntegrityError:
            # The same resident's other press inserted first: this one is a change.
            return await self.cast(vote_id, user, choice)
        if not _changed(added):
            raise CouncilError(CouncilProblem.CLOSED)
        return True

    async def choice_of(self, vote_id: int, user_id: int) -> int | None:
        return await self.session.scalar(
            select(Ballot.choice).where(Ballot.vote_id == vote_id, Ballot.user_id == user_id)
        )

    async def counts(self, vote: Vote) -> list[int]:
        rows = await self.session.execute(
            select(Ballot.choice, func.count())
            .where(Ballot.vote_id == vote.id)
            .group_by(Ballot.choice)
        )
        counts = [0] * len(vote.options)
        for choice, n in rows.all():
            if 0 <= choice < len(counts):
                counts[choice] = int(n)
        return counts

    async def record_paper(self, staffing: Staffing, vote_id: int, counts: list[int]) -> Vote:
        """Ballots cast on paper at the meeting, per option: replaces earlier figures."""
        vote = await self.vote(vote_id)
        if vote is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(vote.meeting_id)
        assert meeting is not None
        await self._host(staffing, meeting.community_id)
        if vote.state != VoteState.OPEN:
            raise CouncilError(CouncilProblem.CLOSED)
        if len(counts) != len(vote.options) or any(n < 0 for n in counts):
            raise CouncilError(CouncilProblem.BAD_INPUT)
        vote.paper, vote.paper_by = list(counts), staffing.user_id
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.vote.paper",
            at=self.now,
            object_type="vote",
            object_id=vote.id,
            counts=",".join(str(n) for n in counts),
        )
        return vote

    async def close_vote(self, vote_id: int, staffing: Staffing | None = None) -> Vote:
        """Closed once (by staff, or by its time with ``staffing`` None); the result is
        counted in the same transaction and never changes after."""
        vote = await self.vote(vote_id)
        if vote is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        meeting = await self.meeting(vote.meeting_id)
        assert meeting is not None
        if staffing is not None:
            await self._host(staffing, meeting.community_id)
        elif vote.closes_at is None or vote.closes_at > self.now:
            raise CouncilError(CouncilProblem.WRONG_STATE)
        closed = await self.session.execute(
            update(Vote)
            .where(Vote.id == vote_id, Vote.state == VoteState.OPEN)
            .values(state=VoteState.CLOSED, closed_at=self.now)
        )
        if not _changed(closed):
            raise CouncilError(CouncilProblem.CLOSED)
        await self.session.refresh(vote)
        chat = await self.counts(vote)
        paper = list(vote.paper or [0] * len(vote.options))
        total = [a + b for a, b in zip(chat, paper, strict=True)]
        ballots = sum(total)
        vote.result = {
            "counts": total,
            "chat": sum(chat),
            "paper": sum(paper),
            "eligible": len(await self.eligible(vote, meeting)) + sum(paper),
            "quorum_met": ballots >= vote.quorum,
        }
        await self.audit.record(
            actor_id=staffing.user_id if staffing else None,
            action="council.vote.close",
            at=self.now,
            object_type="vote",
            object_id=vote.id,
            counts=",".join(str(n) for n in total),
        )
        return vote

    async def due_votes(self) -> list[int]:
        return [
            int(i)
            for i in (
                await self.session.execute(
                    select(Vote.id).where(Vote.state == VoteState.OPEN, Vote.closes_at <= self.now)
                )
            ).scalars()
        ]

    async def votes(self, meeting_id: int) -> Sequence[Vote]:
        return (
            (
                await self.session.execute(
                    select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id)
                )
            )
            .scalars()
            .all()
        )

    async def past_meetings(self, community_id: int, limit: int = 6) -> Sequence[Meeting]:
        return (
            (
                await self.session.execute(
                    select(Meeting)
                    .where(
                        Meeting.community_id == community_id,
                        Meeting.starts_at <= self.now,
                    )
                    .order_by(Meeting.starts_at.desc())
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )

    async def close_meeting(self, staffing: Staffing, meeting_id: int, minutes: str) -> Meeting:
        meeting = await self.meeting(meeting_id)
        if meeting is None:
            raise CouncilError(CouncilProblem.NOT_FOUND)
        await self._host(staffing, meeting.community_id)
        minutes = minutes.strip()
        if not minutes or len(minutes) > MAX_MINUTES:
            raise CouncilError(CouncilProblem.BAD_INPUT)
        result = await self.session.execute(
            update(Meeting)
            .where(
                Meeting.id == meeting_id,
                Meeting.state == MeetingState.SCHEDULED,
                Meeting.starts_at <= self.now,
            )
            .values(state=MeetingState.HELD, minutes=minutes, closed_at=self.now)
        )
        if not _changed(result):
            raise CouncilError(CouncilProblem.WRONG_STATE)
        await self.session.refresh(meeting)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="council.close",
            at=self.now,
            object_type="meeting",
            object_id=meeting.id,
        )
        return meeting


__all__ = [
    "BALLOT",
    "TOPIC_NEWS",
    "Answer",
    "CouncilService",
    "Due",
    "TopicRow",
    "month_key",
]
