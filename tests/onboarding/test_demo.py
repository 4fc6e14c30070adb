"""`gridbot seed --demo`: the demo hierarchy and people, idempotent."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import ManualClock
from storage.demo import DEMO_PERSONAS, DEMO_USER_ID_BASE, demo_rows, seed_demo
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.roles import Role, RoleAssignment, StaffRepo
from storage.users import User


async def counts(session: AsyncSession) -> tuple[Counter[str], int, int]:
    kinds = Counter(
        {
            k: int(n)
            for k, n in await session.execute(select(Node.kind, func.count()).group_by(Node.kind))
        }
    )
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    roles = (await session.execute(select(func.count()).select_from(RoleAssignment))).scalar_one()
    return kinds, int(users), int(roles)


def test_demo_rows_shape() -> None:
    rows = demo_rows()
    kinds = Counter(r.kind for r in rows)
    assert kinds[NodeKind.DISTRICT] == 1 and kinds[NodeKind.STREET] == 2
    assert 4 <= kinds[NodeKind.COMMUNITY] <= 5
    assert kinds[NodeKind.GRID] == 2 * kinds[NodeKind.COMMUNITY]
    per_grid = Counter(r.parent_code for r in rows if r.kind is NodeKind.BUILDING)
    assert set(per_grid.values()) <= {3, 4}
    assert all(48 <= (r.households or 0) <= 80 for r in rows if r.kind is NodeKind.BUILDING)
    assert len({r.code for r in rows}) == len(rows)


async def test_seeding_twice_gives_the_same_counts(
    session: AsyncSession, clock: ManualClock
) -> None:
    first = await seed_demo(session, clock.now())
    await session.commit()
    after_first = await counts(session)
    tokens = dict((await session.execute(select(Node.code, Node.qr_token))).all())

    second = await seed_demo(session, clock.now())
    await session.commit()

    assert first == second == DEMO_PERSONAS
    assert await counts(session) == after_first
    assert dict((await session.execute(select(Node.code, Node.qr_token))).all()) == tokens
    kinds, users, roles = after_first
    assert kinds["building"] == sum(1 for r in demo_rows() if r.kind is NodeKind.BUILDING)
    assert users == len(DEMO_PERSONAS)
    assert roles == sum(1 for p in DEMO_PERSONAS if p.role != "resident")


async def test_personas_are_what_they_claim(session: AsyncSession, clock: ManualClock) -> None:
    personas = await seed_demo(session, clock.now())
    await session.commit()
    repo, staff = HierarchyRepo(session), StaffRepo(session)
    roles = Counter(p.role for p in personas)
    assert roles["resident"] >= 4
    assert roles["worker"] == 4  # one per grid of the first two communities
    assert roles["community_staff"] == sum(1 for r in demo_rows() if r.kind is NodeKind.COMMUNITY)
    assert roles["street_staff"] == roles["district_staff"] == roles["admin"] == 1
    residents = [p for p in personas if p.role == "resident"]
    assert len({p.building_code for p in residents}) == len(residents)
    assert len({p.user_id for p in personas}) == len(personas)

    for persona in personas:
        assert persona.user_id > DEMO_USER_ID_BASE
        user = await session.get(User, persona.user_id)
        assert user is not None and user.first_name == persona.name
        assert re.search(r"[\u4e00-\u9fff]", user.first_name)
        assert user.consent_at is not None and user.phone == persona.phone
        assert persona.phone and re.fullmatch(r"\+86138\d{8}", persona.phone)
        if persona.building_code is not None:
            building = await repo.by_code(persona.building_code)
            assert building is not None and building.kind == NodeKind.BUILDING
            assert user.building_id == building.id
        staffing = await staff.staffing(persona.user_id)
        if persona.role == "resident":
            assert not staffing.is_staff
            assert persona.building_code is not None
            continue
        assert [g.role for g in staffing.grants] == [Role(persona.role)]
        grant = staffing.grants[0]
        if persona.scope_code is None:
            assert persona.role == "admin" and grant.node is None
            continue
        assert grant.node is not None and grant.node.code == persona.scope_code
        assert grant.node.kind == Role(persona.role).scope_kind

    # The workers serve both grids of each of the first two communities.
    worker_grids = {p.scope_code for p in personas if p.role == "worker"}
    first_two = [r.code for r in demo_rows() if r.kind is NodeKind.COMMUNITY][:2]
    grids = {r.code for r in demo_rows() if r.kind is NodeKind.GRID and r.parent_code in first_two}
    assert worker_grids == grids
