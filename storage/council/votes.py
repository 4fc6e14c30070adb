"""Votes: staff open one (options, who may vote, until when, counts hidden or live,
quorum), every eligible resident gets a ballot card; one ballot per resident, written
only while the vote is open (PostgreSQL: under a share lock on the vote, so a close waits
for ballots in flight and they then see it closed); paper ballots entered by staff; the
close counts once and records the result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from storage.council.base import _changed
from storage.council.models import (
    Attendance,
    Ballot,
    Meeting,
    Vote,
    VoteState,
)
from storage.council.people import People
from storage.council.rules import (
    MAX_QUESTION,
    CouncilError,
    CouncilProblem,
    options_of,
)
from storage.hierarchy import Node, within_path
from storage.outbox import Lane
from storage.roles import Staffing
from storage.users import User

BALLOT = "council.ballot"  # to each voter: the question and one button per option


class Votes(People):
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
