"""Staff invites, scopes, revocation and role-specific command menus."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import set_default_commands
from emulator import BotAPIEmulator
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.roles import Role, StaffRepo
from storage.staff.invites import InviteRepo
from storage.staff.models import Invite
from tests.conftest import ADMIN_ID, BOT_USERNAME
from tests.factories import Tree, build_tree
from tests.harness import Harness

LINK_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=(i_[A-Za-z0-9_-]+)")


async def _invite_worker_for_grid(harness: Harness, emu: BotAPIEmulator) -> str:
    admin = emu.add_user(user_id=ADMIN_ID, first_name="管理员")
    await harness.command(admin, "invite")
    await harness.press(admin, "网格员")
    for step in ("牟平区", "宁海街道", "通海社区", "第一网格"):
        await harness.press(admin, step)
    await harness.press(admin, "选择这里")
    match = LINK_RE.search(harness.last_text(admin))
    assert match, harness.last_text(admin)
    assert len(match.group(1)) <= 64
    return match.group(1)


async def _roles(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> set[str]:
    async with sessionmaker() as session:
        staffing = await StaffRepo(session).staffing(user_id)
        return {f"{g.role.value}@{g.node.code if g.node else '*'}" for g in staffing.grants}


async def test_admin_invites_a_grid_worker(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_tree(sessionmaker, clock)
    payload = await _invite_worker_for_grid(harness, emu)

    worker = emu.add_user(user_id=2001, first_name="网格员小王")
    await harness.command(worker, "start", payload)

    assert any("您现在是 网格员" in t for t in harness.texts(worker))
    assert await _roles(sessionmaker, 2001) == {"worker@D-S-C1-G1"}
    # The worker's own command menu, set for their chat.
    assert [c["command"] for c in emu.chat(2001).commands] == [
        "menu",
        "tasks",
        "stats",
        "order",
        "web",
        "partner",
        "council",
        "privacy",
        "settings",
        "language",
        "help",
    ]
    async with sessionmaker() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "staff.invite" in actions and "staff.join" in actions
    assert emu.errors == []


async def test_invite_works_once(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_tree(sessionmaker, clock)
    payload = await _invite_worker_for_grid(harness, emu)
    first = emu.add_user(user_id=2002, first_name="甲")
    second = emu.add_user(user_id=2003, first_name="乙")
    await harness.command(first, "start", payload)
    await harness.command(second, "start", payload)
    assert any("已经被使用过了" in t for t in harness.texts(second))
    assert await _roles(sessionmaker, 2003) == set()
    assert await _roles(sessionmaker, 2002) == {"worker@D-S-C1-G1"}


async def test_expired_and_revoked_invites(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        repo = InviteRepo(session)
        old = await repo.create(
            role=Role.COMMUNITY_STAFF, node=tree.community, created_by=ADMIN_ID, now=clock.now()
        )
        await session.commit()
    clock.advance(timedelta(days=8))
    late = emu.add_user(user_id=2004, first_name="丙")
    await harness.command(late, "start", f"i_{old.token}")
    assert any("已过期" in t for t in harness.texts(late))

    admin = emu.add_user(user_id=ADMIN_ID, first_name="管理员")
    async with sessionmaker() as session:
        fresh = await InviteRepo(session).create(
            role=Role.COMMUNITY_STAFF, node=tree.community, created_by=ADMIN_ID, now=clock.now()
        )
        await session.commit()
    await harness.command(admin, "staff")
    await harness.press(admin, "未使用的邀请")
    await harness.press(admin, "社区工作者 · 宁海街道 › 通海社区")
    assert "邀请已撤销" in emu.chat(ADMIN_ID).callback_answers[-1]["text"]
    await harness.command(late, "start", f"i_{fresh.token}")
    assert any("已被撤销" in t for t in harness.texts(late))
    assert await _roles(sessionmaker, 2004) == set()

    await harness.command(late, "start", "i_notarealtoken")
    assert "邀请链接无效" in harness.last_text(late)


async def test_admin_lists_and_revokes_staff(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_tree(sessionmaker, clock)
    await set_default_commands(harness.bot, harness.app.registry)
    payload = await _invite_worker_for_grid(harness, emu)
    worker = emu.add_user(user_id=2005, first_name="小李")
    await harness.command(worker, "start", payload)
    admin = emu.chat(ADMIN_ID).user

    # The admin hears that the invite was used, and by whom.
    assert any("小李" in t and "已通过您的邀请" in t for t in harness.texts(admin))

    await harness.command(admin, "staff")
    # The community is named: two 第一网格 can be told apart.
    assert any("小李 · 网格员 · 通海社区 › 第一网格" in b for b in harness.buttons(admin))
    await harness.press(admin, "小李 · 网格员")
    assert "2005" in harness.last_text(admin)
    await harness.press(admin, "撤销此职务")
    # One tap is not enough: it asks first, and cancelling changes nothing.
    assert "确定要撤销" in harness.last_text(admin)
    await harness.press(admin, "取消")
    assert await _roles(sessionmaker, 2005) == {"worker@D-S-C1-G1"}
    await harness.press(admin, "撤销此职务")
    await harness.press(admin, "确定撤销")

    assert await _roles(sessionmaker, 2005) == set()
    assert "已被管理员撤销" in harness.last_text(worker)  # the person is told
    assert not any("小李" in b for b in harness.buttons(admin))
    # Back to the resident menu: the chat-scoped staff menu is removed.
    assert [c["command"] for c in emu.chat(2005).commands] == [
        "start",
        "menu",
        "new",
        "sos",
        "appeals",
        "order",
        "partner",
        "showcase",
        "council",
        "building",
        "privacy",
        "settings",
        "language",
        "help",
    ]


async def test_command_menus_differ_by_role(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree: Tree = await build_tree(sessionmaker, clock)
    await set_default_commands(harness.bot, harness.app.registry)
    resident = emu.add_user(user_id=2006, first_name="居民")
    english = emu.add_user(user_id=2007, first_name="Tom", language_code="en")
    assert "building" in [c["command"] for c in emu.chat(2006).commands]
    assert emu.chat(2007).commands[1]["description"] == "Main menu"
    assert emu.chat(2006).commands[1]["description"] == "主菜单"

    async with sessionmaker() as session:
        invite = await InviteRepo(session).create(
            role=Role.ADMIN, node=tree.street, created_by=ADMIN_ID, now=clock.now()
        )
        await session.commit()
    await harness.command(english, "start", f"i_{invite.token}")
    assert [c["command"] for c in emu.chat(2007).commands] == [
        "menu",
        "tasks",
        "stats",
        "web",
        "notice",
        "notices",
        "invite",
        "staff",
        "channels",
        "partner",
        "partners",
        "council",
        "settings",
        "language",
        "help",
    ]
    assert emu.chat(2007).commands[6]["description"] == "Invite staff"
    await harness.command(resident, "help")
    assert "居民帮助" in harness.last_text(resident)
    await harness.command(english, "help")
    assert "help for admins" in harness.last_text(english)


async def test_buttons_and_commands_refused_to_those_who_may_not_use_them(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    resident = emu.add_user(user_id=2008, first_name="居民甲")
    await harness.command(resident, "invite")
    assert "没有权限" in harness.last_text(resident)

    # A street-level admin may not invite outside their street: forging the node button of
    # a node they cannot see changes nothing.
    async with sessionmaker() as session:
        repo = InviteRepo(session)
        invite = await repo.create(
            role=Role.ADMIN, node=tree.community, created_by=ADMIN_ID, now=clock.now()
        )
        await session.commit()
    admin = emu.add_user(user_id=ADMIN_ID, first_name="管理员")
    emu.world.chats[ADMIN_ID].opened = True  # the admin who made the invite uses the bot
    scoped = emu.add_user(user_id=2009, first_name="社区管理员")
    await harness.command(scoped, "start", f"i_{invite.token}")
    await harness.command(scoped, "invite")
    await harness.press(scoped, "网格员")
    menu = emu.chat(2009).last_bot_message
    assert menu is not None
    assert harness.buttons(scoped)[0] == "通海社区"  # only their own scope is offered
    own_button = next(
        data for row in emu.chat(2009).inline_buttons() for text, data in row if text == "通海社区"
    )
    assert own_button is not None
    prefix, _ = own_button.rsplit(":", 1)
    forged = f"{prefix}:{tree.other_community.id}"
    await harness.press_data(scoped, menu.message_id, forged, forged=True)
    assert "没有权限" in emu.chat(2009).callback_answers[-1]["text"]

    # The resident replays the admin's button: the dialog is not theirs, nothing happens.
    await harness.command(admin, "invite")
    admin_menu = emu.chat(ADMIN_ID).last_bot_message
    assert admin_menu is not None
    role_button = next(
        data
        for row in emu.chat(ADMIN_ID).inline_buttons()
        for text, data in row
        if text == "管理员"
    )
    assert role_button is not None
    resident_msg = emu.chat(2008).last_bot_message
    assert resident_msg is not None
    await harness.press_data(resident, resident_msg.message_id, role_button, forged=True)
    async with sessionmaker() as session:
        invites = (await session.execute(select(Invite))).scalars().all()
    assert len(invites) == 1  # only the one created above
    assert "菜单已更新" in emu.chat(2008).callback_answers[-1]["text"]
    assert "您好" in harness.last_text(resident)  # back at their own main menu
    # aiogram-dialog may try to strip a keyboard the forged message never had; Telegram
    # answers "not modified" and the bot carries on.
    assert all("not modified" in (r.error or "") for r in emu.errors), emu.errors


async def test_start_up_gives_every_staff_member_their_menu(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    from bot.commands import refresh_staff_commands

    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        await StaffRepo(session).grant(
            user_id=2010, role=Role.WORKER, node=tree.grid, granted_by=None, now=clock.now()
        )
        await session.commit()
    for user_id in (2010, ADMIN_ID):
        emu.send_text(emu.add_user(user_id=user_id, first_name="员工"), "/start", queue=False)

    count = await refresh_staff_commands(
        harness.bot, harness.app.registry, sessionmaker, harness.app.sender, harness.app.settings
    )

    assert count == 2
    assert [c["command"] for c in emu.chat(2010).commands][:2] == ["menu", "tasks"]
    assert "invite" in [c["command"] for c in emu.chat(ADMIN_ID).commands]
    assert emu.errors == []
