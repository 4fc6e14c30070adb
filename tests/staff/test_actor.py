"""Who sends an update, read in one statement (StaffRepo.actor): the same row and grants
as the user repository and StaffRepo.staffing give separately, for residents, staff with
revoked and live grants, configured admins and strangers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.roles import Role, StaffRepo
from storage.users import UserRepo
from tests.factories import build_tree

ADMIN = 9_000_001


def described(staffing_grants: tuple[object, ...]) -> list[str]:
    return [
        f"{g.role.value}@{g.node.code if g.node else '*'}"  # type: ignore[attr-defined]
        for g in staffing_grants
    ]


async def test_the_actor_equals_the_row_and_the_grants_read_apart(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    now = clock.now()
    async with sessionmaker() as session:
        users, staff = UserRepo(session), StaffRepo(session)
        for user_id, name in ((1, "王秀英"), (2, "李网格"), (ADMIN, "区管理员")):
            await users.touch(
                user_id=user_id,
                first_name=name,
                last_name=None,
                username=None,
                telegram_language="zh",
                now=now,
            )
        await staff.grant(user_id=2, role=Role.WORKER, node=tree.grid, granted_by=None, now=now)
        old = await staff.grant(
            user_id=2, role=Role.WORKER, node=tree.grid2, granted_by=None, now=now
        )
        await staff.grant(
            user_id=2, role=Role.COMMUNITY_STAFF, node=tree.community, granted_by=None, now=now
        )
        old.revoked_at = now
        # A grant for someone who has no row yet (nothing ties the two tables).
        await staff.grant(
            user_id=3, role=Role.WORKER, node=tree.other_grid, granted_by=None, now=now
        )
        await session.commit()

    for user_id in (1, 2, 3, 4, ADMIN):
        async with sessionmaker() as session:
            user, staffing = await StaffRepo(session).actor(user_id, config_admins=[ADMIN])
            apart = await StaffRepo(session).staffing(user_id, config_admins=[ADMIN])
            row = await UserRepo(session).get(user_id)
        assert user is row
        assert staffing.user_id == user_id
        assert described(staffing.grants) == described(apart.grants)

    async with sessionmaker() as session:
        user, staffing = await StaffRepo(session).actor(2)
    assert user is not None and user.first_name == "李网格"
    assert described(staffing.grants) == ["worker@D-S-C1-G1", "community_staff@D-S-C1"]
    async with sessionmaker() as session:
        nobody, none = await StaffRepo(session).actor(4)
        admin, configured = await StaffRepo(session).actor(ADMIN, config_admins=[ADMIN])
    assert (nobody, none.grants) == (None, ())
    assert admin is not None and described(configured.grants) == ["admin@*"]
