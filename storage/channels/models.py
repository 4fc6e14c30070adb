"""A channel (a hotline, a web form) and what it files. A channel's API key is never
stored: the row keeps its SHA-256, so a copy of the database files nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, TelegramId, UTCDateTime


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The district or street it may file for and read: a key never reaches outside it.
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters: enough for staff to tell keys apart, useless to file.
    key_hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_channels_node", "node_id"),)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ChannelAppeal(Base):
    """An appeal a channel filed: its ticket number there (a retry with the same one
    files nothing new) and the caller, a person without a chat, whose phone only the
    staff handling the appeal see (as a resident's)."""

    __tablename__ = "channel_appeals"

    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    caller_email: Mapped[str | None] = mapped_column(String(200))
    media_url: Mapped[str | None] = mapped_column(Text)
    address_string: Mapped[str | None] = mapped_column(Text)
    # False: no building matched the address; staff place it by hand (待定位).
    placed: Mapped[bool] = mapped_column(default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_channel_appeals_ticket"),
        Index("ix_channel_appeals_channel", "channel_id", "appeal_id"),
    )


class BuildingPoint(Base):
    """Where a building stands, where known: a channel's lat/long finds the nearest."""

    __tablename__ = "building_points"

    building_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_building_points_lat_lon", "latitude", "longitude"),)
