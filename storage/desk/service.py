"""Issuing, redeeming and ending the desk's ways in.

A sign-in link is opened once: redeeming it is a conditional UPDATE that only one of two
simultaneous requests can win (two tabs, a prefetching client). Sessions live in the
database, so whichever process serves the next request knows them; nothing is kept in
one process's memory. Tokens are 256 random bits; rows keep only their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.desk.models import DeskLink, DeskSession, SignInProblem
from storage.desk.policy import DeskPolicy
from storage.roles import RoleAssignment

if TYPE_CHECKING:
    from storage.services import Services

TOKEN_BYTES = 32
MAX_TOKEN = 128  # longer is not one of ours: refused before hashing
# Ended and expired rows are kept a while (who was signed in when), then dropped.
KEEP_ENDED = timedelta(days=30)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str  # goes into the link; never stored
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    session: DeskSession
    token: str  # the cookie's value; never stored


class DeskAuth:
    def __init__(self, session: AsyncSession, policy: DeskPolicy) -> None:
        self.session = session
        self.policy = policy

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session, services.config(DeskPolicy))

    def now(self) -> datetime:
        return self.policy.clock.now()

    # --- links ------------------------------------------------------------------------

    async def issue_link(self, user_id: int) -> Issued:
        """A new one-time link for ``user_id``; their earlier unused links stop working
        (only the newest link in the chat opens the desk)."""
        now = self.now()
        await self.session.execute(
            update(DeskLink)
            .where(
                DeskLink.user_id == user_id, DeskLink.used_at.is_(None), DeskLink.expires_at > now
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + self.policy.link_ttl
        self.session.add(
            DeskLink(token_hash=digest(token), user_id=user_id, created_at=now, expires_at=expires)
        )
        await self.session.flush()
        return Issued(token, expires)

    async def redeem_link(self, token: str) -> Opened | SignInProblem:
        """Open a session with the link ``token``, once."""
        if not token or len(token) > MAX_TOKEN:
            return SignInProblem.UNKNOWN
        now = self.now()
        link = (
            await self.session.execute(select(DeskLink).where(DeskLink.token_hash == digest(token)))
        ).scalar_one_or_none()
        if link is None:
            return SignInProblem.UNKNOWN
        if link.used_at is not None:
            return SignInProblem.USED
        if link.expires_at <= now:
            return SignInProblem.EXPIRED
        won = await self.session.execute(
            update(DeskLink)
            .where(DeskLink.id == link.id, DeskLink.used_at.is_(None), DeskLink.expires_at > now)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if not getattr(won, "rowcount", 0):
            return SignInProblem.USED
        return await self.open(link.user_id, via="link")

    # --- sessions ---------------------------------------------------------------------

    async def open(self, user_id: int, *, via: str) -> Opened:
        now = self.now()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = DeskSession(
            token_hash=digest(token),
            user_id=user_id,
            csrf=secrets.token_urlsafe(TOKEN_BYTES),
            via=via,
            created_at=now,
            expires_at=now + self.policy.session_ttl,
        )
        self.session.add(row)
        await self.session.flush()
        return Opened(row, token)

    async def session_of(self, token: str | None) -> DeskSession | None:
        """The live session whose cookie is ``token``, or None (none, ended, expired)."""
        if not token or len(token) > MAX_TOKEN:
            return None
        stmt = select(DeskSession).where(
            DeskSession.token_hash == digest(token),
            DeskSession.ended_at.is_(None),
            DeskSession.expires_at > self.now(),
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def end(self, desk_session: DeskSession, why: str) -> None:
        await self.session.execute(
            update(DeskSession)
            .where(DeskSession.id == desk_session.id, DeskSession.ended_at.is_(None))
            .values(ended_at=self.now(), ended_why=why)
            .execution_options(synchronize_session=False)
        )

    async def end_all(self, user_id: int, why: str) -> int:
        result = await self.session.execute(
            update(DeskSession)
            .where(DeskSession.user_id == user_id, DeskSession.ended_at.is_(None))
            .values(ended_at=self.now(), ended_why=why)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def was_staff(self, user_id: int) -> bool:
        """Held a staff role once (revoked since): their refusal says so."""
        stmt = select(RoleAssignment.id).where(RoleAssignment.user_id == user_id).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def purge(self) -> int:
        """Drop links and sessions that ended long ago."""
        before = self.now() - KEEP_ENDED
        links = await self.session.execute(delete(DeskLink).where(DeskLink.expires_at < before))
        sessions = await self.session.execute(
            delete(DeskSession).where(
                or_(DeskSession.expires_at < before, DeskSession.ended_at < before)
            )
        )
        return int(getattr(links, "rowcount", 0) or 0) + int(getattr(sessions, "rowcount", 0) or 0)
