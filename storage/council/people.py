"""The people around a meeting: who is subscribed (everyone but those who opted out),
RSVPs (one per person, changeable until it starts), and attendance (checked in with the
code shown at the meeting, or recorded by staff)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from storage.council.meetings import Meetings
from storage.council.models import (
    Answer,
    Attendance,
    Meeting,
    OptOut,
    Rsvp,
)
from storage.council.rules import (
    CouncilError,
    CouncilProblem,
    checkin_open,
    rsvp_open,
)
from storage.roles import Staffing
from storage.users import User


class People(Meetings):
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
