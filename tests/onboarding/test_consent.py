"""Nothing about a person is stored before they agree to the privacy notice, whichever way
they come in, and someone who has not started is never met with silence."""

from __future__ import annotations

from storage.users import User
from tests.harness import Harness, World


async def _stored(harness: Harness, user_id: int) -> User | None:
    async with harness.app.services() as s:
        return await s.users.get(user_id)


async def test_changing_building_from_the_menu_asks_for_consent_first(
    harness: Harness, world: World
) -> None:
    newcomer = harness.emu.add_user(user_id=77001, first_name="新来的", language_code="zh-hans")
    await harness.command(newcomer, "menu")
    await harness.press_key(newcomer, "menu.change_building")
    assert "在开始之前，请了解我们如何处理您的信息" in harness.last_text(newcomer)
    assert await _stored(harness, newcomer.id) is None
    await harness.press_key(newcomer, "onboarding.agree")
    await harness.press(newcomer, "通海社区")
    await harness.press(newcomer, "第一网格")
    await harness.press(newcomer, "1号楼")
    user = await _stored(harness, newcomer.id)
    assert user is not None and user.consent_at is not None
    assert user.building_id == world.tree.building.id
    assert harness.emu.errors == []


async def test_building_command_and_forged_picks_never_bind_without_consent(
    harness: Harness, world: World
) -> None:
    newcomer = harness.emu.add_user(user_id=77002, first_name="路人", language_code="zh-hans")
    await harness.command(newcomer, "building")
    assert "在开始之前" in harness.last_text(newcomer)
    notice = harness.last(newcomer)
    agree = next(d for row in notice.inline_buttons() for t, d in row if "同意" in t)
    assert agree is not None
    # A forged "pick this building" on the notice is refused by the dialog.
    intent = agree.split("\x1d", 1)[0]
    await harness.press_data(
        newcomer, notice.message_id, f"{intent}\x1dbuilding:{world.tree.building.id}", forged=True
    )
    assert await _stored(harness, newcomer.id) is None
    assert harness.emu.errors == []


async def test_text_from_someone_who_has_not_started_gets_the_notice(
    harness: Harness, world: World
) -> None:
    stranger = harness.emu.add_user(user_id=77003, first_name="陌生人", language_code="zh-hans")
    await harness.text(stranger, "你好，我家楼道灯坏了")
    assert "在开始之前" in harness.last_text(stranger)
    assert harness.has_button(stranger, "onboarding.agree")
    assert await _stored(harness, stranger.id) is None

    # Someone who did start and types outside any form gets the menu, not silence.
    resident = await world.resident()
    await harness.text(resident, "在吗")
    assert harness.has_button(resident, "menu.file_appeal")
    assert any("没看懂" in t for t in harness.texts(resident))
    assert harness.emu.errors == []
