"""Resident onboarding through the real dispatcher and the emulator: QR deep link,
menus, bad links, declined consent, changing building, privacy and deletion."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, NodeKind
from storage.users import User
from tests.factories import build_tree
from tests.harness import Harness


async def _user(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> User | None:
    async with sessionmaker() as session:
        return await session.get(User, user_id)


async def test_qr_deep_link_binds_after_consent(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1001, first_name="王芳", language_code="zh-hans")

    await harness.command(resident, "start", f"b_{tree.building.qr_token}")

    shown = harness.last_text(resident)
    assert "保存什么" in shown and "如何删除" in shown  # the privacy notice comes first
    assert "1号楼" in shown and "通海社区" in shown
    assert await _user(sessionmaker, 1001) is None  # nothing stored before consent

    await harness.press(resident, "同意并继续")

    user = await _user(sessionmaker, 1001)
    assert user is not None and user.building_id == tree.building.id
    assert user.consent_at == clock.now()
    menu = harness.last_text(resident)
    assert "已绑定到" in menu and "牟平区 › 宁海街道 › 通海社区 › 第一网格 › 1号楼" in menu
    buttons = " ".join(harness.buttons(resident))
    # The menu opened by the binding update already knows the building.
    assert "更换楼栋" in buttons and "提交诉求" in buttons and "一键呼叫" in buttons
    assert "还没有绑定楼栋" not in menu
    assert emu.errors == []


async def test_menus_pick_community_grid_building(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1002, first_name="李强", language_code="zh-hans")

    await harness.command(resident, "start")
    await harness.press(resident, "同意并继续")
    assert "社区" in harness.last_text(resident)
    assert any("正阳社区" in b for b in harness.buttons(resident))

    await harness.press(resident, "通海社区")
    assert set(harness.buttons(resident)) >= {"第一网格", "第二网格"}
    await harness.press(resident, "第二网格")
    await harness.press(resident, "3号楼")

    user = await _user(sessionmaker, 1002)
    assert user is not None and user.building_id == tree.building3.id
    assert "3号楼" in harness.last_text(resident)
    assert emu.errors == []


async def test_back_button_returns_to_previous_level(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1003, first_name="张伟")
    await harness.command(resident, "start")
    await harness.press(resident, "同意并继续")
    await harness.press(resident, "正阳社区")
    await harness.press(resident, "返回")
    assert any("通海社区" in b for b in harness.buttons(resident))


async def test_long_lists_are_paged(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        grid = await repo.get(tree.grid.id)
        for i in range(1, 31):
            await repo.create(
                kind=NodeKind.BUILDING,
                code=f"X-{i}",
                name=f"{i + 100}号楼",
                parent=grid,
                now=clock.now(),
            )
        await session.commit()
    resident = emu.add_user(user_id=1004, first_name="赵敏")
    await harness.command(resident, "start")
    await harness.press(resident, "同意并继续")
    await harness.press(resident, "通海社区")
    await harness.press(resident, "第一网格")

    first_page = harness.buttons(resident)
    assert len([b for b in first_page if b.endswith("号楼")]) == 16  # 8 rows of 2
    assert "1/2" in first_page  # where one is, not aiogram-dialog's "1 < 1 > 2"
    await harness.press(resident, "1/2")  # the current page: nothing to re-send
    assert emu.errors == []
    await harness.press(resident, "下一页")
    second_page = harness.buttons(resident)
    assert set(second_page) != set(first_page)
    await harness.press(resident, "120号楼")
    user = await _user(sessionmaker, 1004)
    assert user is not None and user.building_id is not None
    async with sessionmaker() as session:
        building = await HierarchyRepo(session).get(user.building_id)
        assert building is not None and building.name == "120号楼"


async def test_broken_and_unknown_payloads_fall_back_to_menus(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1005, first_name="陈静")
    for payload in ("b_doesnotexist", "b_", "zz_1", "b_" + "x" * 62):
        await harness.command(resident, "start", payload)
        assert "二维码链接无效" in harness.last_text(resident)
    await harness.press(resident, "同意并继续")
    assert any("通海社区" in b for b in harness.buttons(resident))
    assert emu.errors == []


async def test_declining_consent_stores_nothing(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1006, first_name="周洁")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "不同意")
    assert "没有保存" in harness.last_text(resident)
    assert await _user(sessionmaker, 1006) is None


async def test_change_building_by_menu_and_by_scanning(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1007, first_name="孙丽")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")

    await harness.press(resident, "更换楼栋")
    await harness.press(resident, "正阳社区")
    await harness.press(resident, "第一网格")
    await harness.press(resident, "8号楼")
    user = await _user(sessionmaker, 1007)
    assert user is not None and user.building_id == tree.other_building.id

    # Scanning another building's code asks before switching.
    await harness.command(resident, "start", f"b_{tree.building2.qr_token}")
    assert "2号楼" in harness.last_text(resident) and "8号楼" in harness.last_text(resident)
    await harness.press(resident, "保持不变")
    user = await _user(sessionmaker, 1007)
    assert user is not None and user.building_id == tree.other_building.id
    await harness.command(resident, "start", f"b_{tree.building2.qr_token}")
    await harness.press(resident, "更换")
    user = await _user(sessionmaker, 1007)
    assert user is not None and user.building_id == tree.building2.id

    async with sessionmaker() as session:
        changes = (
            await session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "resident.change_building")
            )
        ).scalar_one()
    assert changes == 2


async def test_user_text_is_escaped_in_html(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=1009, first_name="<b>Bobby & <i>", username="x")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")
    assert "<b>Bobby & <i>" in harness.last_text(resident)
    assert emu.errors == []
