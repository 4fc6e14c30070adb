"""What deleting a person does to the council: their answers, check-ins, +1s, ballots,
group memberships and subscription choice go; the topics they proposed, the decisions
they were named for and their progress reports stay as the community's record, without
their name, voice or photo. Closed votes keep their counted result."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council.models import (
    Attendance,
    Ballot,
    Decision,
    Group,
    GroupMember,
    OptOut,
    Report,
    Rsvp,
    Topic,
    TopicSupport,
)
from storage.privacy.kept import Kept

KEPT = (
    Kept("council.privacy.topics", Topic.author_id),
    Kept("council.privacy.supports", TopicSupport.user_id),
    Kept("council.privacy.ballots", Ballot.user_id),
    Kept("council.privacy.rsvps", Rsvp.user_id),
    Kept("council.privacy.attendance", Attendance.user_id),
    Kept("council.privacy.groups", GroupMember.user_id),
    Kept("council.privacy.leads", Group.leader_id),
    Kept("council.privacy.decisions", Decision.owner_id),
    Kept("council.privacy.reports", Report.by_id),
    Kept("council.privacy.optout", OptOut.user_id),
)


async def forget(session: AsyncSession, user_id: int) -> None:
    for table in (Rsvp, Attendance, TopicSupport, Ballot, OptOut, GroupMember):
        await session.execute(delete(table).where(table.user_id == user_id))
    await session.execute(update(Group).where(Group.leader_id == user_id).values(leader_id=None))
    # A decision they were named for stays the community's, without their name.
    await session.execute(
        update(Decision).where(Decision.owner_id == user_id).values(owner_id=None)
    )
    await session.execute(
        update(Report).where(Report.by_id == user_id).values(by_id=None, photo_file_id=None)
    )
    await session.execute(
        update(Topic)
        .where(Topic.author_id == user_id)
        .values(author_id=None, voice_file_id=None, photo_file_id=None)
    )
