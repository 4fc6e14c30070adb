"""幸福合伙人: partners (residents who volunteer a skill), their service orders (the five
orders: 点单 → 派单 → 接单/抢单 → 晒单) and the append-only points ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, TelegramId, UTCDateTime


class PartnerState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class OrderState(StrEnum):
    OPEN = "open"  # offered to partners of the skill: the first to press 接单 takes it
    ASSIGNED = "assigned"  # staff picked a partner (派单), who has not answered yet
    TAKEN = "taken"
    VISITED = "visited"  # 已上门
    DONE = "done"  # the partner says it is done; the resident has not confirmed yet
    CONFIRMED = "confirmed"  # the resident confirmed: points credited
    CANCELLED = "cancelled"


class OrderTimer(StrEnum):
    DISPATCH = "dispatch"  # nobody took it in time: community staff assign it
    CHASE_PARTNER = "chase_partner"  # taken but not done: remind the partner
    CHASE_RESIDENT = "chase_resident"  # done but not confirmed: remind the resident
    STAFF = "staff"  # still not closed after the reminder: staff are told


class Rating(StrEnum):
    SATISFIED = "satisfied"
    FAIR = "fair"
    UNSATISFIED = "unsatisfied"


class CallState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the deadline passed or the quota filled


class RecruitmentCall(Base):
    """招募令: community staff call residents to sign up, sent as a notice with 我要报名."""

    __tablename__ = "recruitment_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    quota: Mapped[int]
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=CallState.OPEN)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_recruitment_calls_state", "state", "deadline"),)


class Nomination(Base):
    """公推: a resident or staff member puts a neighbour forward. The nominee is asked
    when they use the bot; staff see every nomination (and reach those who do not)."""

    __tablename__ = "partner_nominations"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    nominee_id: Mapped[int | None] = mapped_column(TelegramId)  # picked in the chat
    nominee_name: Mapped[str] = mapped_column(String(64))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(TelegramId)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, applied, declined
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_partner_nominations_nominee", "nominee_id"),)


class Team(Base):
    """A team of partners (e.g. 共享奶奶) with a leader; it can take an order as a team
    and the leader hands it to a member."""

    __tablename__ = "partner_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    leader_id: Mapped[int] = mapped_column(TelegramId)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamMember(Base):
    __tablename__ = "partner_team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("partner_teams.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), default="invited")  # invited, member
    invited_by: Mapped[int | None] = mapped_column(TelegramId)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Recognition(Base):
    """The month's outstanding partners of a community as the published rule proposes
    them; staff confirm and it goes out as a notice. One per community and month."""

    __tablename__ = "partner_recognitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    partner_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="proposed")  # published, none
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[int | None] = mapped_column(TelegramId)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))

    __table_args__ = (Index("uq_partner_recognitions_month", "community_id", "month", unique=True),)


class Origin(StrEnum):
    SELF = "self"  # 自荐
    CALL = "call"  # answering a recruitment call
    NOMINATED = "nominated"  # 公推


class Partner(Base):
    __tablename__ = "partners"

    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    real_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. "weekday_am"
    intro: Mapped[str] = mapped_column(Text, default="")
    certificate_file_id: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=PartnerState.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)  # why rejected or suspended
    origin: Mapped[str] = mapped_column(String(16), default=Origin.SELF)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("recruitment_calls.id", ondelete="SET NULL")
    )
    nominated_by: Mapped[int | None] = mapped_column(TelegramId)
    # Taking orders now; a partner on holiday switches it off and gets no offers.
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(TelegramId)

    __table_args__ = (Index("ix_partners_community_state", "community_id", "state"),)


class ServiceOrder(Base):
    __tablename__ = "service_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"))
    resident_id: Mapped[int | None] = mapped_column(TelegramId)  # None: forgotten, or 代点单
    ordered_by: Mapped[int | None] = mapped_column(TelegramId)  # a grid worker for 代点单
    # 代点单: the household as the grid worker named it (name, room, phone).
    household: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    skill: Mapped[str] = mapped_column(String(32))
    tier: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    voice_file_id: Mapped[str | None] = mapped_column(String(255))
    preferred: Mapped[str] = mapped_column(String(32))  # "2026-12-03:am" or "any"
    state: Mapped[str] = mapped_column(String(16), default=OrderState.OPEN)
    partner_id: Mapped[int | None] = mapped_column(TelegramId)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("partner_teams.id", ondelete="SET NULL"))
    # Staff turned this appeal into the order (the appeal's timeline names the order).
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    comment_voice_file_id: Mapped[str | None] = mapped_column(String(255))
    # 晒单: None until the resident answers whether the done order may be shown.
    may_show: Mapped[bool | None] = mapped_column(Boolean, default=None)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))  # the partner's, when done
    # The one timer an order has at a time; firing moves it on in the same transaction.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timer: Mapped[str | None] = mapped_column(String(16))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # staff were asked

    __table_args__ = (
        Index("ix_service_orders_due", "due_at"),
        Index("ix_service_orders_community", "community_id", "state"),
        Index("ix_service_orders_partner", "partner_id", "state"),
        Index("ix_service_orders_resident", "resident_id"),
    )

    @property
    def number(self) -> str:
        return f"F{self.id:05d}"


class ShowcaseChannel(Base):
    """The channel or group where a community's 晒单 are also posted (optional)."""

    __tablename__ = "partner_showcase_channels"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(TelegramId)
    title: Mapped[str] = mapped_column(String(255), default="")
    set_by: Mapped[int] = mapped_column(TelegramId)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Since when Telegram refuses posts there (the bot was removed, or may not post):
    # the community's staff were told then, once; cleared when a post gets through or
    # the channel is set again.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PointEntry(Base):
    """One line of the ledger: never edited; a correction is another line."""

    __tablename__ = "partner_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once the partner deleted their data: the community's totals still add up.
    partner_id: Mapped[int | None] = mapped_column(TelegramId)
    community_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_orders.id", ondelete="SET NULL")
    )
    tier: Mapped[int | None] = mapped_column(SmallInteger)
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    by_id: Mapped[int | None] = mapped_column(TelegramId)  # staff for adjustments
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_partner_points_partner", "partner_id"),
        Index("ix_partner_points_community", "community_id", "at"),
        # One credit per order: a doubled confirmation cannot pay twice.
        Index("uq_partner_points_order", "order_id", unique=True),
    )
