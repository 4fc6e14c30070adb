"""Messages the bot owes people, written in the same transaction as the change that
caused them: a crash or restart after the commit cannot lose them.

A message names its ``kind`` (rendered by the feature that registered it) and, where it
is about one thing, that thing's id (``subject_id``: an appeal, a notice…). Delivery
takes the most urgent ``lane`` first, so an urgent call never waits behind a broadcast.

Delivery claims a message before sending it (``claimed_at``, committed), so several
workers and several processes never send the same row, and one chat has at most one
message in flight. A claim names the process that made it (``claimed_by``, see
storage.processes) and lasts as long as that process lives. Telegram has no idempotent
send: a process that dies between the send and its record leaves a claim behind. For
most kinds the message is sent again as soon as the process is known to be dead (at
least once: a duplicate is possible, a loss is not); kinds registered as at most once
(broadcasts to thousands) are set aside as "uncertain" instead and can be resent by
hand."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    SmallInteger,
    String,
    Table,
    and_,
    bindparam,
    event,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, UOWTransaction, aliased, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.selectable import Exists

from storage.base import Base, UTCDateTime
from storage.processes import OutboxProcess

MAX_ATTEMPTS = 5
CLAIM_TRIES = 5
# Advisory locks serialise one chat's claims. They belong to the whole database, not to a
# schema: their first key names the schema, so two deployments (or two test workers) in
# one database do not turn each other's chats away.
CHAT_LOCKS = "hashtext('gridbot.chat:' || current_schema())"
UNCERTAIN = "uncertain: the sender stopped between sending and recording it"


class Lane(IntEnum):
    """Delivery order: lower goes first."""

    URGENT = 0  # urgent calls (一键呼叫) and anything a life may depend on
    TASK = 1  # push tasks to staff, and what a person's own action owes them
    STATUS = 2  # status changes, reminders
    BULK = 3  # notices and other broadcasts


_WAITING = text("sent_at IS NULL AND failed_at IS NULL AND claimed_at IS NULL")
_IN_FLIGHT = text("sent_at IS NULL AND failed_at IS NULL AND claimed_at IS NOT NULL")


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
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    # The message the recipient got (for a recall): the last one sent for this row.
    message_id: Mapped[int | None] = mapped_column(BigInteger)

    # Partial indexes: only the rows still owed, or in flight. They stay small however
    # long the history grows.
    __table_args__ = (
        Index("ix_outbox_waiting", "lane", "id", sqlite_where=_WAITING, postgresql_where=_WAITING),
        Index(
            "ix_outbox_in_flight",
            "user_id",
            sqlite_where=_IN_FLIGHT,
            postgresql_where=_IN_FLIGHT,
        ),
        Index("ix_outbox_subject", "kind", "subject_id"),
    )


# Set on a session whose unit of work made a message owed (a row added, or one given back):
# its commit wakes the delivery. A commit that owed nothing (most presses) wakes nobody,
# where before every update's commit sent every idle worker to look for work.
OWED = "gridbot.outbox_owed"


def took_owed(session: AsyncSession) -> bool:
    """Whether the work committed since the last call made a message owed."""
    return bool(session.info.pop(OWED, False))


@event.listens_for(Session, "after_flush")
def _added_messages_are_owed(session: Session, flush_context: UOWTransaction) -> None:
    if any(isinstance(obj, OutboxMessage) for obj in session.new):
        session.info[OWED] = True


@event.listens_for(Session, "do_orm_execute")
def _inserted_messages_are_owed(state: ORMExecuteState) -> None:
    if state.is_insert and state.bind_mapper is OutboxMessage.__mapper__:
        state.session.info[OWED] = True


# Built once: an alias's columns are worked out on first use, a cost paid on every
# claim by an alias made for it.
_BUSY = aliased(OutboxMessage, name="busy")
_AHEAD = aliased(OutboxMessage, name="ahead")
_CHAT_IN_FLIGHT = exists().where(
    _BUSY.user_id == OutboxMessage.user_id,
    _BUSY.claimed_at.is_not(None),
    _BUSY.sent_at.is_(None),
    _BUSY.failed_at.is_(None),
)


# One statement for many rows (the ORM's bulk update builds one per call).
_OUTBOX = cast(Table, OutboxMessage.__table__)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row"))
    .values(
        sent_at=bindparam("at", type_=_OUTBOX.c.sent_at.type),
        message_id=bindparam("got", type_=_OUTBOX.c.message_id.type),
    )
)


@dataclass(frozen=True)
class Recovered:
    released: int  # sent again later (at least once)
    uncertain: int  # set aside: may or may not have arrived (at most once)


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

    def _postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def claim(
        self, now: datetime, worker: str, *, avoid: Collection[int] = ()
    ) -> OutboxMessage | None:
        """Take the most urgent message owed now whose chat has nothing in flight, and
        mark it claimed by ``worker``. The caller commits before sending."""
        claimed = await self.claim_many(now, worker, 1, avoid=avoid)
        return claimed[0] if claimed else None

    async def claim_many(
        self, now: datetime, worker: str, limit: int, *, avoid: Collection[int] = ()
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` of the most urgent messages owed now, at most one per
        chat, each its chat's first owed message and of a chat with nothing in flight,
        and mark them claimed by ``worker`` in one statement. Most urgent first. The
        caller commits before sending."""
        chat_in_flight = _CHAT_IN_FLIGHT
        skip = set(avoid)
        postgres = self._postgres()
        # Another worker may take a row, or another message of its chat, between the
        # select and the update: look again rather than idle as if nothing were owed.
        for _ in range(CLAIM_TRIES):
            stmt = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.claimed_at.is_(None),
                    OutboxMessage.not_before <= now,
                    ~chat_in_flight,
                )
                .order_by(OutboxMessage.lane, OutboxMessage.id)
                .limit(max(1, limit))
            )
            if skip:
                stmt = stmt.where(OutboxMessage.user_id.not_in(list(skip)))
            if postgres:
                # Several processes claim at once; each row goes to one of them.
                stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
            found = (await self.session.execute(stmt)).scalars().all()
            if not found:
                return []
            # One per chat: its first in (lane, id) order, the one owed first.
            firsts: dict[int, OutboxMessage] = {}
            for message in found:
                if firsts.setdefault(message.user_id, message) is not message:
                    self.session.expunge(message)
            candidates = list(firsts.values())
            if postgres:
                # Another transaction may be claiming a message of these chats right now.
                locked = await self._lock_chats([m.user_id for m in candidates])
                for message in candidates:
                    if message.user_id not in locked:
                        skip.add(message.user_id)
                        self.session.expunge(message)
                candidates = [m for m in candidates if m.user_id in locked]
                if not candidates:
                    continue
            # Each chat is checked again by the update itself: on PostgreSQL under the
            # chat's lock, so a claim committed meanwhile by another worker is seen. And
            # each message must still be its chat's first owed one: SKIP LOCKED hands a
            # second worker the chat's next message while the first is being claimed.
            # (One row per chat: the rows of one update cannot hide each other.)
            result = await self.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_([m.id for m in candidates]),
                    OutboxMessage.claimed_at.is_(None),
                    ~chat_in_flight,
                    ~self._owed_before(now),
                )
                .values(claimed_at=now, claimed_by=worker)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
            taken = set(result.scalars().all())
            claimed: list[OutboxMessage] = []
            for message in candidates:
                if message.id in taken:
                    # Already written by the update: not dirty, so the commit writes nothing.
                    set_committed_value(message, "claimed_at", now)
                    set_committed_value(message, "claimed_by", worker)
                    claimed.append(message)
                else:
                    skip.add(message.user_id)
                    self.session.expunge(message)
            if claimed:
                return claimed
        return []

    @staticmethod
    def _owed_before(now: datetime) -> Exists:
        """A message of the same chat owed now that goes before this one."""
        ahead = _AHEAD
        return exists().where(
            ahead.user_id == OutboxMessage.user_id,
            ahead.sent_at.is_(None),
            ahead.failed_at.is_(None),
            ahead.claimed_at.is_(None),
            ahead.not_before <= now,
            or_(
                ahead.lane < OutboxMessage.lane,
                and_(ahead.lane == OutboxMessage.lane, ahead.id < OutboxMessage.id),
            ),
        )

    async def _lock_chats(self, user_ids: list[int]) -> set[int]:
        """One claim per chat at a time across transactions (held until commit): two
        claims of one chat's messages would each miss the other's uncommitted claim.
        Returns the chats locked (the others are being claimed elsewhere)."""
        keys = {user_id % 2_147_483_647: user_id for user_id in user_ids}
        locked = await self.session.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS BIGINT[])) AS k"
                f" WHERE pg_try_advisory_xact_lock({CHAT_LOCKS}, CAST(k AS INTEGER))"
            ),
            {"keys": list(keys)},
        )
        return {keys[int(k)] for k in locked.scalars()}

    async def take(
        self, kind: str, subject_id: int, user_id: int, now: datetime, worker: str
    ) -> OutboxMessage | None:
        """Claim for ``worker`` the waiting message ``kind`` about ``subject_id`` owed to
        ``user_id``, to be told in place (the answer of the press that caused it) in the
        same transaction that made it owed. The caller then records it sent, or gives
        it back to be sent; if the process dies first, the claim dies with it."""
        message = (
            await self.session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.kind == kind,
                    OutboxMessage.subject_id == subject_id,
                    OutboxMessage.user_id == user_id,
                    _WAITING,
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        if message is not None:
            message.claimed_at = now
            message.claimed_by = worker
        return message

    async def give_back(self, message_id: int) -> None:
        """A claimed message could not be told in place: the delivery sends it."""
        self.session.info[OWED] = True
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
            .values(claimed_at=None, claimed_by=None)
        )

    async def pending(self, now: datetime, limit: int = 100) -> Sequence[OutboxMessage]:
        """What is owed now, most urgent lane first, oldest first within a lane."""
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.claimed_at.is_(None),
                OutboxMessage.not_before <= now,
            )
            .order_by(OutboxMessage.lane, OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_sent(
        self, message_id: int, now: datetime, message_id_sent: int | None = None
    ) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(sent_at=now, message_id=message_id_sent)
        )

    async def mark_sent_many(self, sent: Sequence[tuple[int, int | None]], now: datetime) -> None:
        """Record several messages sent at once: (outbox id, the message id it got)."""
        if sent:
            await self.session.execute(
                _MARK_SENT, [{"row": i, "at": now, "got": m} for i, m in sent]
            )

    async def mark_failed(
        self, message: OutboxMessage, now: datetime, error: str, *, final: bool = False
    ) -> None:
        attempts = message.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "error": error[:300],
            "claimed_at": None,
            "claimed_by": None,
        }
        if final or attempts >= MAX_ATTEMPTS:
            values["failed_at"] = now
        else:
            values["not_before"] = now + timedelta(seconds=30 * 2**attempts)
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id).values(**values)
        )

    async def release(self, kind: str, subject_id: int, now: datetime) -> int:
        """Send now what was held back until later (e.g. a card waiting for a reason)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.subject_id == subject_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.claimed_at.is_(None),
                OutboxMessage.not_before > now,
            )
            .values(not_before=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def hold(self, kind: str, subject_id: int, until: datetime) -> int:
        """Keep the waiting messages of one subject back until ``until`` (a paused
        broadcast); ``release`` sends them again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.subject_id == subject_id,
                _WAITING,
            )
            .values(not_before=until)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def withdraw(self, kind: str, subject_id: int, now: datetime, reason: str) -> int:
        """Give up the waiting messages of one subject (a cancelled broadcast)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.subject_id == subject_id,
                _WAITING,
            )
            .values(failed_at=now, error=reason[:300])
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def recover(
        self,
        dead: Collection[str],
        orphaned_before: datetime,
        now: datetime,
        at_most_once: Collection[str],
    ) -> Recovered:
        """Take back the claims of processes that are gone (``dead``), and claims no
        known process holds that are older than ``orphaned_before`` (made before claims
        named their process, or by one whose row was already given up): send those
        messages again, except the kinds delivered at most once, which are set aside."""
        orphan = and_(
            or_(
                OutboxMessage.claimed_by.is_(None),
                OutboxMessage.claimed_by.not_in(select(OutboxProcess.id)),
            ),
            OutboxMessage.claimed_at < orphaned_before,
        )
        stale = and_(
            OutboxMessage.claimed_at.is_not(None),
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            or_(OutboxMessage.claimed_by.in_(list(dead)), orphan),
        )
        uncertain = 0
        if at_most_once:
            result = await self.session.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.kind.in_(list(at_most_once)))
                .values(failed_at=now, error=UNCERTAIN, claimed_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )
            uncertain = int(getattr(result, "rowcount", 0) or 0)
        result = await self.session.execute(
            update(OutboxMessage)
            .where(stale)
            .values(claimed_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        return Recovered(int(getattr(result, "rowcount", 0) or 0), uncertain)

    async def counts(self, kind: str, subject_id: int) -> dict[str, int]:
        """How far the messages of one subject got: waiting, in flight, sent, failed."""
        rows = await self.session.execute(
            select(
                func.count().filter(OutboxMessage.sent_at.is_not(None)),
                func.count().filter(OutboxMessage.failed_at.is_not(None)),
                func.count().filter(
                    and_(
                        OutboxMessage.sent_at.is_(None),
                        OutboxMessage.failed_at.is_(None),
                        OutboxMessage.claimed_at.is_not(None),
                    )
                ),
                func.count(),
            ).where(OutboxMessage.kind == kind, OutboxMessage.subject_id == subject_id)
        )
        sent, failed, flying, total = rows.one()
        return {
            "sent": int(sent),
            "failed": int(failed),
            "in_flight": int(flying),
            "waiting": int(total) - int(sent) - int(failed) - int(flying),
            "total": int(total),
        }
