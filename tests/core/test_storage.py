"""Domain rules in storage: hierarchy paths and parents, scopes, invites, users."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.hierarchy import HierarchyError, HierarchyRepo, NodeKind
from storage.roles import Role, ScopeError, StaffRepo
from storage.staff.invites import InviteRepo
from storage.staff.models import InviteProblem
from storage.users import User, UserRepo
from tests.factories import build_tree


async def test_parents_must_be_one_level_up(session: AsyncSession, clock: ManualClock) -> None:
    repo = HierarchyRepo(session)
    d = await repo.create(kind=NodeKind.DISTRICT, code="d", name="区", parent=None, now=clock.now())
    with pytest.raises(HierarchyError):
        await repo.create(kind=NodeKind.GRID, code="g", name="网格", parent=d, now=clock.now())
    with pytest.raises(HierarchyError):
        await repo.create(kind=NodeKind.STREET, code="s", name="街道", parent=None, now=clock.now())


async def test_move_rewrites_the_subtree(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        grid = await repo.get(tree.grid.id)
        target = await repo.get(tree.other_community.id)
        assert grid is not None and target is not None
        await repo.move(grid, target)
        await session.commit()
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        building = await repo.get(tree.building.id)
        assert building is not None
        chain = [n.name for n in await repo.ancestors(building)]
        assert chain == ["牟平区", "宁海街道", "正阳社区", "第一网格", "1号楼"]
        within = {n.id for n in await repo.of_kind(NodeKind.BUILDING, within=target)}
        assert within == {tree.building.id, tree.building2.id, tree.other_building.id}


async def test_scope_covers_node_and_below(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        repo = StaffRepo(session)
        await repo.grant(
            user_id=7, role=Role.COMMUNITY_STAFF, node=tree.community, granted_by=1, now=clock.now()
        )
        with pytest.raises(ScopeError):
            await repo.grant(
                user_id=7, role=Role.WORKER, node=tree.community, granted_by=1, now=clock.now()
            )
        await session.commit()
        staffing = await repo.staffing(7)
    assert staffing.covers(tree.building) and staffing.covers(tree.community)
    assert not staffing.covers(tree.other_building) and not staffing.covers(tree.street)
    assert staffing.top_role is Role.COMMUNITY_STAFF and not staffing.is_admin


async def test_configured_admins_are_global(session: AsyncSession) -> None:
    staffing = await StaffRepo(session).staffing(42, config_admins=[42])
    assert staffing.is_admin and staffing.scopes() == [None]


async def test_two_simultaneous_redemptions_one_wins(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        invite = await InviteRepo(session).create(
            role=Role.WORKER, node=tree.grid, created_by=1, now=clock.now()
        )
        await session.commit()

    async def redeem(user_id: int) -> InviteProblem | None:
        async with sessionmaker() as session:
            _, problem = await InviteRepo(session).redeem(
                invite.token, user_id=user_id, now=clock.now()
            )
            await session.commit()
            return problem

    results = await asyncio.gather(redeem(11), redeem(12))
    assert sorted(results, key=str) == sorted([None, InviteProblem.USED], key=str)
    async with sessionmaker() as session:
        holders = await StaffRepo(session).holders(Role.WORKER, [tree.grid.id])
    assert len(holders) == 1


async def test_expiry(sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        repo = InviteRepo(session)
        invite = await repo.create(
            role=Role.WORKER, node=tree.grid, created_by=1, now=clock.now(), ttl=timedelta(hours=1)
        )
        _, problem = await repo.redeem(
            invite.token, user_id=5, now=clock.now() + timedelta(hours=2)
        )
    assert problem is InviteProblem.EXPIRED


async def test_times_come_back_aware_and_utc(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    moment = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)
    async with sessionmaker() as session:
        await UserRepo(session).touch(
            user_id=9,
            first_name="x",
            last_name=None,
            username=None,
            telegram_language=None,
            now=moment,
        )
        await session.commit()
    async with sessionmaker() as session:
        user = await session.get(User, 9)
        assert user is not None and user.created_at == moment and user.created_at.tzinfo is not None
