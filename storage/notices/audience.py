"""Who a notice reaches: everyone of the chosen roles within a node, each person once
however many roles or places they have; people who blocked the bot are left out and
counted apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council.models import GroupMember, OptOut
from storage.hierarchy import Node, within_path
from storage.partners.models import Partner, PartnerState
from storage.roles import Role, RoleAssignment
from storage.users import User

SAMPLE = 5
CHUNK = 5000


class AudienceRole(StrEnum):
    RESIDENTS = "residents"
    PARTNERS = "partners"  # approved 幸福合伙人 of the communities within the node
    # Residents subscribed to the 民情议事会 (all who did not opt out, and every member of
    # a self-governance group).
    COUNCIL = "council"
    WORKERS = "workers"
    STAFF = "staff"


_STAFF_ROLES = [r.value for r in Role if r is not Role.WORKER]


@dataclass(frozen=True)
class Recipients:
    user_ids: list[int] = field(default_factory=list)
    blocked: int = 0
    sample: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.user_ids)


def parse_roles(values: Iterable[str]) -> list[AudienceRole]:
    """The known roles among ``values`` in a fixed order (forged values are dropped)."""
    wanted = set(values)
    return [r for r in AudienceRole if r.value in wanted]


async def resolve(
    session: AsyncSession,
    node: Node,
    roles: Iterable[AudienceRole],
    buildings: Iterable[int] = (),
    leave_out: int | None = None,
) -> Recipients:
    """``buildings`` (ids within ``node``) narrows the residents to those buildings;
    empty means all of them."""
    chosen = set(roles)
    ids: set[int] = set()
    if AudienceRole.RESIDENTS in chosen:
        stmt = (
            select(User.id)
            .join(Node, Node.id == User.building_id)
            .where(within_path(Node.path, node.path), User.consent_at.is_not(None))
        )
        only = sorted(set(buildings))
        if only:
            stmt = stmt.where(Node.id.in_(only))
        ids.update(int(i) for i in (await session.execute(stmt)).scalars())
    if AudienceRole.COUNCIL in chosen:
        stmt = (
            select(User.id)
            .join(Node, Node.id == User.building_id)
            .where(
                within_path(Node.path, node.path),
                User.consent_at.is_not(None),
                # Self-governance group members get the council whatever they chose.
                or_(
                    ~select(OptOut.user_id).where(OptOut.user_id == User.id).exists(),
                    select(GroupMember.user_id).where(GroupMember.user_id == User.id).exists(),
                ),
            )
        )
        ids.update(int(i) for i in (await session.execute(stmt)).scalars())
    if AudienceRole.PARTNERS in chosen:
        stmt = (
            select(Partner.user_id)
            .join(Node, Node.id == Partner.community_id)
            .where(within_path(Node.path, node.path), Partner.state == PartnerState.APPROVED)
        )
        ids.update(int(i) for i in (await session.execute(stmt)).scalars())
    staff_roles = ([Role.WORKER.value] if AudienceRole.WORKERS in chosen else []) + (
        _STAFF_ROLES if AudienceRole.STAFF in chosen else []
    )
    if staff_roles:
        stmt = (
            select(RoleAssignment.user_id)
            .join(Node, Node.id == RoleAssignment.node_id)
            .where(
                RoleAssignment.role.in_(staff_roles),
                RoleAssignment.revoked_at.is_(None),
                within_path(Node.path, node.path),
            )
        )
        ids.update(int(i) for i in (await session.execute(stmt)).scalars())
    ids.discard(leave_out or 0)
    if not ids:
        return Recipients()
    people: list[Row[int, str, str | None, datetime | None]] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):  # bound the query's parameters
        chunk = ordered[start : start + CHUNK]
        who = select(User.id, User.first_name, User.last_name, User.blocked_at).where(
            User.id.in_(chunk)
        )
        people.extend((await session.execute(who)).all())
    reachable = sorted((p for p in people if p.blocked_at is None), key=lambda p: p.id)
    names = [" ".join(filter(None, (p.first_name, p.last_name))) for p in reachable[:SAMPLE]]
    return Recipients(
        user_ids=[int(p.id) for p in reachable],
        blocked=len([p for p in people if p.blocked_at is not None]),
        sample=[n for n in names if n],
    )
