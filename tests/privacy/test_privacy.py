"""/privacy: what is stored is shown, and deleting it reaches every feature through its
forget hook: the person is gone, what the community must keep is kept unlinked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from storage.appeals import Appeal, AppealEvent, AppealPolicy, AppealService, Draft
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo
from storage.users import User
from tests.factories import build_tree
from tests.harness import Harness


async def _user(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> User | None:
    async with sessionmaker() as session:
        return await session.get(User, user_id)


async def test_privacy_shows_and_deletes_data(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1008, first_name="刘洋", username="liuyang")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")

    await harness.command(resident, "privacy")
    shown = harness.last_text(resident)
    assert "1008" in shown and "刘洋" in shown and "@liuyang" in shown and "1号楼" in shown

    async with sessionmaker() as session:
        building = await HierarchyRepo(session).get(tree.building.id)
        assert building is not None
        filed = await AppealService(
            session, harness.app.config.get(AppealPolicy), clock.now()
        ).file(
            1008,
            building,
            Draft(
                category="sanitation",
                text="楼道堆物",
                contact_phone="+86138",
                latitude=37.4,
                longitude=121.6,
            ),
        )
        await session.commit()
    await harness.deliver()
    await harness.command(resident, "privacy")
    assert "诉求：1 件" in harness.last_text(resident)

    await harness.press(resident, "删除我的数据")
    assert "确定要删除" in harness.last_text(resident)
    await harness.press(resident, "确定删除")
    assert "已删除" in harness.last_text(resident)
    assert await _user(sessionmaker, 1008) is None
    async with sessionmaker() as session:
        kept = await session.get(Appeal, filed.id)
        # The community keeps the record of the problem, no longer linked to the person.
        assert kept is not None and kept.text == "楼道堆物"
        assert (kept.resident_id, kept.contact_phone, kept.latitude) == (None, None, None)
        actors = (
            (
                await session.execute(
                    select(AppealEvent.actor_id).where(AppealEvent.appeal_id == filed.id)
                )
            )
            .scalars()
            .all()
        )
        assert 1008 not in actors

    await harness.command(resident, "privacy")
    assert "没有保存您的任何信息" in harness.last_text(resident)
