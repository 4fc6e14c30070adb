"""Votes: staff open one (options, who may vote, until when, counts hidden or live,
quorum), every eligible resident gets a ballot card; one ballot per resident, written
only while the vote is open (PostgreSQL: under a share lock on the vote, so a close waits
for ballots in flight and they then see it closed); paper ballots entered by staff; the
close counts once and records the result, and every ballot card delivered is owed an edit
to what the vote came to, without buttons (``ClosedCard``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Executable, bindparam, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
    ballot_problem,
    options_of,
)
from storage.hierarchy import Node, within_path
from storage.outbox import Lane, OutboxMessage
from storage.roles import Staffing
from storage.users import User

BALLOT = "council.ballot"  # to each voter: the question and one button per option
# Each ballot card delivered, once its vote closed: edited to the ClosedCard (params:
# ``message_id``, the card's). Paced with the broadcasts, like the cards themselves.
BALLOT_CLOSED = "council.ballot_closed"


@dataclass(frozen=True)
class Cast:
    vote: Vote
    changed: bool


@dataclass(frozen=True)
class ClosedCard:
    """What a ballot card shows once its vote is over: the question and the result as
    counted at the close (``vote.result``), the holder's own ballot, and nothing left to
    press. A vote past its time that the sweep has not closed yet has no result: its card
    only loses its buttons until the close's own edit comes."""

    vote: Vote
    community: str
    choice: int | None  # the holder's ballot, None if they did not vote

    @property
    def counted(self) -> bool:
        return self.vote.result is not None


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

    async def cast(self, vote_id: int, user: User, choice: int) -> Cast:
        """The resident's ballot, written only while the vote is open; ``changed`` is
        False for a repeated choice, which changes nothing."""
        (outcome,) = await self.cast_many(vote_id, [(user, choice)])
        if isinstance(outcome, CouncilProblem):
            raise CouncilError(outcome)
        return outcome

    async def cast_many(
        self, vote_id: int, presses: Sequence[tuple[User | None, int]]
    ) -> list[Cast | CouncilProblem]:
        """Ballots pressed at about the same time on one vote, in the order pressed: per
        press its cast, or why it was refused (``None`` for someone with no row).

        Ten thousand residents may press within a minute, so these are written together,
        in two statements whatever their number: one read of the vote (PostgreSQL: under
        a share lock, so a close waits for these ballots) beside what the rules ask of
        each presser (their home, attendance, ballot so far), and one upsert of the
        ballots that change something, written only if the vote is still open (SQLite: a
        close may have come between the read and the write)."""
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        read, upsert = _ballot_statements(sqlite)
        ids = sorted({u.id for u, _ in presses if u is not None})
        rows = (
            (await self.session.execute(read, {"vote_id": vote_id, "user_ids": ids})).all()
            if ids
            else []
        )
        if not rows:  # no such vote, or nobody with a row pressed
            return [CouncilProblem.NOT_FOUND] * len(presses)
        vote, community_id = rows[0][4], rows[0][5]
        voters = {uid: (path, bool(was_there), had) for uid, path, was_there, had, *_ in rows}
        outcomes: list[Cast | CouncilProblem] = []
        writes: dict[int, int] = {}  # user id → choice: a later press of theirs wins
        for user, choice in presses:
            voter = voters.get(user.id) if user is not None else None
            if user is None or voter is None:
                outcomes.append(CouncilProblem.NOT_FOUND)
                continue
            path, attended, had = voter
            problem = ballot_problem(
                state=vote.state,
                closes_at=vote.closes_at,
                now=self.now,
                options=len(vote.options),
                choice=choice,
                home_path=path,
                community_id=community_id,
                attendees_only=vote.attendees_only,
                attended=attended,
            )
            if problem is not None:
                outcomes.append(problem)
                continue
            changed = writes.get(user.id, had) != choice
            if changed:
                writes[user.id] = choice
            outcomes.append(Cast(vote, changed=changed))
        if not writes:
            return outcomes
        written = await self.session.execute(
            upsert,
            [
                {"vote_id": vote_id, "user_id": uid, "choice": choice, "now": self.now}
                for uid, choice in writes.items()
            ],
        )
        # All or none: SQLite writes them in one transaction that a close cannot enter,
        # and on PostgreSQL the share lock keeps the vote open (its driver counts no rows
        # of a batch: -1).
        if not _changed(written):  # SQLite: closed between the read and the write
            return [
                CouncilProblem.CLOSED if isinstance(o, Cast) and o.changed else o for o in outcomes
            ]
        return outcomes

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
        await self._owe_closed_cards(vote)
        return vote

    async def _owe_closed_cards(self, vote: Vote) -> None:
        """Cards not sent yet never will be; each one delivered is owed its edit. One
        statement however many there are (row by row, 2,000 cards took a second)."""
        await self.outbox.withdraw(BALLOT, vote.id, self.now, "the vote closed")
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        card = (func.json_object if sqlite else func.json_build_object)(
            "message_id", OutboxMessage.message_id
        )
        now = bindparam("now", self.now, type_=OutboxMessage.created_at.type)
        delivered = (
            select(
                OutboxMessage.user_id,
                literal(BALLOT_CLOSED),
                literal(vote.id),
                literal(int(Lane.BULK)),
                card,
                now,
                now,
                literal(0),
            )
            .where(
                OutboxMessage.kind == BALLOT,
                OutboxMessage.subject_id == vote.id,
                OutboxMessage.sent_at.is_not(None),
                OutboxMessage.message_id.is_not(None),
            )
            .order_by(OutboxMessage.id)
        )
        columns = ["user_id", "kind", "subject_id", "lane", "params", "created_at", "not_before"]
        await self.session.execute(
            insert(OutboxMessage).from_select([*columns, "attempts"], delivered)
        )

    async def closed_card(self, vote: Vote, user_id: int) -> ClosedCard:
        meeting = await self.meeting(vote.meeting_id)
        community = await self.hierarchy.get(meeting.community_id) if meeting else None
        return ClosedCard(
            vote, community.name if community else "", await self.choice_of(vote.id, user_id)
        )

    async def late_cards(
        self, vote_id: int, pressed: Sequence[tuple[int, int]]
    ) -> list[ClosedCard | None]:
        """Ballot cards pressed after their vote was over, as (user id, message id): per
        press the card to show at once, or None where the close's own edit of that card
        is already under way or done (a second edit of it would change nothing, which
        Telegram refuses). An edit still waiting for its turn is taken over here: the
        presser sees the result now, and the outbox does not edit the card again."""
        vote = await self.vote(vote_id)
        if vote is None:
            return [None] * len(pressed)
        owed: dict[tuple[int, int], tuple[int, bool]] = {}
        rows = await self.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.user_id,
                OutboxMessage.params,
                OutboxMessage.sent_at.is_not(None) | OutboxMessage.claimed_at.is_not(None),
            ).where(
                OutboxMessage.kind == BALLOT_CLOSED,
                OutboxMessage.subject_id == vote_id,
                OutboxMessage.user_id.in_(sorted({u for u, _ in pressed})),
                OutboxMessage.failed_at.is_(None),
            )
        )
        for row_id, user_id, params, under_way in rows.all():
            message_id = (params or {}).get("message_id")
            if isinstance(message_id, int):
                owed[(int(user_id), message_id)] = (int(row_id), bool(under_way))
        cards: list[ClosedCard | None] = []
        for user_id, message_id in pressed:
            found = owed.get((user_id, message_id))
            if found is not None:
                row_id, under_way = found
                if under_way or not await self._take_over(row_id, message_id):
                    cards.append(None)
                    continue
                owed[(user_id, message_id)] = (row_id, True)  # pressed twice in one group
            cards.append(await self.closed_card(vote, user_id))
        return cards

    async def _take_over(self, row_id: int, message_id: int) -> bool:
        taken = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.claimed_at.is_(None),
                OutboxMessage.failed_at.is_(None),
            )
            .values(message_id=message_id, sent_at=self.now)
            .execution_options(synchronize_session=False)
        )
        return _changed(taken)

    async def due_votes(self) -> list[int]:
        return [
            int(i)
            for i in (
                await self.session.execute(
                    select(Vote.id).where(Vote.state == VoteState.OPEN, Vote.closes_at <= self.now)
                )
            ).scalars()
        ]

    async def open_votes(self, community_id: int) -> Sequence[Vote]:
        """A community's votes still open, of any of its meetings, oldest first."""
        stmt = (
            select(Vote)
            .join(Meeting, Meeting.id == Vote.meeting_id)
            .where(Meeting.community_id == community_id, Vote.state == VoteState.OPEN)
            .order_by(Vote.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

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


@cache
def _ballot_statements(sqlite: bool) -> tuple[Executable, Executable]:
    """Built once: a burst of ballots spent much of its time building the same
    statements again (parameters are bound at execution)."""
    vote_id = bindparam("vote_id", type_=Vote.id.type)
    now = bindparam("now", type_=Ballot.at.type)
    attended = (
        exists()
        .where(Attendance.meeting_id == Meeting.id, Attendance.user_id == User.id)
        .correlate(User, Meeting)
    )
    mine = (
        select(Ballot.choice)
        .where(Ballot.vote_id == Vote.id, Ballot.user_id == User.id)
        .correlate(User, Vote)
        .scalar_subquery()
    )
    # Per presser one row, each carrying the vote: a burst's reads are one round trip.
    read = (
        select(User.id, Node.path, attended, mine, Vote, Meeting.community_id)
        .select_from(User)
        .outerjoin(Node, Node.id == User.building_id)
        .join(Vote, Vote.id == vote_id)
        .join(Meeting, Meeting.id == Vote.meeting_id)
        .where(User.id.in_(bindparam("user_ids", expanding=True)))
    )
    if not sqlite:
        read = read.with_for_update(read=True, of=Vote)
    is_open = (
        select(Vote.id)
        .where(
            Vote.id == vote_id,
            Vote.state == VoteState.OPEN,
            (Vote.closes_at.is_(None)) | (Vote.closes_at > now),
        )
        .exists()
    )
    user_id = bindparam("user_id", type_=Ballot.user_id.type)
    insert = (sqlite_insert if sqlite else pg_insert)(
        Ballot.metadata.tables[Ballot.__tablename__]
    ).from_select(
        ["vote_id", "user_id", "choice", "at"],
        select(vote_id, user_id, bindparam("choice", type_=Ballot.choice.type), now).where(is_open),
    )
    # The same resident's press in another process may have inserted meanwhile: this
    # one came later and wins.
    upsert = insert.on_conflict_do_update(
        index_elements=[Ballot.vote_id, Ballot.user_id],
        set_={"choice": insert.excluded.choice, "at": insert.excluded.at},
    )
    return read, upsert
