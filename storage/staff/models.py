"""One-time invite links that grant a staff role at a node, and what a staff member
chooses to make public about themselves (a work phone, their name on door posters)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, TelegramId, UTCDateTime
from storage.hierarchy import Node


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(TelegramId)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    node: Mapped[Node | None] = relationship(lazy="raise")


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class StaffProfile(Base):
    """A grid worker's public card (网格员公示牌): shown on the building posters of her
    grid and in the notice a resident gets when she accepts an appeal, only if she chose
    to. Nothing here is shown otherwise."""

    __tablename__ = "staff_profiles"

    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    work_phone: Mapped[str | None] = mapped_column(String(32))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
