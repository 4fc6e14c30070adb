"""The meetings: each community's settings, its next meeting (always there, made from the
settings when missing), moving one month's meeting (its unsent reminders replaced in the
same transaction, so the old ones can never fire), the reminders that fall due (each
claimed once by a conditional UPDATE on ``fired_at``), past meetings and the minutes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from storage.council.base import CouncilBase, _changed
from storage.council.models import (
    CouncilSettings,
    Meeting,
    MeetingState,
    Reminder,
    ReminderKind,
)
from storage.council.rules import (
    DEFAULT_OFFSETS,
    RUNNING,
    CouncilError,
    CouncilProblem,
    meeting_start,
    next_month,
    rsvp_open,
    topics_open,
)
from storage.hierarchy import Node, NodeKind
from storage.roles import Staffing

MIN_OFFSET, MAX_OFFSET = 30, 28 * 24 * 60  # minutes before the meeting a reminder may go
MAX_MINUTES = 2000  # characters: the minutes and the rest of a meeting fit in one message


@dataclass(frozen=True)
class Due:
    """A reminder this unit of work claimed: it must be sent before the commit."""

    reminder: Reminder
    meeting: Meeting
    late: bool


class Meetings(CouncilBase):
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

    async def next_meeting(self, community_id: int) -> Meeting:
        """The meeting residents are preparing for: the scheduled one not yet over (a
        meeting running now still counts), created from the settings when missing."""
        found = await self.upcoming(community_id, limit=1)
        if found:
            return found[0]
        return await self._create_next(community_id)

    async def upcoming(self, community_id: int, *, limit: int = 3) -> Sequence[Meeting]:
        """The scheduled meetings not yet over (one running now still counts), soonest
        first; read only (the next one is created by ``next_meeting``)."""
        stmt = (
            select(Meeting)
            .where(
                Meeting.community_id == community_id,
                Meeting.state == MeetingState.SCHEDULED,
                Meeting.starts_at > self.now - RUNNING,
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

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
        offsets: dict[str, int] | None = None,
    ) -> Meeting | None:
        """The standing arrangement; the next meeting follows it unless it was moved.
        Returns that meeting when its time changed after a reminder had gone out (its
        subscribers are to be told), else None."""
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
        if offsets is not None:
            if set(offsets) != {k.value for k in ReminderKind} or not all(
                MIN_OFFSET <= m <= MAX_OFFSET for m in offsets.values()
            ):
                raise CouncilError(CouncilProblem.BAD_INPUT, "offsets")
            settings.offsets = dict(offsets)
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
        if meeting.starts_at <= self.now:
            return None
        starts = meeting.starts_at
        if meeting.moved_at is None:
            meeting.place, meeting.latitude = settings.place, settings.latitude
            meeting.longitude, meeting.host_id = settings.longitude, staffing.user_id
            local = meeting.starts_at.astimezone(self.policy.zone)
            wanted = meeting_start(
                local.year, local.month, settings.day, settings.minute_of_day, self.policy.zone
            )
            starts = wanted if wanted > self.now else starts
        retimed = starts != meeting.starts_at
        if retimed or offsets is not None:
            await self._retime(meeting, starts)
        told = await self.session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.meeting_id == meeting.id, Reminder.fired_at.is_not(None))
        )
        return meeting if retimed and told else None

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
