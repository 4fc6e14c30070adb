"""A notice that was recalled or cancelled causes nothing more: no reminder, no grid
worker's door-visit list (with households' names and phones), no receipt; a ✅ 已收到
pressed on it is refused kindly and loses its button. A paused one holds its reminder
and door-visit lists until it is resumed, and still takes receipts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from emulator.world import EmulatedUser, StoredMessage
from storage.clock import ManualClock
from storage.notices import NoticeAck
from storage.notices.service import REMINDER, VISITS
from storage.outbox import OutboxMessage
from storage.roles import Role
from tests.harness import Harness, World

BODY = "本周六上午小区停水，请提前储水。"
PHONE = "+8613800000021"


async def _press_only(harness: Harness, user: EmulatedUser, key: str) -> None:
    """Press a button and handle it, sending nothing the outbox owes yet (so the copies
    still waiting stay waiting)."""
    press = harness.emu.press_button(user, harness.label(user, key), queue=False)
    await harness.feed(press, deliver=False)


async def _send_with_receipt(harness: Harness, officer: EmulatedUser) -> None:
    await harness.command(officer, "notice")
    await harness.text(officer, BODY)
    await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")
    await harness.press_key(officer, "notice.button.send")
    await harness.tick()  # the progress message with its buttons


def _copies(harness: Harness, user: EmulatedUser) -> list[StoredMessage]:
    return [m for m in harness.emu.chat(user.id).bot_messages if BODY in (m.text or "")]


def _said(harness: Harness, user: EmulatedUser, part: str) -> bool:
    return any(part in t for t in harness.texts(user))


async def _sent(harness: Harness, kind: str) -> int:
    async with harness.app.services() as s:
        rows = await s.session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == kind, OutboxMessage.sent_at.is_not(None)
            )
        )
        return len(rows.all())


def _ack_data(message: StoredMessage) -> str:
    return str(message.raw["reply_markup"]["inline_keyboard"][0][0]["callback_data"])


async def _people(world: World) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, EmulatedUser]:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    worker = await world.staff(Role.WORKER, world.tree.grid, "刘桂兰")
    yu = await world.resident("于美华")
    jiang = await world.resident("姜海燕", world.tree.building2, phone=PHONE)
    return officer, worker, yu, jiang


async def test_a_recalled_notice_sends_no_reminder_no_door_list_and_takes_no_receipt(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer, worker, yu, jiang = await _people(world)
    await _send_with_receipt(harness, officer)
    [copy] = _copies(harness, yu)
    # One deletion fails (the message stays in 于美华's chat): her button must not count.
    harness.emu.fail(yu.id, 400, None, times=5, description="Bad Request: message can't be deleted")
    await harness.press_key(officer, "notice.button.recall")
    await harness.press_key(officer, "notice.button.recall_yes")
    for _ in range(6):  # the failing deletion's retries run out
        clock.advance(timedelta(minutes=20))
        await harness.tick()
    harness.emu.clear_records()
    assert _copies(harness, jiang) == [] and _copies(harness, yu) == [copy]

    clock.advance(timedelta(hours=25))  # past the reminder
    await harness.tick()
    clock.advance(timedelta(hours=25))  # past the door-visit lists
    await harness.tick()
    for person in (yu, jiang, worker):
        assert not _said(harness, person, "还没有确认收到")
    assert not _said(harness, worker, "姜海燕") and not _said(harness, worker, PHONE)
    assert await _sent(harness, REMINDER) == 0 and await _sent(harness, VISITS) == 0

    await harness.press_data(yu, copy.message_id, _ack_data(copy))
    answer = harness.emu.chat(yu.id).callback_answers[-1]["text"]
    assert answer == harness.label(yu, "notice.receipt_stopped.recalled")
    assert harness.emu.chat(yu.id).find(copy.message_id).reply_markup is None  # type: ignore[union-attr]
    async with harness.app.services() as s:
        assert (await s.session.execute(select(NoticeAck))).first() is None
    assert harness.emu.errors == []


async def test_a_recall_after_the_reminder_takes_the_reminders_back_and_stops_the_lists(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer, worker, yu, jiang = await _people(world)
    await _send_with_receipt(harness, officer)
    clock.advance(timedelta(hours=25))
    await harness.tick()
    assert _said(harness, jiang, "还没有确认收到")
    await harness.press_key(officer, "notice.button.recall")
    await harness.press_key(officer, "notice.button.recall_yes")
    await harness.tick()
    for person in (yu, jiang):  # the notice and its reminder are gone from their chats
        assert _copies(harness, person) == [] and not _said(harness, person, "还没有确认收到")
    clock.advance(timedelta(hours=25))
    await harness.tick()
    assert not _said(harness, worker, PHONE) and await _sent(harness, VISITS) == 0
    assert harness.emu.errors == []


async def test_a_reminder_waiting_for_quiet_hours_is_dropped_by_a_recall(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer, worker, yu, jiang = await _people(world)
    clock.advance(timedelta(hours=13))  # 22:00: copies wait for the morning
    await _send_with_receipt(harness, officer)
    clock.advance(timedelta(hours=9))  # 07:00: the copies go out
    await harness.tick()
    assert len(_copies(harness, yu)) == 1
    clock.advance(timedelta(hours=15, minutes=30))  # 22:30: the reminder waits for 07:00
    await harness.tick()
    assert not _said(harness, yu, "还没有确认收到")
    await harness.press_key(officer, "notice.button.recall")
    await harness.press_key(officer, "notice.button.recall_yes")
    clock.advance(timedelta(hours=9))
    await harness.tick()
    clock.advance(timedelta(hours=25))
    await harness.tick()
    for person in (yu, jiang, worker):
        assert not _said(harness, person, "还没有确认收到")
    assert not _said(harness, worker, PHONE)
    assert harness.emu.errors == []


async def test_a_cancelled_notice_stops_its_follow_ups_and_refuses_receipts_kindly(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer, worker, yu, jiang = await _people(world)
    await harness.command(officer, "notice")
    await harness.text(officer, BODY)
    await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")
    await _press_only(harness, officer, "notice.button.send")
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message
    assert await harness.app.delivery.deliver_one()  # one copy: to 于美华
    [copy] = _copies(harness, yu)
    await _press_only(harness, officer, "notice.button.cancel")
    await _press_only(harness, officer, "notice.button.cancel_yes")
    await harness.tick()
    assert _copies(harness, jiang) == []
    clock.advance(timedelta(hours=50))
    await harness.tick()
    assert not _said(harness, yu, "还没有确认收到") and not _said(harness, worker, "于美华")
    await harness.press_data(yu, copy.message_id, _ack_data(copy))
    answer = harness.emu.chat(yu.id).callback_answers[-1]["text"]
    assert answer == harness.label(yu, "notice.receipt_stopped.cancelled")
    assert harness.emu.chat(yu.id).find(copy.message_id).reply_markup is None  # type: ignore[union-attr]
    assert harness.emu.errors == []


async def test_a_paused_notice_holds_its_reminder_until_resumed_and_still_takes_receipts(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer, _worker, yu, jiang = await _people(world)
    li = await world.resident("李建国", world.tree.building3)
    await harness.command(officer, "notice")
    await harness.text(officer, BODY)
    await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")
    await _press_only(harness, officer, "notice.button.send")
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message
    assert await harness.app.delivery.deliver_one()  # 于美华's copy
    assert await harness.app.delivery.deliver_one()  # 姜海燕's copy
    await _press_only(harness, officer, "notice.button.pause")
    await harness.press_key(jiang, "notice.button.ack")  # she read it: that counts
    assert harness.emu.chat(jiang.id).callback_answers[-1]["text"] == harness.label(
        jiang, "notice.ack_thanks"
    )
    clock.advance(timedelta(hours=25))
    await harness.tick()
    assert not _said(harness, yu, "还没有确认收到") and _copies(harness, li) == []
    await harness.press_key(officer, "notice.button.resume")
    await harness.tick()
    assert len(_copies(harness, li)) == 1
    assert _said(harness, yu, "还没有确认收到") and not _said(harness, jiang, "还没有确认收到")
    assert harness.emu.errors == []
