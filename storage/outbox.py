"""Messages the bot owes people, written in the same transaction as the change that
caused them. A crash or restart after the commit cannot lose them; the delivery loop
marks each one sent, so nobody gets one twice in normal operation.

A message names its ``kind`` (rendered by the feature that registered it) and, where it
is about one thing, that thing's id (``subject_id``: an appeal, a notice…). Delivery
takes the most urgent ``lane`` first, so an urgent call never waits behind a broadcast."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, SmallInteger, String, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime

MAX_ATTEMPTS = 5


class Lane(IntEnum):
    """Delivery order: lower goes first."""

    URGENT = 0  # urgent calls (一键呼叫) and anything a life may depend on
    TASK = 1  # push tasks to staff, and what a person's own action owes them
    STATUS = 2  # status changes, reminders
    BULK = 3  # notices and other broadcasts


_PENDING = text("sent_at IS NULL AND failed_at IS NULL")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(48))
    subject_id: Mapped[int | None]
    lane: Mapped[int] = mapped_column(SmallInteger, default=Lane.STATUS)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(300))

    # Only the rows still owed, in delivery order: the index stays small however long
    # the history grows.
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "lane",
            "id",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
    )


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(
        self,
        user_ids: Iterable[int],
        kind: str,
        *,
        now: datetime,
        lane: Lane = Lane.STATUS,
        subject_id: int | None = None,
        not_before: datetime | None = None,
        **params: Any,
    ) -> int:
        """Owe ``kind`` to each user once (duplicates in ``user_ids`` are dropped)."""
        count = 0
        for user_id in dict.fromkeys(user_ids):
            self.session.add(
                OutboxMessage(
                    user_id=user_id,
                    kind=kind,
                    subject_id=subject_id,
                    lane=int(lane),
                    params=params,
                    created_at=now,
                    not_before=not_before or now,
                    attempts=0,
                )
            )
            count += 1
        return count

    async def pending(self, now: datetime, limit: int = 100) -> Sequence[OutboxMessage]:
        """What is owed now, most urgent lane first, oldest first within a lane."""
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.not_before <= now,
            )
            .order_by(OutboxMessage.lane, OutboxMessage.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            # Several bot processes may deliver at once; each row goes to one of them.
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalars().all()

    async def release(self, kind: str, subject_id: int, now: datetime) -> int:
        """Send now what was held back until later (e.g. a card waiting for a reason)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.subject_id == subject_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.not_before > now,
            )
            .values(not_before=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(sent_at=now)
        )

    async def mark_failed(
        self, message: OutboxMessage, now: datetime, error: str, *, final: bool = False
    ) -> None:
        message.attempts += 1
        message.error = error[:300]
        if final or message.attempts >= MAX_ATTEMPTS:
            message.failed_at = now
        else:
            message.not_before = now + timedelta(seconds=30 * 2**message.attempts)
        await self.session.flush()
