"""A notice as the officer wrote it (text or media with its formatting entities, copied
to each recipient), who it is for, and who acknowledged it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, TelegramId, UTCDateTime


class NoticeState(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
    RECALLED = "recalled"


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(TelegramId)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(64))  # AudienceRole values, comma-separated
    # Residents of only these buildings (ids, comma-separated); empty: the whole node.
    buildings: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str | None] = mapped_column(String(80))
    # The officer's own message: copied (media) or re-sent with its entities (text).
    source_chat_id: Mapped[int] = mapped_column(TelegramId)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    media: Mapped[str | None] = mapped_column(String(16))  # photo, document, voice…; None: text
    # The media's file id: copies are sent from it, so they do not depend on the
    # officer's message still being there (None: copied from it, as older notices were).
    file_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")  # the text or the caption
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ack_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Buttons a feature puts under its notice ([locale key, callback data] pairs): a
    # recruitment call's 我要报名, a council reminder's RSVP.
    actions: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    # A map pin sent just before the text (a council's venue): latitude, longitude,
    # title, address.
    venue: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=NoticeState.SENDING)
    recipients: Mapped[int] = mapped_column(default=0)
    blocked: Mapped[int] = mapped_column(default=0)  # left out: they had blocked the bot
    muted: Mapped[int] = mapped_column(default=0)  # left out: they muted non-urgent notices
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when scheduled
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The progress message in the author's chat, and what it shows now.
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status_shown: Mapped[str | None] = mapped_column(String(200))
    # A question the sender was asked on it (cancel, recall), until answered: it stays
    # on the message through the progress updates.
    asking: Mapped[str | None] = mapped_column(String(16))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    visits_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_notices_node", "node_id", "created_at"),
        Index("ix_notices_state", "state"),
    )

    @property
    def roles(self) -> list[str]:
        return [r for r in self.audience.split(",") if r]

    @property
    def building_ids(self) -> list[int]:
        return [int(b) for b in self.buildings.split(",") if b]


class NoticeAck(Base):
    __tablename__ = "notice_acks"

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    acked_at: Mapped[datetime] = mapped_column(UTCDateTime())


QUIET_FROM = 22 * 60  # minutes after midnight, local time
QUIET_TO = 7 * 60


class NoticePreference(Base):
    """What a person chose about notices; without a row, the defaults: quiet hours
    22:00-07:00 on, not muted."""

    __tablename__ = "notice_preferences"

    user_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_from: Mapped[int] = mapped_column(SmallInteger, default=QUIET_FROM)
    quiet_to: Mapped[int] = mapped_column(SmallInteger, default=QUIET_TO)
