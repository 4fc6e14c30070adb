"""The council through the emulator: the next meeting exists by itself; the call for
topics, the agenda and the venue go out once each to subscribers (not to those who
unsubscribed, not to another community); RSVP from the reminder; a topic proposed, +1'd,
put on the agenda; the meeting moved (the old reminders never fire); a vote with ballots
changed and forged; the result published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.council import Ballot, CouncilService, Meeting, Reminder, Rsvp, Topic, TopicState
from storage.roles import Role
from tests.harness import Harness, World

# START is Monday 2 November 09:00 in Shanghai: the council is on the 25th at 15:00.
MEETING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def _council_texts(harness: Harness, user: EmulatedUser, start: str) -> list[str]:
    return [t for t in harness.texts(user) if start in t]


async def _at(harness: Harness, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    await harness.tick()
    await harness.tick()  # a second sweep finds nothing more to send


async def test_reminders_rsvp_topics_and_a_moved_meeting(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    quiet = await world.resident("赵安静", world.tree.building3)
    far = await world.resident("外社区", world.tree.other_building)

    # Unsubscribing in /settings: a line the council feature put there.
    await harness.command(quiet, "settings")
    await harness.press_key(quiet, "council.prefs.button")
    assert "已订阅" in harness.last_text(quiet)
    await harness.press_key(quiet, "council.prefs.off")
    assert "已退订" in harness.last_text(quiet)

    await harness.tick()
    async with harness.app.services() as s:
        meeting = await s.session.scalar(
            select(Meeting).where(Meeting.community_id == world.tree.community.id)
        )
        assert meeting is not None and meeting.starts_at == MEETING
        meeting_id = meeting.id

    # 7 days before: the call for topics, with RSVP and 提议题, to subscribers only.
    await _at(harness, clock, MEETING - timedelta(days=7) + timedelta(minutes=1))
    for person in (wang, li, officer):
        assert len(_council_texts(harness, person, "征集议题")) == 1, person.first_name
    assert _council_texts(harness, quiet, "征集议题") == []
    # Another community has its own council, and hears only of that one.
    assert _council_texts(harness, far, "通海社区民情议事会") == []
    assert len(_council_texts(harness, far, "正阳社区民情议事会 · 征集议题")) == 1
    call = harness.last(wang)
    assert "2026-11-25 15:00" in (call.text or "")

    # RSVP from the notice: the answer is marked; the same answer again edits nothing.
    await harness.press_key(wang, "council.rsvp.yes")
    assert harness.buttons(wang)[0] == "✅ " + harness.label(wang, "council.rsvp.yes")
    edits = len(harness.emu.requests)
    await harness.press_data(
        wang, call.message_id, f"cnl:rsvp:{meeting_id}:0", forged=True
    )
    assert not any(
        r.method.startswith("editMessage") for r in harness.emu.requests[edits:]
    )
    await harness.press_key(wang, "council.rsvp.maybe")
    assert harness.buttons(wang)[2] == "✅ " + harness.label(wang, "council.rsvp.maybe")
    # Someone of another community forges an RSVP: refused.
    await harness.press_data(far, call.message_id, f"cnl:rsvp:{meeting_id}:0", forged=True)
    assert "只有本社区的居民" in harness.emu.chat(far.id).callback_answers[-1]["text"]

    # A topic from the reminder's 提议题; a neighbour +1s it, once.
    await harness.press_key(wang, "council.propose.button")
    await harness.text(wang, "3号楼前的路灯坏了一个月，<晚上>很黑")
    assert "议题已提交" in harness.last_text(wang)
    await harness.command(li, "council")
    await harness.press_key(li, "council.topics_button")
    await harness.press(li, "3号楼前的路灯")
    assert "3号楼前的路灯坏了一个月，<晚上>很黑" in harness.last_text(li)
    await harness.press_key(li, "council.support")
    assert "已 +1" in harness.last_text(li)
    assert not harness.has_button(li, "council.support")
    async with harness.app.services() as s:
        [row] = await s.get(CouncilService).topics(meeting_id)
        assert row.supports == 1
        topic_id = row.topic.id

    # Staff put it on the agenda: the proposer hears so.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    main = harness.last_text(officer)
    assert "参加 0 · 不参加 0 · 待定 1" in main and "待审核议题 1 个" in main
    await harness.press_key(officer, "council.host.topics_button")
    await harness.press(officer, "3号楼前的路灯")
    assert "王秀英" in harness.last_text(officer)
    await harness.press_key(officer, "council.host.accept")
    assert "已列入 2026-11-25 15:00" in harness.last_text(wang)

    # Moved to the 27th: subscribers are told; the old 1-day reminder never fires.
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.host.move_button")
    await harness.text(officer, "11月27日")
    assert "没看懂这个时间" in harness.last_text(officer)
    await harness.text(officer, "2026-11-27 15:00")
    await harness.text(officer, "25日社区办公楼停电检修")
    assert "已改期" in harness.last_text(officer)
    await harness.deliver()
    moved = _council_texts(harness, li, "改期通知")
    assert len(moved) == 1 and "2026-11-27 15:00" in moved[0] and "停电检修" in moved[0]
    await _at(harness, clock, MEETING - timedelta(days=1) + timedelta(minutes=1))
    assert _council_texts(harness, li, "明天开会") == []
    new_start = MEETING + timedelta(days=2)
    await _at(harness, clock, new_start - timedelta(days=1) + timedelta(minutes=1))
    [agenda] = _council_texts(harness, li, "明天开会")
    assert "1. 3号楼前的路灯坏了一个月，<晚上>很黑（+1）" in agenda
    assert _council_texts(harness, quiet, "明天开会") == []

    # Topics closed two days before: a late proposal is refused, politely.
    await harness.command(wang, "council")
    assert not harness.has_button(wang, "council.propose.button")
    async with harness.app.services() as s:
        reminders = (
            (await s.session.execute(select(Reminder).where(Reminder.meeting_id == meeting_id)))
            .scalars()
            .all()
        )
        assert sorted((r.kind, r.outcome) for r in reminders) == [
            ("agenda", "sent"),
            ("topics", "sent"),
            ("venue", None),
        ]
        assert await s.session.scalar(select(func.count()).select_from(Topic)) == 1
        topic = await s.session.get(Topic, topic_id)
        assert topic is not None and topic.state == TopicState.ACCEPTED
    assert harness.emu.errors == []
