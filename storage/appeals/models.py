"""Appeal data: states, levels, ratings and timers, the tables (appeals, their events,
media and followers) and what a resident's filing form carries. The rules that move an
appeal between states live in storage.appeals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, PathString, UTCDateTime
from storage.roles import Role

MAX_PHOTOS = 10
MAX_TEXT = 2000
# What a channel's operator may send as the description (GeoReport's own limit is 4000).
MAX_CHANNEL_TEXT = 4000


class State(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    RATED = "rated"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


OPEN_STATES = (State.SUBMITTED, State.ACCEPTED, State.IN_PROGRESS, State.REOPENED)
UNACCEPTED = (State.SUBMITTED,)
WORKING = (State.ACCEPTED, State.IN_PROGRESS, State.REOPENED)
FINAL_STATES = (State.CLOSED, State.REJECTED, State.CANCELLED)


class Level(StrEnum):
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"

    @property
    def up(self) -> Level | None:
        order = list(Level)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None

    @property
    def staff_role(self) -> Role:
        return LEVEL_ROLE[self]


LEVEL_ROLE = {
    Level.GRID: Role.WORKER,
    Level.COMMUNITY: Role.COMMUNITY_STAFF,
    Level.STREET: Role.STREET_STAFF,
    Level.DISTRICT: Role.DISTRICT_STAFF,
}


class Rating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class Timer(StrEnum):
    REMIND_ACCEPT = "remind_accept"
    ESCALATE_ACCEPT = "escalate_accept"
    REMIND_RESOLVE = "remind_resolve"
    ESCALATE_RESOLVE = "escalate_resolve"
    CLOSE_UNRATED = "close_unrated"


class Problem(StrEnum):
    """Why an action was refused; the chat layer turns each into a friendly sentence."""

    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    WRONG_STATE = "wrong_state"
    ALREADY_TAKEN = "already_taken"
    CONFLICT = "conflict"
    TOP_LEVEL = "top_level"
    BAD_INPUT = "bad_input"
    TOO_LONG = "too_long"
    TOO_MANY_PHOTOS = "too_many_photos"
    ALREADY_REOPENED = "already_reopened"
    ESCALATED = "escalated"  # held by a level above the person who pressed
    URGENT = "urgent"  # an urgent call is never sent back


class AppealError(Exception):
    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    resident_id: Mapped[int | None] = mapped_column(BigInteger)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    street_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    # The grid's materialized path: "may this staff member act here" without a join.
    scope_path: Mapped[str] = mapped_column(PathString)
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16), default=Level.GRID)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The promise made to the resident at filing (受理 / 办结 / 反馈 by): it never moves.
    # Past it the appeal is overdue until the step happens, and late in the KPIs for good.
    first_accept_due: Mapped[datetime] = mapped_column(UTCDateTime())
    first_resolve_due: Mapped[datetime] = mapped_column(UTCDateTime())
    feedback_due: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_in_time: Mapped[bool | None] = mapped_column(Boolean)
    resolved_in_time: Mapped[bool | None] = mapped_column(Boolean)
    # The handling window of the level holding the appeal now (办理时限): the promise at
    # the grid, a window of its own for a level the appeal was escalated to or assigned
    # from. Missing it moves the appeal one level up.
    window_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The next timer to fire: one indexed column drives every deadline.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_kind: Mapped[str | None] = mapped_column(String(24))
    # What "my tasks" sorts by, straight from an index: the promise of the step still to
    # come, so overdue appeals come first.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalations: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[str | None] = mapped_column(String(16))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result_note: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None]
    # The filing form's id: confirming the same form twice files one appeal.
    draft_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_appeals_due", "due_at"),
        Index("ix_appeals_resident", "resident_id", "id"),
        Index("ix_appeals_grid_state", "grid_id", "state"),
        Index("ix_appeals_owner_state", "owner_id", "state"),
        # state first: the open states are few, then a path range within each.
        Index("ix_appeals_state_scope", "state", "scope_path", "deadline_at"),
        Index("ix_appeals_building_category", "building_id", "category", "state"),
        # KPIs read one node's month: one index per level.
        Index("ix_appeals_district_submitted", "district_id", "submitted_at"),
        Index("ix_appeals_street_submitted", "street_id", "submitted_at"),
        Index("ix_appeals_community_submitted", "community_id", "submitted_at"),
        Index("ix_appeals_grid_submitted", "grid_id", "submitted_at"),
    )

    @property
    def number(self) -> str:
        return f"{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def level_enum(self) -> Level:
        return Level(self.level)

    def level_node_id(self, level: Level | None = None) -> int:
        level = level or self.level_enum
        return {
            Level.GRID: self.grid_id,
            Level.COMMUNITY: self.community_id,
            Level.STREET: self.street_id,
            Level.DISTRICT: self.district_id,
        }[level]

    @property
    def promise_due(self) -> datetime | None:
        """The promised moment of the step still to come: accepting, then resolving. A
        reopened appeal was resolved once within (or past) its promise; what follows is
        a handling window, not a new promise."""
        if self.state in UNACCEPTED:
            return self.first_accept_due
        if self.state in WORKING and not self.reopened:
            return self.first_resolve_due
        return None

    @property
    def pending_due(self) -> datetime | None:
        """The deadline that matters now: the promise, or the handling window where
        there is no promise."""
        if self.state not in (*UNACCEPTED, *WORKING):
            return None
        return self.promise_due or self.window_due

    def overdue(self, now: datetime) -> bool:
        due = self.pending_due
        return due is not None and due <= now

    def overdue_by(self, now: datetime) -> timedelta | None:
        due = self.pending_due
        return now - due if due is not None and due <= now else None

    def window_missed(self, now: datetime) -> bool:
        return (
            self.state in (*UNACCEPTED, *WORKING)
            and self.window_due is not None
            and self.window_due <= now
        )

    @property
    def late(self) -> bool:
        """Missed a promise at some point: counted late for good."""
        return self.accepted_in_time is False or self.resolved_in_time is False


class AppealEvent(Base):
    __tablename__ = "appeal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_appeal_events_appeal", "appeal_id", "id"),)


class AppealMedia(Base):
    __tablename__ = "appeal_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeal_events.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(8))  # photo | voice
    file_id: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_appeal_media_appeal", "appeal_id", "id"),)


class AppealFollower(Base):
    """Residents who chose to follow an existing appeal instead of filing it twice."""

    __tablename__ = "appeal_followers"

    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Draft:
    """What a resident has entered in the filing form."""

    category: str
    text: str = ""
    photos: tuple[str, ...] = ()
    voice_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    urgent: bool = False
    contact_phone: str | None = None
    key: str | None = None  # the form's id: the same form confirmed twice files once


@dataclass(frozen=True)
class Timeline:
    appeal: Appeal
    events: Sequence[AppealEvent]
    media: Sequence[AppealMedia]


class AppealMonthCount(Base):
    """The KPI counts (storage.appeals.kpi) of the *settled* appeals — those not open,
    whose figures no longer depend on the time they are read — per grid, UTC calendar
    month of submission (``yyyymm``), state and category. Database triggers on
    ``appeals`` keep it (storage.appeals.month_counts, migration 0018): every insert,
    update and delete, by the ORM or not, moves a row's contribution, so reopening a
    resolved appeal takes it out here and the live part of the KPIs counts it again."""

    __tablename__ = "appeal_month_counts"

    district_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    filed: Mapped[int] = mapped_column(default=0)
    base: Mapped[int] = mapped_column(default=0)
    accepted_in_time: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    rated: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    closed_unsatisfied: Mapped[int] = mapped_column(default=0)
    resolved_in_time: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
