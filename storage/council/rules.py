"""Who may do what at the council, and when: the one place the chat layer asks before it
offers a button, and the service asks again before it changes anything."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from storage.council.models import Meeting, MeetingState, ReminderKind, VoteState
from storage.hierarchy import Node
from storage.roles import Role, Staffing

HOSTS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.ADMIN)
DEFAULT_OPTIONS = ("agree", "disagree", "abstain")  # locale keys under council.option
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_TOPIC = 1000  # characters of a topic; longer is refused, never cut
MAX_OPTION = 40
MAX_QUESTION = 300
# A meeting still counts as "the next one" this long after it started, until staff close it.
RUNNING = timedelta(hours=4)
CHECKIN_BEFORE = timedelta(hours=1)


class CouncilProblem(StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    NOT_RESIDENT = "not_resident"  # not a resident of this community
    NOT_ATTENDEE = "not_attendee"  # the vote is for those who attended
    CUT_OFF = "cut_off"  # topics are no longer taken for this meeting
    STARTED = "started"  # the meeting began: no more RSVP changes
    CLOSED = "closed"  # the vote is closed
    ALREADY = "already"
    WRONG_STATE = "wrong_state"
    BAD_INPUT = "bad_input"
    OWN_TOPIC = "own_topic"  # +1 on one's own topic
    BAD_CODE = "bad_code"


class CouncilError(Exception):
    def __init__(self, problem: CouncilProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem


DEFAULT_OFFSETS: dict[str, int] = {
    ReminderKind.TOPICS: 7 * 24 * 60,
    ReminderKind.AGENDA: 24 * 60,
    ReminderKind.VENUE: 2 * 60,
}


@dataclass(frozen=True)
class CouncilPolicy:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    topic_cutoff: timedelta = timedelta(days=2)
    # A reminder found overdue (the bot was down) still goes if the meeting has not begun;
    # it says "late" in the record when it is this much behind.
    late_after: timedelta = timedelta(minutes=10)


def may_host(staffing: Staffing, community: Node | None) -> CouncilProblem | None:
    """Arranging the meeting, curating topics, running votes and attendance."""
    if community is None:
        return CouncilProblem.NOT_FOUND
    if not staffing.covers(community, HOSTS):
        return CouncilProblem.NOT_ALLOWED
    return None


def topics_open(meeting: Meeting, now: datetime, policy: CouncilPolicy) -> bool:
    return meeting.state == MeetingState.SCHEDULED and now < meeting.starts_at - policy.topic_cutoff


def rsvp_open(meeting: Meeting, now: datetime) -> bool:
    return meeting.state == MeetingState.SCHEDULED and now < meeting.starts_at


def checkin_open(meeting: Meeting, now: datetime) -> bool:
    return (
        meeting.state == MeetingState.SCHEDULED
        and meeting.starts_at - CHECKIN_BEFORE <= now < meeting.starts_at + RUNNING
    )


def ballot_problem(
    *,
    state: str,
    closes_at: datetime | None,
    now: datetime,
    options: int,
    choice: int,
    home_path: str | None,
    community_id: int,
    attendees_only: bool,
    attended: bool,
) -> CouncilProblem | None:
    """Why a resident's ballot may not be written, in the order they are told: not of
    this community (``home_path``: their building's path), no such option, not an
    attendee of an attendees-only vote, the vote closed."""
    if home_path is None or f"/{community_id}/" not in home_path:
        return CouncilProblem.NOT_RESIDENT
    if not 0 <= choice < options:
        return CouncilProblem.BAD_INPUT
    if attendees_only and not attended:
        return CouncilProblem.NOT_ATTENDEE
    if state != VoteState.OPEN or (closes_at is not None and closes_at <= now):
        return CouncilProblem.CLOSED
    return None


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def meeting_start(year: int, month: int, day: int, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """The meeting's moment in UTC; a day past the month's end is its last day."""
    last = calendar.monthrange(year, month)[1]
    local = datetime.combine(
        date(year, month, min(day, last)), time(minute_of_day // 60, minute_of_day % 60), zone
    )
    return local.astimezone(UTC)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def options_of(custom: list[str] | None) -> list[str]:
    """A vote's options: the default three (as locale keys, marked "=") or 2-10 of one's
    own, each non-empty, at most MAX_OPTION characters and all different."""
    if not custom:
        return [f"={key}" for key in DEFAULT_OPTIONS]
    cleaned = [o.strip() for o in custom]
    if not MIN_OPTIONS <= len(cleaned) <= MAX_OPTIONS:
        raise CouncilError(CouncilProblem.BAD_INPUT, "2 to 10 options")
    if any(not o or len(o) > MAX_OPTION or o.startswith("=") for o in cleaned):
        raise CouncilError(CouncilProblem.BAD_INPUT, "an option is empty or too long")
    if len(set(cleaned)) != len(cleaned):
        raise CouncilError(CouncilProblem.BAD_INPUT, "options repeat")
    return cleaned
