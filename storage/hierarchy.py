"""The grid hierarchy: district → street → community → grid → building.

One table holds every level so that a staff scope ("this node and below") is a single
materialized-path prefix test, whatever the level."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from storage.base import Base, PathString, UTCDateTime


class NodeKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"

    @property
    def level(self) -> int:
        return LEVELS.index(self)

    @property
    def parent_kind(self) -> NodeKind | None:
        return None if self is NodeKind.DISTRICT else LEVELS[self.level - 1]

    @property
    def child_kind(self) -> NodeKind | None:
        return None if self is NodeKind.BUILDING else LEVELS[self.level + 1]


LEVELS: tuple[NodeKind, ...] = (
    NodeKind.DISTRICT,
    NodeKind.STREET,
    NodeKind.COMMUNITY,
    NodeKind.GRID,
    NodeKind.BUILDING,
)

# Telegram deep-link payloads allow [A-Za-z0-9_-]{1,64}; 12 url-safe characters carry
# 72 random bits, so nobody reaches another building by editing a number.
QR_TOKEN_BYTES = 9


def new_qr_token() -> str:
    return secrets.token_urlsafe(QR_TOKEN_BYTES)


class Node(Base):
    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    # "/1/4/9/" — ancestors' ids and its own; a subtree is a prefix match.
    path: Mapped[str] = mapped_column(PathString, default="")
    qr_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    parent: Mapped[Node | None] = relationship(remote_side=[id], lazy="raise")

    __table_args__ = (
        Index("ix_nodes_parent_kind_name", "parent_id", "kind", "name"),
        Index("ix_nodes_path", "path"),
        Index("ix_nodes_kind", "kind"),
    )

    @property
    def node_kind(self) -> NodeKind:
        return NodeKind(self.kind)

    def ancestor_ids(self) -> list[int]:
        """Ids from the district down to this node, itself included."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_within(self, other: Node) -> bool:
        return self.path.startswith(other.path)


def within_path(column: Any, path: str) -> ColumnElement[bool]:
    """``column`` lies in the subtree at ``path``, as a range both databases can answer
    from an index (a LIKE 'prefix%' with a bound prefix is a full scan on SQLite).

    Paths are digits and "/", and "0" sorts right after "/": every path under "/1/4/" is
    >= "/1/4/" and < "/1/40"."""
    return and_(column >= path, column < path[:-1] + "0")


class HierarchyError(ValueError):
    pass


class HierarchyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, node_id: int) -> Node | None:
        return await self.session.get(Node, node_id)

    async def by_code(self, code: str) -> Node | None:
        return (
            await self.session.execute(select(Node).where(Node.code == code))
        ).scalar_one_or_none()

    async def by_qr_token(self, token: str) -> Node | None:
        stmt = select(Node).where(Node.qr_token == token, Node.kind == NodeKind.BUILDING)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def children(
        self,
        parent_id: int | None,
        kind: NodeKind | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Node]:
        stmt = select(Node).where(
            Node.parent_id.is_(None) if parent_id is None else Node.parent_id == parent_id
        )
        if kind is not None:
            stmt = stmt.where(Node.kind == kind)
        stmt = stmt.order_by(Node.name, Node.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_children(self, parent_id: int) -> int:
        stmt = select(func.count()).select_from(Node).where(Node.parent_id == parent_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def of_kind(self, kind: NodeKind, within: Node | None = None) -> Sequence[Node]:
        stmt = select(Node).where(Node.kind == kind)
        if within is not None:
            stmt = stmt.where(within_path(Node.path, within.path))
        return (await self.session.execute(stmt.order_by(Node.name, Node.id))).scalars().all()

    async def ancestors(self, node: Node) -> list[Node]:
        """The chain from the district down to ``node`` (inclusive)."""
        ids = node.ancestor_ids()
        rows = (await self.session.execute(select(Node).where(Node.id.in_(ids)))).scalars().all()
        by_id = {n.id: n for n in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def community_of(self, node_id: int | None) -> Node | None:
        """The community a building (or any node below one) lies in."""
        node = await self.get(node_id) if node_id else None
        if node is None:
            return None
        return (await self.chain(node)).get(NodeKind.COMMUNITY)

    async def chain(self, node: Node) -> dict[NodeKind, Node]:
        return {n.node_kind: n for n in await self.ancestors(node)}

    async def create(
        self,
        *,
        kind: NodeKind,
        code: str,
        name: str,
        parent: Node | None,
        now: datetime,
        households: int | None = None,
        timezone: str | None = None,
    ) -> Node:
        check_parent(kind, parent)
        node = Node(
            kind=kind,
            code=code,
            name=name,
            parent_id=parent.id if parent else None,
            households=households,
            timezone=timezone,
            created_at=now,
            qr_token=new_qr_token() if kind is NodeKind.BUILDING else None,
        )
        self.session.add(node)
        await self.session.flush()
        node.path = f"{parent.path if parent else '/'}{node.id}/"
        await self.session.flush()
        return node

    async def move(self, node: Node, parent: Node) -> None:
        """Re-parent a node and rewrite the paths of its whole subtree."""
        check_parent(node.node_kind, parent)
        old_prefix = node.path
        new_prefix = f"{parent.path}{node.id}/"
        if old_prefix == new_prefix:
            return
        subtree = (
            (await self.session.execute(select(Node).where(within_path(Node.path, old_prefix))))
            .scalars()
            .all()
        )
        for member in subtree:
            member.path = new_prefix + member.path[len(old_prefix) :]
        node.parent_id = parent.id
        await self.session.flush()


def check_parent(kind: NodeKind, parent: Node | None) -> None:
    expected = kind.parent_kind
    if expected is None:
        if parent is not None:
            raise HierarchyError(f"a {kind} has no parent")
        return
    if parent is None or parent.node_kind is not expected:
        raise HierarchyError(f"a {kind} belongs to a {expected}")
