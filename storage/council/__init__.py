"""民情议事会: the monthly council of each community."""

from storage.council.models import (
    Answer,
    Attendance,
    Ballot,
    CouncilSettings,
    Meeting,
    MeetingState,
    OptOut,
    Outcome,
    Reminder,
    ReminderKind,
    Rsvp,
    Topic,
    TopicState,
    TopicSupport,
    Vote,
    VoteState,
)
from storage.council.rules import CouncilError, CouncilPolicy, CouncilProblem
from storage.council.service import BALLOT, TOPIC_NEWS, CouncilService, Due, TopicRow
from storage.council.votes import BALLOT_CLOSED, Cast, ClosedCard

__all__ = [
    "BALLOT",
    "BALLOT_CLOSED",
    "TOPIC_NEWS",
    "Answer",
    "Attendance",
    "Ballot",
    "Cast",
    "ClosedCard",
    "CouncilError",
    "CouncilPolicy",
    "CouncilProblem",
    "CouncilService",
    "CouncilSettings",
    "Due",
    "Meeting",
    "MeetingState",
    "OptOut",
    "Outcome",
    "Reminder",
    "ReminderKind",
    "Rsvp",
    "Topic",
    "TopicRow",
    "TopicState",
    "TopicSupport",
    "Vote",
    "VoteState",
]
