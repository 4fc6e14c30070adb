"""The sender's progress message: a question asked on it (撤回? 取消?) stays through the
progress updates until it is answered, and copies waiting for recipients' quiet hours
are said as such, with when they go, not as minutes of sending left."""

from __future__ import annotations

import re
from datetime import timedelta

from emulator.world import EmulatedUser, StoredMessage
from storage.clock import ManualClock
from storage.notices.quiet import choose
from storage.roles import Role
from tests.harness import Harness, World


async def _write(harness: Harness, officer: EmulatedUser, text: str, *, ack: bool) -> None:
    await harness.command(officer, "notice")
    await harness.text(officer, text)
    if ack:
        await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")


def _progress(harness: Harness, officer: EmulatedUser) -> StoredMessage:
    """The officer's progress message: "📢 通知 #1（通海社区）发送中" and its figures."""
    return next(
        m
        for m in harness.emu.chat(officer.id).bot_messages
        if re.match(r"\S+ 通知 #\d+（", m.text or "")
    )


def _progress_buttons(harness: Harness, officer: EmulatedUser) -> list[str]:
    return [text for row in _progress(harness, officer).inline_buttons() for text, _ in row]


def _progress_text(harness: Harness, officer: EmulatedUser) -> str:
    return _progress(harness, officer).text or ""


async def test_the_recall_question_stays_through_progress_updates_until_answered(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    await world.resident("李建国")
    await _write(harness, officer, "周六上午停水", ack=True)
    await harness.press_key(officer, "notice.button.send")
    await harness.tick()
    recall = harness.label(officer, "notice.button.recall")
    asking = [
        harness.label(officer, "notice.button.recall_yes"),
        harness.label(officer, "notice.button.recall_no"),
    ]
    assert _progress_buttons(harness, officer) == [recall]

    press = harness.emu.press_button(officer, recall, queue=False)
    await harness.feed(press)
    await harness.feed(press)  # a double tap asks once
    assert _progress_buttons(harness, officer) == asking
    clock.advance(timedelta(seconds=4))
    await harness.tick()
    assert _progress_buttons(harness, officer) == asking
    await harness.press_key(wang, "notice.button.ack")  # the figures change meanwhile
    clock.advance(timedelta(seconds=4))
    await harness.tick()
    assert "已确认收到：1 / 2" in _progress_text(harness, officer)
    assert _progress_buttons(harness, officer) == asking

    await harness.press_key(officer, "notice.button.recall_no")
    assert _progress_buttons(harness, officer) == [recall]
    await harness.tick()
    assert _progress_buttons(harness, officer) == [recall]
    await harness.press_key(officer, "notice.button.recall")
    await harness.press_key(officer, "notice.button.recall_yes")
    await harness.tick()
    assert "已撤回" in _progress_text(harness, officer)
    assert harness.emu.errors == []


async def test_a_cancel_question_goes_when_the_notice_finishes_meanwhile(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    resident = await world.resident("王秀英")
    await _write(harness, officer, "周六上午停水", ack=False)
    send = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.send"), queue=False
    )
    await harness.feed(send, deliver=False)
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message: sending
    cancel = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.cancel"), queue=False
    )
    await harness.feed(cancel, deliver=False)
    assert _progress_buttons(harness, officer) == [
        harness.label(officer, "notice.button.cancel_yes"),
        harness.label(officer, "notice.button.cancel_no"),
    ]
    await harness.tick()  # the copy goes out: nothing is left to cancel
    await harness.tick()
    assert any("周六上午停水" in t for t in harness.texts(resident))
    assert "发送完成" in _progress_text(harness, officer)
    assert _progress_buttons(harness, officer) == [harness.label(officer, "notice.button.recall")]
    assert harness.emu.errors == []


async def test_copies_waiting_for_quiet_hours_are_said_with_when_they_go(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")  # quiet hours 22:00-07:00, the default
    li = await world.resident("李建国")
    async with harness.app.services() as s:
        await choose(s.session, li.id, quiet=False)
        await s.commit()
    clock.advance(timedelta(hours=14))  # 23:00 in Shanghai
    await _write(harness, officer, "明早停电检修", ack=False)
    await harness.press_key(officer, "notice.button.send")
    await harness.tick()
    await harness.tick()
    assert any("明早停电检修" in t for t in harness.texts(li))
    progress = _progress_text(harness, officer)
    assert "待发送 1" in progress
    assert "1 人在免打扰时段" in progress and "2026-11-03 07:00" in progress
    assert "预计还需" not in progress
    await harness.command(officer, "notices")  # the report says the same
    await harness.press(officer, "明早停电检修")
    report = harness.last_text(officer)
    assert "1 人在免打扰时段" in report and "2026-11-03 07:00" in report
    clock.advance(timedelta(hours=8, minutes=1))
    await harness.tick()
    await harness.tick()
    assert any("明早停电检修" in t for t in harness.texts(wang))
    assert "发送完成" in _progress_text(harness, officer)
    assert harness.emu.errors == []


async def test_the_report_counts_receipts_in_parts_that_add_up_to_the_whole(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    first = [await world.resident(n, world.tree.building) for n in ("于美华", "王秀英")]
    await world.resident("姜海燕", world.tree.building3)
    await world.resident("李建国", world.tree.building3)
    # Two grid workers who live in the community: residents and workers, one copy each.
    for name, building, grid in (
        ("刘桂兰", world.tree.building2, world.tree.grid),
        ("孙海涛", world.tree.building3, world.tree.grid2),
    ):
        worker = await world.resident(name, building)
        async with harness.app.services() as s:
            await s.staff.grant(
                user_id=worker.id, role=Role.WORKER, node=grid, granted_by=None, now=s.now()
            )
            await s.commit()
    await _write(harness, officer, "周六上午停水", ack=True)
    await harness.press_key(officer, "notice.button.send")
    for person in first:
        await harness.press_key(person, "notice.button.ack")
    await harness.command(officer, "notices")
    await harness.press(officer, "周六上午停水")
    report = harness.last_text(officer)
    total = re.search(r"已确认收到：(\d+) / (\d+)", report)
    assert total is not None and total.groups() == ("2", "6")
    parts = [
        (int(acked), int(reached))
        for line in report.splitlines()
        if line.startswith("　")
        for acked, reached in re.findall(r"(\d+) / (\d+)", line)
    ]
    assert "第一网格：住户已确认 2 / 2" in report and "第二网格：住户已确认 0 / 2" in report
    assert sum(a for a, _ in parts) == 2 and sum(r for _, r in parts) == 6
    assert harness.emu.errors == []
