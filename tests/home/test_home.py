"""Home: the language of every text follows Telegram or /language, and /help speaks it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.roles import Role
from storage.users import User
from tests.factories import build_tree
from tests.harness import Harness, World


async def _user(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> User | None:
    async with sessionmaker() as session:
        return await session.get(User, user_id)


async def test_english_follows_telegram_and_language_command(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    en_user = emu.add_user(user_id=1010, first_name="Anna", language_code="en")
    await harness.command(en_user, "start", f"b_{tree.building.qr_token}")
    assert "What is stored" in harness.last_text(en_user)
    await harness.press(en_user, "Agree and continue")
    assert "Your building" in harness.last_text(en_user)

    zh_user = emu.add_user(user_id=1011, first_name="马可", language_code="zh-hans")
    await harness.command(zh_user, "language")
    await harness.press(zh_user, "English")
    assert "Language set to English." in harness.texts(zh_user)
    # A newcomer goes on to the privacy notice, now in English.
    assert "What is stored" in harness.last_text(zh_user)
    await harness.press(zh_user, "Agree and continue")
    await harness.command(zh_user, "language")
    await harness.press(zh_user, "简体中文")
    assert "语言已设置为简体中文。" in harness.texts(zh_user)
    assert "您好" in harness.last_text(zh_user) or "社区" in harness.last_text(zh_user)
    await harness.command(zh_user, "language")
    await harness.press(zh_user, "English")
    await harness.command(zh_user, "help")
    assert "help for residents" in harness.last_text(zh_user)
    user = await _user(sessionmaker, 1011)
    assert user is not None and user.language == "en"


async def test_help_from_the_menu_does_not_send_the_unchanged_menu_again(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    await harness.command(resident, "menu")
    menu = harness.last(resident)
    for _ in range(2):
        await harness.press_key(resident, "menu.help")
    assert "居民帮助" in harness.last_text(resident)
    assert harness.emu.chat(resident.id).find(menu.message_id) is not None
    # Telegram refuses an edit that changes nothing ("message is not modified").
    assert harness.emu.errors == []


async def test_the_menu_offers_each_person_what_their_roles_admit(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "网格员")
    admin = await world.staff(Role.ADMIN, None, "管理员")
    shown: dict[int, list[str]] = {}
    for person in (resident, worker, admin):
        await harness.command(person, "menu")
        shown[person.id] = harness.buttons(person)
    label = harness.label
    assert label(resident, "menu.file_appeal") in shown[resident.id]
    assert label(resident, "menu.tasks") not in shown[resident.id]
    assert label(worker, "menu.tasks") in shown[worker.id]
    assert label(worker, "menu.invite") not in shown[worker.id]
    assert label(admin, "menu.invite") in shown[admin.id]

    # A resident who forges the hidden "tasks" entry gets a refusal and no task list.
    menu = harness.last(resident)
    data = next(
        b["callback_data"]
        for row in (menu.reply_markup or {})["inline_keyboard"]
        for b in row
        if b["text"] == label(resident, "menu.file_appeal")
    )
    await harness.press_data(
        resident, menu.message_id, data.replace(":file", ":tasks"), forged=True
    )
    answers = harness.emu.chat(resident.id).callback_answers
    assert answers[-1]["text"] == label(resident, "common.not_allowed")
    assert label(resident, "tasks.list.empty") not in harness.last_text(resident)
    assert harness.emu.errors == []
