"""One-time sign-in links and web sessions of the desk. Neither stores its secret: a
row keeps the SHA-256 of the token the person holds, so a copy of the database opens
no desk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, TelegramId, UTCDateTime


class SignInProblem(StrEnum):
    """Why a link or Mini App data did not open the desk; the page says what to do."""

    UNKNOWN = "unknown"  # never issued, or forged
    USED = "used"
    EXPIRED = "expired"
    STALE = "stale"  # Mini App data older than the policy allows
    FORGED = "forged"  # Mini App data whose signature does not match the bot's token


class DeskLink(Base):
    """A sign-in link sent by ``/web``: valid minutes, opened once."""

    __tablename__ = "desk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_desk_links_user", "user_id", "used_at"),)


class DeskSession(Base):
    """A signed-in browser (or Mini App): its cookie's hash, its CSRF token, and when it
    ends. Every request also re-reads the person's grants: a revoked role ends it."""

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(TelegramId)
    csrf: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # link | miniapp
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_why: Mapped[str | None] = mapped_column(String(16))  # signout | revoked

    __table_args__ = (Index("ix_desk_sessions_user", "user_id", "ended_at"),)
