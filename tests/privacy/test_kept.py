"""/privacy names every kind of data kept about the person, from the same list each
feature's forget hook works through: a ballot, a +1 and an RSVP are named as appeals
are, deleting leaves none of them, and a hook that touches a kind the screen does not
name (or the other way round) fails here."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.features import FEATURES
from bot.registry import Registry
from storage.clock import ManualClock
from storage.council import CouncilPolicy, CouncilService
from storage.council.models import Answer
from storage.privacy.forget import forget_user
from storage.roles import Role
from storage.users import User
from tests.harness import Harness, World

# What forget_user itself removes, shown in the screen's first block (name, roles).
PERSON = {"users.id", "role_assignments.user_id"}
TOUCHED = re.compile(r"^(?:UPDATE|DELETE FROM) (\w+)\b.*?\bWHERE (\w+)\.(\w+) =", re.S | re.I)


async def test_privacy_names_ballots_supports_and_rsvps_and_deleting_removes_them(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    resident = await world.resident("于美华")
    neighbour = await world.resident("姜海燕")
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    async with harness.app.services() as s:
        service = CouncilService(s.session, s.now(), CouncilPolicy())
        meeting = await service.next_meeting(world.tree.community.id)
        me, other = await s.session.get(User, resident.id), await s.session.get(User, neighbour.id)
        assert me is not None and other is not None
        topic = await service.propose(meeting.id, other, "楼道加装扶手")
        await service.support(topic.id, me)
        await service.rsvp(meeting.id, me, Answer.YES)
        vote = await service.open_vote(await s.staff.staffing(officer.id), meeting.id, "加装扶手？")
        await service.cast(vote.id, me, 0)
    await harness.deliver()

    await harness.command(resident, "privacy")
    shown = harness.last_text(resident)
    for line in ("为议题 +1：1 次", "表决投票：1 次", "会议报名回复：1 条"):
        assert line in shown, shown
    # Kinds the person has none of are not listed.
    assert "服务订单" not in shown and "议事会议题" not in shown

    await harness.press(resident, "删除我的数据")
    await harness.press(resident, "确定删除")
    assert "已删除" in harness.last_text(resident)
    async with harness.app.services() as s:
        left = [k.label for k in harness.app.registry.held() if await k.count(s.session, me.id)]
    assert left == []


async def test_every_kind_forgotten_is_named_and_every_kind_named_is_forgotten(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    registry = Registry(FEATURES)
    named = {k.where for k in registry.held()}
    assert len(named) == len(registry.held()), "a kind listed twice"
    touched: set[str] = set()

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        match = TOUCHED.match(statement.strip())
        if match:
            table, where_table, column = match.groups()
            assert table == where_table, statement
            touched.add(f"{table}.{column}")

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with sessionmaker() as session:
            await forget_user(session, 4242, registry.forget_hooks())
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert touched - PERSON == named
