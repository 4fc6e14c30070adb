"""The council in one unit of work: ``services.get(CouncilService)``. It is assembled
from one module per part (meetings and reminders, the people around a meeting, topics,
votes) over their shared base; decisions and self-governance groups build on it
(``storage.council.decisions``).

Every change that can race is one conditional statement on the state it expects: a
reminder fires when its ``fired_at`` is still empty, a vote closes when it is still open,
a ballot is written only while its vote is open, and the primary keys hold one ballot,
one RSVP and one +1 per person."""

from __future__ import annotations

from storage.council.meetings import MAX_MINUTES, Due
from storage.council.models import Meeting
from storage.council.topics import TOPIC_NEWS, TopicRow, Topics
from storage.council.votes import BALLOT, Votes
from storage.roles import Staffing


class CouncilService(Votes, Topics):
    """Every council operation in one unit of work."""

    async def close_meeting(self, staffing: Staffing, meeting_id: int, minutes: str) -> Meeting:
        """Closed with its minutes; the topics it never reviewed go on to the next one."""
        meeting = await super().close_meeting(staffing, meeting_id, minutes)
        await self.carry_over(meeting)
        return meeting


__all__ = [
    "BALLOT",
    "MAX_MINUTES",
    "TOPIC_NEWS",
    "CouncilService",
    "Due",
    "TopicRow",
]
