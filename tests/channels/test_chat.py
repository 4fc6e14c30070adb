"""/channels in the chat: an admin makes a channel for a district or street and sees its
key once, in a message of its own; rotating replaces it, revoking stops it; nobody but
an admin reaching the channel's node sees or manages it."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.audit import AuditEntry
from storage.channels.models import Channel
from storage.roles import Role
from tests.channels.conftest import Open311
from tests.harness import Harness, World

KEY = re.compile(r"g311_[A-Za-z0-9_-]{32}")


def _keys(harness: Harness, user_id: int) -> list[str]:
    return [k for m in harness.emu.chat(user_id).bot_messages for k in KEY.findall(m.text or "")]


async def test_an_admin_makes_a_channel_sees_its_key_once_rotates_and_revokes(
    harness: Harness, world: World, api: Open311
) -> None:
    admin = await world.staff(Role.ADMIN, None, "管理员")
    await harness.command(admin, "channels")
    assert "外部渠道" in harness.last_text(admin)
    await harness.press_key(admin, "channel.chat.new")
    await harness.press(admin, "街道 · 宁海街道")
    await harness.text(admin, "12345 热线")
    [key] = _keys(harness, admin.id)
    texts = harness.texts(admin)
    assert "只显示这一次" in texts[-2] and "12345 热线" in harness.last_text(admin)
    assert "宁海街道" in harness.last_text(admin)
    assert key not in harness.last_text(admin)  # the card shows only its first characters
    assert key[:9] in harness.last_text(admin)
    assert (await api.get("/requests.json", api_key=key)).status == 200

    await harness.press_key(admin, "channel.chat.rotate")
    await harness.press_key(admin, "channel.chat.sure")
    old, new = _keys(harness, admin.id)
    assert old == key and new != key
    assert (await api.get("/requests.json", api_key=key)).status == 403
    assert (await api.get("/requests.json", api_key=new)).status == 200

    await harness.press_key(admin, "channel.chat.revoke")
    await harness.press_key(admin, "channel.chat.sure")
    assert "已停用" in harness.last_text(admin)
    assert not harness.has_button(admin, "channel.chat.rotate")
    assert (await api.get("/requests.json", api_key=new)).status == 403
    assert harness.emu.errors == []

    async with harness.app.services() as s:
        channel = (await s.session.execute(select(Channel))).scalar_one()
        assert key not in repr(channel.__dict__) and new not in repr(channel.__dict__)
        actions = (
            (
                await s.session.execute(
                    select(AuditEntry.action).where(AuditEntry.actor_id == admin.id)
                )
            )
            .scalars()
            .all()
        )
    assert list(actions) == ["channel.create", "channel.rotate", "channel.revoke"]


async def test_only_admins_reaching_the_node_see_or_manage_a_channel(
    harness: Harness, world: World
) -> None:
    tree = world.tree
    admin = await world.staff(Role.ADMIN, None, "管理员")
    await harness.command(admin, "channels")
    await harness.press_key(admin, "channel.chat.new")
    await harness.press(admin, "区 · 牟平区")
    await harness.text(admin, "区政府网站")
    detail = harness.last(admin)

    community_admin = await world.staff(Role.ADMIN, tree.other_community, "社区管理员")
    await harness.command(community_admin, "channels")
    assert "还没有渠道" in harness.last_text(community_admin)
    # A forged press of the district's channel from the list reads as missing.
    await harness.press_key(community_admin, "channel.chat.new")
    assert not any("牟平区" in b for b in harness.buttons(community_admin))

    staff = await world.staff(Role.DISTRICT_STAFF, tree.district, "区指挥中心")
    await harness.command(staff, "channels")
    assert harness.last_text(staff) == harness.label(staff, "channel.chat.problem.not_allowed")

    # The admin's own buttons replayed by another person do nothing to the channel.
    rotate = next(
        data
        for row in harness.emu.chat(admin.id).inline_buttons()
        for text, data in row
        if text == harness.label(admin, "channel.chat.rotate")
    )
    await harness.press_data(community_admin, detail.message_id, rotate, forged=True)
    assert len(_keys(harness, admin.id)) == 1
    assert _keys(harness, community_admin.id) == []
