"""Residents' quiet hours and mute: an ordinary notice sent at night waits until their
quiet hours end, one who turned notices off does not get it, an urgent one always goes;
/settings changes both and refuses a forged hour."""

from __future__ import annotations

from datetime import timedelta

from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.notices.quiet import choice_of
from storage.roles import Role
from tests.harness import Harness, World


async def _notice(harness: Harness, officer: EmulatedUser, text: str, *, urgent: bool) -> None:
    await harness.command(officer, "notice")
    await harness.text(officer, text)
    if urgent:
        await harness.press_key(officer, "notice.option.urgent_off")
    await harness.press_key(officer, "notice.button.review")
    await harness.press_key(officer, "notice.button.send")


def _got(harness: Harness, user: EmulatedUser, text: str) -> bool:
    return any(text in t for t in harness.texts(user))


async def test_a_night_notice_waits_for_the_morning_and_urgent_ones_do_not(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    clock.advance(timedelta(hours=14))  # 23:00 in Shanghai
    await harness.command(officer, "notice")
    await harness.text(officer, "明早停电检修")
    assert "1 人在夜间免打扰时段" in harness.last_text(officer)
    await harness.press_key(officer, "notice.button.review")
    await harness.press_key(officer, "notice.button.send")
    await harness.tick()
    assert not _got(harness, wang, "明早停电检修")
    await _notice(harness, officer, "燃气泄漏，请立即撤离", urgent=True)
    assert _got(harness, wang, "🚨 通海社区紧急通知")
    clock.advance(timedelta(hours=7, minutes=59))  # 06:59
    await harness.tick()
    assert not _got(harness, wang, "明早停电检修")
    clock.advance(timedelta(minutes=2))  # 07:01
    await harness.tick()
    assert _got(harness, wang, "明早停电检修")
    assert harness.emu.errors == []


async def test_settings_turn_notices_off_and_move_quiet_hours(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国")
    await harness.command(wang, "settings")
    assert "22:00–07:00" in harness.last_text(wang)
    mute = harness.emu.press_button(wang, harness.label(wang, "notice.prefs.mute"), queue=False)
    await harness.feed(mute)
    await harness.feed(mute)  # a double tap: the second press sets what the first did
    assert "已关闭" in harness.last_text(wang)
    await _notice(harness, officer, "周末义诊", urgent=False)
    assert not _got(harness, wang, "周末义诊") and _got(harness, li, "周末义诊")
    await _notice(harness, officer, "暴雨红色预警", urgent=True)
    assert _got(harness, wang, "暴雨红色预警")

    await harness.command(wang, "settings")
    await harness.press_key(wang, "notice.prefs.unmute")
    await harness.press(wang, "从 21:00")
    await harness.press(wang, "到 6:00")
    assert "21:00–06:00" in harness.last_text(wang)
    screen = harness.last(wang)
    data = next(
        d
        for row in harness.emu.chat(wang.id).inline_buttons()
        for text, d in row
        if "到 6:00" in text
    )
    await harness.press_data(wang, screen.message_id, data.replace(":6", ":3"), forged=True)
    async with harness.app.services() as s:
        choice = await choice_of(s.session, wang.id)
    assert (choice.muted, choice.quiet_from, choice.quiet_to) == (False, 21 * 60, 6 * 60)
    assert harness.emu.errors == []


async def test_a_notice_resumed_at_night_still_waits_for_the_morning(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国")
    clock.advance(timedelta(hours=12))  # 21:00 in Shanghai: before the quiet hours
    await harness.command(officer, "notice")
    await harness.text(officer, "明早停电检修")
    await harness.press_key(officer, "notice.button.review")
    send = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.send"), queue=False
    )
    await harness.feed(send, deliver=False)
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message
    assert await harness.app.delivery.deliver_one()  # 王秀英's copy
    pause = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.pause"), queue=False
    )
    await harness.feed(pause, deliver=False)
    clock.advance(timedelta(hours=2))  # 23:00
    await harness.tick()  # the progress message offers ▶️ 继续
    await harness.press_key(officer, "notice.button.resume")
    await harness.tick()
    assert _got(harness, wang, "明早停电检修") and not _got(harness, li, "明早停电检修")
    clock.advance(timedelta(hours=8, minutes=1))  # 07:01
    await harness.tick()
    assert _got(harness, li, "明早停电检修")
    assert harness.emu.errors == []
