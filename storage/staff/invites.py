"""Creating, redeeming and revoking invites. Redeeming grants the role through the
roles repository, once: two people racing for one link cannot both get it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.hierarchy import Node
from storage.roles import Role, StaffRepo, check_scope
from storage.staff.models import Invite, InviteProblem

if TYPE_CHECKING:
    from storage.services import Services

INVITE_TTL = timedelta(days=7)
INVITE_TOKEN_BYTES = 16  # 22 url-safe characters: unguessable, fits a deep link


class InviteRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session)

    async def create(
        self,
        *,
        role: Role,
        node: Node | None,
        created_by: int,
        now: datetime,
        ttl: timedelta = INVITE_TTL,
    ) -> Invite:
        check_scope(role, node)
        invite = Invite(
            token=secrets.token_urlsafe(INVITE_TOKEN_BYTES),
            role=role,
            node_id=node.id if node else None,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_token(self, token: str) -> Invite | None:
        stmt = select(Invite).options(selectinload(Invite.node)).where(Invite.token == token)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, invite_id: int) -> Invite | None:
        stmt = select(Invite).options(selectinload(Invite.node)).where(Invite.id == invite_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def redeem(
        self, token: str, *, user_id: int, now: datetime
    ) -> tuple[Invite | None, InviteProblem | None]:
        """Use an invite once. The conditional UPDATE makes two simultaneous redemptions
        of one link impossible: only one row update can succeed."""
        invite = await self.by_token(token)
        if invite is None:
            return None, InviteProblem.UNKNOWN
        if invite.revoked_at is not None:
            return invite, InviteProblem.REVOKED
        if invite.used_at is not None:
            return invite, InviteProblem.USED
        if invite.expires_at <= now:
            return invite, InviteProblem.EXPIRED
        result = await self.session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
            .values(used_at=now, used_by=user_id)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return invite, InviteProblem.USED
        await StaffRepo(self.session).grant(
            user_id=user_id,
            role=Role(invite.role),
            node=invite.node,
            granted_by=invite.created_by,
            now=now,
        )
        return invite, None

    async def revoke(self, invite: Invite, now: datetime) -> bool:
        result = await self.session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def open(self, now: datetime, *, limit: int = 50) -> Sequence[Invite]:
        stmt = (
            select(Invite)
            .options(selectinload(Invite.node))
            .where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now)
            .order_by(Invite.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
