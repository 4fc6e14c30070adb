"""Residents and staff as Telegram users: language, consent, building binding, and
whether they blocked the bot."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ForeignKey, String, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Executable

from storage.base import Base, TelegramId, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    # None: follow the language the Telegram client reports.
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="SET NULL"), index=True
    )
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or str(self.id)

    @property
    def has_consented(self) -> bool:
        return self.consent_at is not None


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_many(self, user_ids: Collection[int]) -> dict[int, User]:
        """Those of ``user_ids`` who have a row, in one statement."""
        if not user_ids:
            return {}
        rows = await self.session.execute(_BY_IDS, {"ids": list(user_ids)})
        return {u.id: u for u in rows.scalars()}

    async def write_changes(self, changes: Mapping[int, Mapping[str, Any]]) -> None:
        """Per user id, new values of their row's columns: one statement per set of columns
        changed, whatever the number of users (a group of presses refreshes its pressers
        without the unit of work's per-row flush)."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for user_id, values in changes.items():
            if values:
                columns = tuple(sorted(values))
                by_columns.setdefault(columns, []).append(
                    {"_id": user_id, **{f"new_{name}": value for name, value in values.items()}}
                )
        for columns, rows in by_columns.items():
            await self.session.execute(_update_columns(columns), rows)

    async def touch(
        self,
        *,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        telegram_language: str | None,
        now: datetime,
    ) -> User:
        """Create the user on first contact, refresh what Telegram tells us otherwise.

        A user who writes to the bot has evidently unblocked it."""
        user = await self.get(user_id)
        if user is None:
            user = User(
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                telegram_language=telegram_language,
                created_at=now,
                last_seen_at=now,
            )
            self.session.add(user)
        else:
            user.first_name = first_name
            user.last_name = last_name
            user.username = username
            user.telegram_language = telegram_language
            user.last_seen_at = now
            user.blocked_at = None
        await self.session.flush()
        return user

    async def set_language(self, user: User, language: str | None) -> None:
        user.language = language
        await self.session.flush()

    async def mark_blocked(self, user_id: int, now: datetime) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id, User.blocked_at.is_(None)).values(blocked_at=now)
        )

    async def is_blocked(self, user_id: int) -> bool:
        stmt = select(User.blocked_at).where(User.id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def delete(self, user_id: int) -> None:
        """Remove the user row and their staff roles. What features keep about them is
        forgotten first by each feature's own hook (storage.privacy.forget_user); the
        audit log keeps the bare id of what staff did."""
        from storage.roles import RoleAssignment  # roles build on this module

        await self.session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == user_id))
        await self.session.execute(delete(User).where(User.id == user_id))


# Built once: the quick presses of a burst read their pressers with it many times a second.
_BY_IDS = select(User).where(User.id.in_(bindparam("ids", expanding=True)))


@lru_cache(maxsize=32)
def _update_columns(columns: tuple[str, ...]) -> Executable:
    """Built once per set of columns (parameters are bound at execution)."""
    table = User.metadata.tables[User.__tablename__]
    return (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
    )
