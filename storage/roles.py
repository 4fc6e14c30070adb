"""Staff roles scoped to a node of the hierarchy and the scope rule: a staff member acts
within their node and below it. Every feature asks these who may do what; the invites that
grant roles are the staff feature's (storage.staff)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Select, String, and_, bindparam, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from storage.base import Base, TelegramId, UTCDateTime
from storage.hierarchy import Node, NodeKind, within_path
from storage.users import User


class Role(StrEnum):
    WORKER = "worker"
    COMMUNITY_STAFF = "community_staff"
    STREET_STAFF = "street_staff"
    DISTRICT_STAFF = "district_staff"
    ADMIN = "admin"

    @property
    def scope_kind(self) -> NodeKind | None:
        """The level a role is assigned at; an admin may sit at any level (or none: global)."""
        return ROLE_SCOPE[self]

    @property
    def rank(self) -> int:
        return tuple(Role).index(self)


ROLE_SCOPE: dict[Role, NodeKind | None] = {
    Role.WORKER: NodeKind.GRID,
    Role.COMMUNITY_STAFF: NodeKind.COMMUNITY,
    Role.STREET_STAFF: NodeKind.STREET,
    Role.DISTRICT_STAFF: NodeKind.DISTRICT,
    Role.ADMIN: None,
}


class RoleAssignment(Base):
    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(TelegramId)
    role: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    granted_by: Mapped[int | None] = mapped_column(TelegramId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[int | None] = mapped_column(TelegramId)

    node: Mapped[Node | None] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_role_assignments_user", "user_id", "revoked_at"),
        Index("ix_role_assignments_node_role", "node_id", "role", "revoked_at"),
    )


class ScopeError(PermissionError):
    pass


@dataclass(frozen=True)
class Grant:
    role: Role
    node: Node | None  # None: global (configured admins and unscoped admin invites)


@dataclass(frozen=True)
class Staffing:
    """What one user may do: their active grants. Empty for a plain resident."""

    user_id: int
    grants: tuple[Grant, ...] = field(default=())

    @property
    def is_staff(self) -> bool:
        return bool(self.grants)

    @property
    def is_admin(self) -> bool:
        return any(g.role is Role.ADMIN for g in self.grants)

    @property
    def top_role(self) -> Role | None:
        return max((g.role for g in self.grants), key=lambda r: r.rank, default=None)

    def has(self, role: Role) -> bool:
        return any(g.role is role for g in self.grants)

    def covers(self, node: Node, roles: Iterable[Role] | None = None) -> bool:
        """True when one of the grants (optionally only of ``roles``) reaches ``node``."""
        allowed = set(roles) if roles is not None else None
        for grant in self.grants:
            if allowed is not None and grant.role not in allowed:
                continue
            if grant.node is None or node.is_within(grant.node):
                return True
        return False

    def scopes(self, roles: Iterable[Role] | None = None) -> list[Node | None]:
        allowed = set(roles) if roles is not None else None
        return [g.node for g in self.grants if allowed is None or g.role in allowed]


def check_scope(role: Role, node: Node | None) -> None:
    expected = role.scope_kind
    if expected is None:
        return
    if node is None or node.node_kind is not expected:
        raise ScopeError(f"{role} is assigned to a {expected}")


def _actor_statement() -> Select[User, RoleAssignment, Node]:
    me = select(cast(bindparam("uid", type_=TelegramId), TelegramId).label("uid")).subquery("me")
    return (
        select(User, RoleAssignment, Node)
        .select_from(me)
        .outerjoin(User, User.id == me.c.uid)
        .outerjoin(
            RoleAssignment,
            and_(RoleAssignment.user_id == me.c.uid, RoleAssignment.revoked_at.is_(None)),
        )
        .outerjoin(Node, Node.id == RoleAssignment.node_id)
        .order_by(RoleAssignment.id)
    )


# Built once: every update runs it first, and built per call its expressions and cache
# key were over a third of the call's CPU.
_ACTOR = _actor_statement()


class StaffRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def staffing(self, user_id: int, *, config_admins: Iterable[int] = ()) -> Staffing:
        stmt = (
            select(RoleAssignment)
            .options(selectinload(RoleAssignment.node))
            .where(RoleAssignment.user_id == user_id, RoleAssignment.revoked_at.is_(None))
            .order_by(RoleAssignment.id)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        grants = [Grant(Role(r.role), r.node) for r in rows]
        if user_id in set(config_admins):
            grants.insert(0, Grant(Role.ADMIN, None))
        return Staffing(user_id, tuple(grants))

    async def actor(
        self, user_id: int, *, config_admins: Iterable[int] = ()
    ) -> tuple[User | None, Staffing]:
        """The user's row (None before they consented or were made staff) and their
        grants, in one statement: what every update reads first."""
        user: User | None = None
        grants: list[Grant] = []
        for row_user, assignment, node in await self.session.execute(_ACTOR, {"uid": user_id}):
            user = user or row_user
            if assignment is not None:
                grants.append(Grant(Role(assignment.role), node))
        if user_id in set(config_admins):
            grants.insert(0, Grant(Role.ADMIN, None))
        return user, Staffing(user_id, tuple(grants))

    async def grant(
        self,
        *,
        user_id: int,
        role: Role,
        node: Node | None,
        granted_by: int | None,
        now: datetime,
    ) -> RoleAssignment:
        check_scope(role, node)
        node_id = node.id if node else None
        existing = (
            await self.session.execute(
                select(RoleAssignment).where(
                    RoleAssignment.user_id == user_id,
                    RoleAssignment.role == role,
                    RoleAssignment.node_id.is_(None)
                    if node_id is None
                    else RoleAssignment.node_id == node_id,
                    RoleAssignment.revoked_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        assignment = RoleAssignment(
            user_id=user_id,
            role=role,
            node_id=node_id,
            granted_by=granted_by,
            created_at=now,
        )
        self.session.add(assignment)
        await self.session.flush()
        return assignment

    async def get_assignment(self, assignment_id: int) -> RoleAssignment | None:
        stmt = (
            select(RoleAssignment)
            .options(selectinload(RoleAssignment.node))
            .where(RoleAssignment.id == assignment_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def revoke(self, assignment: RoleAssignment, *, by: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(RoleAssignment)
            .where(RoleAssignment.id == assignment.id, RoleAssignment.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by)
        )
        return bool(getattr(result, "rowcount", 0))

    async def active_assignments(
        self,
        *,
        within: Node | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[RoleAssignment]:
        stmt = (
            select(RoleAssignment)
            .options(selectinload(RoleAssignment.node))
            .where(RoleAssignment.revoked_at.is_(None))
            .order_by(RoleAssignment.id)
        )
        if within is not None:
            stmt = stmt.join(Node, Node.id == RoleAssignment.node_id).where(
                within_path(Node.path, within.path)
            )
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def holders(self, role: Role, node_ids: Iterable[int]) -> list[int]:
        """User ids holding ``role`` directly at any of ``node_ids``."""
        ids = list(node_ids)
        if not ids:
            return []
        stmt = (
            select(RoleAssignment.user_id)
            .where(
                RoleAssignment.role == role,
                RoleAssignment.node_id.in_(ids),
                RoleAssignment.revoked_at.is_(None),
            )
            .distinct()
        )
        return [int(u) for u in (await self.session.execute(stmt)).scalars().all()]
