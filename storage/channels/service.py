"""Channels: made, rotated and revoked by admins (each a staff action in the audit log),
found by their key, and every request a key makes recorded with the channel's name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.channels.keys import key_hash, key_hint, new_key
from storage.channels.models import Channel
from storage.channels.rules import (
    CHANNEL_NODE_KINDS,
    ChannelProblem,
    create_refusal,
    manage_refusal,
)
from storage.hierarchy import HierarchyRepo, Node, within_path
from storage.roles import Role, Staffing

if TYPE_CHECKING:
    from storage.services import Services


class ChannelError(Exception):
    def __init__(self, problem: ChannelProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ChannelService:
    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.audit = AuditRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session, services.now())

    async def create(self, staffing: Staffing, node: Node | None, name: str) -> tuple[Channel, str]:
        """A new channel and its key (the only time the key is ever seen)."""
        problem = create_refusal(staffing, node, name)
        if problem is not None:
            raise ChannelError(problem)
        assert node is not None
        key = new_key()
        channel = Channel(
            name=name.strip(),
            node_id=node.id,
            key_hash=key_hash(key),
            key_hint=key_hint(key),
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(channel)
        await self.session.flush()
        await self._staff_audit(staffing, "channel.create", channel, node=node.id)
        return channel, key

    async def provision(self, name: str, node: Node) -> tuple[Channel, str]:
        """A channel the operator sets up without a person (the sandbox's demo channel,
        a deployment script): made, or given a new key when it exists, since a key is
        never kept to be shown again. Audited with no actor."""
        stmt = select(Channel).where(
            Channel.name == name, Channel.node_id == node.id, Channel.revoked_at.is_(None)
        )
        channel = (await self.session.execute(stmt)).scalars().first()
        key = new_key()
        if channel is None:
            channel = Channel(name=name, node_id=node.id, created_at=self.now)
            self.session.add(channel)
        else:
            channel.rotated_at = self.now
        channel.key_hash, channel.key_hint = key_hash(key), key_hint(key)
        await self.session.flush()
        await self.audit.record(
            actor_id=None,
            action="channel.provision",
            at=self.now,
            object_type="channel",
            object_id=channel.id,
            channel=channel.name,
        )
        return channel, key

    async def rotate(self, staffing: Staffing, channel_id: int) -> tuple[Channel, str]:
        """A new key; the old one stops working at once."""
        channel = await self._managed(staffing, channel_id)
        key = new_key()
        channel.key_hash, channel.key_hint, channel.rotated_at = (
            key_hash(key),
            key_hint(key),
            self.now,
        )
        await self.session.flush()
        await self._staff_audit(staffing, "channel.rotate", channel)
        return channel, key

    async def revoke(self, staffing: Staffing, channel_id: int) -> Channel:
        channel = await self._managed(staffing, channel_id)
        channel.revoked_at = self.now
        await self.session.flush()
        await self._staff_audit(staffing, "channel.revoke", channel)
        return channel

    async def visible(self, staffing: Staffing) -> Sequence[Channel]:
        """The channels of the nodes ``staffing`` administers, newest first."""
        scopes: list[Node | None] = [g.node for g in staffing.grants if g.role is Role.ADMIN]
        if not scopes:
            return []
        stmt = select(Channel).order_by(Channel.id.desc())
        if None not in scopes:
            paths = [n.path for n in scopes if n is not None]
            stmt = stmt.join(Node, Node.id == Channel.node_id).where(
                or_(*(within_path(Node.path, p) for p in paths))
            )
        return (await self.session.execute(stmt)).scalars().all()

    async def nodes_for(self, staffing: Staffing, limit: int = 40) -> list[Node]:
        """The districts and streets ``staffing`` administers: where a channel may go."""
        found: dict[int, Node] = {}
        hierarchy = HierarchyRepo(self.session)
        for grant in staffing.grants:
            if grant.role is not Role.ADMIN:
                continue
            for kind in CHANNEL_NODE_KINDS:
                for node in await hierarchy.of_kind(kind, grant.node):
                    found.setdefault(node.id, node)
        return sorted(found.values(), key=lambda n: (n.path.count("/"), n.name))[:limit]

    async def managed(self, staffing: Staffing, channel_id: int) -> Channel | None:
        """The channel by an id from a button, or None outside the person's scope."""
        channel = await self.session.get(Channel, channel_id)
        node = await HierarchyRepo(self.session).get(channel.node_id) if channel else None
        if manage_refusal(staffing, channel, node) in (ChannelProblem.NOT_FOUND,):
            return None
        return channel

    async def authenticate(self, key: str) -> tuple[Channel, Node] | None:
        """The active channel holding ``key`` and its node, or None."""
        if not key or len(key) > 200:
            return None
        stmt = (
            select(Channel, Node)
            .join(Node, Node.id == Channel.node_id)
            .where(Channel.key_hash == key_hash(key), Channel.revoked_at.is_(None))
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def record_request(
        self, channel: Channel | None, *, method: str, path: str, status: int, **details: Any
    ) -> None:
        """Every request made with a key, in the audit log with the channel's name (a
        wrong key too, by the hint of what was sent)."""
        await self.audit.record(
            actor_id=None,
            action="open311.request" if channel is not None else "open311.refused",
            at=self.now,
            object_type="channel",
            object_id=channel.id if channel is not None else None,
            channel=channel.name if channel is not None else None,
            method=method,
            path=path,
            status=status,
            **{k: v for k, v in details.items() if v is not None},
        )

    async def _managed(self, staffing: Staffing, channel_id: int) -> Channel:
        channel = await self.session.get(Channel, channel_id)
        node = await HierarchyRepo(self.session).get(channel.node_id) if channel else None
        problem = manage_refusal(staffing, channel, node)
        if problem is not None:
            raise ChannelError(problem)
        assert channel is not None
        return channel

    async def _staff_audit(
        self, staffing: Staffing, action: str, channel: Channel, **details: Any
    ) -> None:
        await self.audit.record(
            actor_id=staffing.user_id,
            action=action,
            at=self.now,
            object_type="channel",
            object_id=channel.id,
            channel=channel.name,
            **details,
        )
