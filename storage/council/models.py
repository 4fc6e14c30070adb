"""民情议事会 (the monthly council): each community's settings, its meetings (the next one
always exists), their reminders (one timer row per kind and meeting), who is subscribed,
RSVPs and attendance, topics with their +1s, and votes with one ballot per resident."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, TelegramId, UTCDateTime


class ReminderKind(StrEnum):
    TOPICS = "topics"  # a call for topics
    AGENDA = "agenda"  # the agenda as staff ordered it
    VENUE = "venue"  # time and place, with the map pin


class MeetingState(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"  # staff closed it (minutes written)
    CANCELLED = "cancelled"


class Answer(StrEnum):
    YES = "yes"  # 参加
    NO = "no"  # 不参加
    MAYBE = "maybe"  # 待定


class TopicState(StrEnum):
    OPEN = "open"  # proposed, staff have not decided
    ACCEPTED = "accepted"  # on the agenda, at ``position``
    MERGED = "merged"  # folded into another topic
    DECLINED = "declined"


class Outcome(StrEnum):
    """What the meeting made of an agenda item; a decision to carry out is recorded apart."""

    APPROVED = "approved"  # 通过
    REJECTED = "rejected"  # 未通过
    DEFERRED = "deferred"  # 暂缓 (to a later meeting)
    DISCUSSED = "discussed"  # 已讨论, nothing to decide


class VoteState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CouncilSettings(Base):
    """A community's council; without a row, the defaults (the 25th, 15:00)."""

    __tablename__ = "council_settings"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(SmallInteger, default=25)
    minute_of_day: Mapped[int] = mapped_column(SmallInteger, default=15 * 60)
    place: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Reminder offsets in minutes before the meeting, by kind ({"topics": 10080, …}).
    offsets: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[int | None] = mapped_column(TelegramId)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Meeting(Base):
    __tablename__ = "council_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-12": one meeting a month
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.SCHEDULED)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moved_reason: Mapped[str | None] = mapped_column(String(200))
    # Staff who last arranged it: council notices go out in their name (and they see the
    # delivery progress); None until a staff member touched it.
    host_id: Mapped[int | None] = mapped_column(TelegramId)
    checkin_code: Mapped[str] = mapped_column(String(8), default="")
    minutes: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("uq_council_meetings_month", "community_id", "month", unique=True),
        Index("ix_council_meetings_starts", "starts_at"),
    )


class Reminder(Base):
    """One reminder of one meeting: fired once by a conditional UPDATE on ``fired_at``;
    moving the meeting deletes the unfired ones (in the same transaction) and makes new."""

    __tablename__ = "council_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # sent, late, skipped (no longer useful), superseded (a later one was due too), nobody
    outcome: Mapped[str | None] = mapped_column(String(16))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("uq_council_reminders_kind", "meeting_id", "kind", unique=True),
        Index("ix_council_reminders_due", "fired_at", "due_at"),
    )


class OptOut(Base):
    """A resident who unsubscribed from their community's council (default: subscribed)."""

    __tablename__ = "council_optouts"

    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Rsvp(Base):
    __tablename__ = "council_rsvps"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("council_meetings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attendance(Base):
    __tablename__ = "council_attendance"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("council_meetings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    via: Mapped[str] = mapped_column(String(8))  # "code" (checked in) or "staff"
    by_id: Mapped[int | None] = mapped_column(TelegramId)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Topic(Base):
    __tablename__ = "council_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(TelegramId)  # None: staff, or forgotten
    text: Mapped[str] = mapped_column(Text, default="")
    voice_file_id: Mapped[str | None] = mapped_column(String(255))
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=TopicState.OPEN)
    position: Mapped[int | None] = mapped_column(SmallInteger)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_topics.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[int | None] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # an agenda item's, at the meeting

    __table_args__ = (Index("ix_council_topics_meeting", "meeting_id", "state"),)

    @property
    def number(self) -> str:
        return f"Y{self.id:04d}"


class TopicSupport(Base):
    """A "+1": one per resident per topic (the primary key says so)."""

    __tablename__ = "council_topic_supports"

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("council_topics.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Vote(Base):
    __tablename__ = "council_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_topics.id", ondelete="SET NULL")
    )
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    attendees_only: Mapped[bool] = mapped_column(Boolean, default=False)
    live: Mapped[bool] = mapped_column(Boolean, default=False)  # counts shown while open
    quorum: Mapped[int] = mapped_column(default=0)  # minimum ballots; 0: none
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(8), default=VoteState.OPEN)
    opened_by: Mapped[int] = mapped_column(TelegramId)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Cast on paper at the meeting and entered by staff, per option (marked as such).
    paper: Mapped[list[int]] = mapped_column(JSON, default=list)
    paper_by: Mapped[int | None] = mapped_column(TelegramId)
    # At close: {"counts": [...], "chat": n, "paper": n, "eligible": n, "quorum_met": b}.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_council_votes_open", "state", "closes_at"),)


class Ballot(Base):
    """One per resident per vote (the primary key); changing it rewrites the row."""

    __tablename__ = "council_ballots"

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("council_votes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    choice: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DecisionState(StrEnum):
    OPEN = "open"
    DONE = "done"


class Group(Base):
    """A self-governance group (自治小组) of a building or a grid's estate: residents with
    a leader, who carry out the council's decisions and report back."""

    __tablename__ = "council_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    leader_id: Mapped[int | None] = mapped_column(TelegramId)
    created_by: Mapped[int] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_council_groups_community", "community_id"),)


class GroupMember(Base):
    __tablename__ = "council_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("council_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Decision(Base):
    """决议: what the council decided on a topic, who carries it out (a group, or a named
    person) and by when. Two timers, each fired once by a conditional UPDATE: a reminder
    before the due date, and "overdue" (staff told) at it."""

    __tablename__ = "council_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_topics.id", ondelete="SET NULL")
    )
    what: Mapped[str] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_groups.id", ondelete="SET NULL")
    )
    owner_id: Mapped[int | None] = mapped_column(TelegramId)  # a named resident or staff
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(8), default=DecisionState.OPEN)
    percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_by: Mapped[int] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[int | None] = mapped_column(TelegramId)

    __table_args__ = (
        Index("ix_council_decisions_due", "state", "due_at"),
        Index("ix_council_decisions_meeting", "meeting_id"),
    )

    @property
    def number(self) -> str:
        return f"J{self.id:04d}"


class Report(Base):
    """A progress report on a decision: text, an optional photo, how far along."""

    __tablename__ = "council_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("council_decisions.id", ondelete="CASCADE"))
    by_id: Mapped[int | None] = mapped_column(TelegramId)
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    percent: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_council_reports_decision", "decision_id"),)
