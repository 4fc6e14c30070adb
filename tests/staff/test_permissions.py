"""Every staff screen checks who is asking, whatever buttons were shown: a resident or an
admin of another node who sends a hidden or forged button's data learns nothing about
anyone and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.roles import Role, RoleAssignment
from tests.harness import Harness, World


async def _assignment_of(harness: Harness, user_id: int) -> int:
    async with harness.app.services() as s:
        row = await s.session.scalar(
            select(RoleAssignment.id).where(RoleAssignment.user_id == user_id)
        )
        assert row is not None
        return int(row)


async def test_a_resident_cannot_open_any_staff_screen(harness: Harness, world: World) -> None:
    resident = await world.resident()
    await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    await harness.command(resident, "menu")
    menu = harness.last(resident)
    file_data = next(
        d
        for row in menu.inline_buttons()
        for t, d in row
        if t == harness.label(resident, "menu.file_appeal")
    )
    assert file_data is not None
    for hidden in ("staff", "invite", "tasks", "stats", "profile"):
        await harness.press_data(
            resident, menu.message_id, file_data.replace(":file", f":{hidden}"), forged=True
        )
        answer = harness.emu.chat(resident.id).callback_answers[-1]["text"]
        assert answer == harness.label(resident, "common.not_allowed"), hidden
    # Nothing of the staff reached the resident's chat.
    assert not any("赵丽娟" in t or "网格员" in t for t in harness.texts(resident))
    for command in ("staff", "invite", "tasks", "stats"):
        await harness.command(resident, command)
        assert "没有权限" in harness.last_text(resident), command
    assert harness.emu.errors == []


async def test_an_admin_of_another_node_cannot_see_or_revoke_their_staff(
    harness: Harness, world: World
) -> None:
    theirs = await world.staff(Role.WORKER, world.tree.other_grid, "正阳网格员")
    ours = await world.staff(Role.WORKER, world.tree.grid, "通海网格员")
    admin = await world.staff(Role.ADMIN, world.tree.community, "通海管理员")
    await harness.command(admin, "staff")
    listed = " ".join(harness.buttons(admin))
    assert "通海网格员" in listed and "正阳网格员" not in listed

    # Forge the member button with the other community's worker.
    screen = harness.last(admin)
    own_row = next(
        d for row in screen.inline_buttons() for t, d in row if t.startswith("通海网格员")
    )
    assert own_row is not None and own_row.endswith(f":{await _assignment_of(harness, ours.id)}")
    forged = own_row.rsplit(":", 1)[0] + f":{await _assignment_of(harness, theirs.id)}"
    await harness.press_data(admin, screen.message_id, forged, forged=True)
    answer = harness.emu.chat(admin.id).callback_answers[-1]["text"]
    assert answer == harness.label(admin, "common.not_allowed")
    assert not any(str(theirs.id) in t for t in harness.texts(admin))
    async with harness.app.services() as s:
        revoked = await s.session.scalar(
            select(RoleAssignment.revoked_at).where(RoleAssignment.user_id == theirs.id)
        )
    assert revoked is None
    assert harness.emu.errors == []


async def test_the_first_menu_after_an_invite_shows_the_new_role(
    harness: Harness, world: World
) -> None:
    admin = await world.staff(Role.ADMIN, None, "管理员")
    await harness.command(admin, "invite")
    await harness.press(admin, "网格员")
    await harness.press(admin, "牟平区")
    await harness.press(admin, "宁海街道")
    await harness.press(admin, "通海社区")
    await harness.press(admin, "第一网格")
    await harness.press(admin, "选择这里")
    link = next(t for t in reversed(harness.texts(admin)) if "start=i_" in t)
    payload = link.split("start=", 1)[1].split()[0]
    newcomer = harness.emu.add_user(user_id=88001, first_name="新网格员", language_code="zh-hans")
    await harness.command(newcomer, "start", payload)
    # Straight away, not only after /menu.
    assert harness.has_button(newcomer, "menu.tasks")
    assert harness.has_button(newcomer, "menu.stats")
    assert harness.emu.errors == []
