"""After the meeting no topic vanishes undecided: one still waiting for review goes on to
the next meeting with its +1s and its proposer is told (when staff close the meeting,
or when it is over without being closed); the screens name the meeting they are about,
and the one just held is pointed to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.council import CouncilService, Topic, TopicState
from storage.roles import Role
from tests.harness import Harness, World

MEETING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
CARRIED = "没有来得及审核，已转到下一次议事会（2026-12-25 15:00）"


async def _propose(harness: Harness, world: World, author: EmulatedUser, *texts: str) -> list[int]:
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        user = await s.users.get(author.id)
        assert user is not None
        ids = [(await service.propose(meeting.id, user, text)).id for text in texts]
        await s.commit()
    return ids


async def test_a_topic_not_reviewed_goes_on_to_the_next_meeting_and_its_proposer_hears_so(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    await harness.tick()
    waiting, accepted = await _propose(harness, world, wang, "楼道灯不亮", "垃圾分类点太远")
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        li_user = await s.users.get(li.id)
        assert li_user is not None
        await service.support(waiting, li_user)
        await service.accept(await s.staff.staffing(officer.id), accepted)
        await s.commit()
    await harness.deliver()
    await harness.command(wang, "council")
    assert harness.has_button(wang, "council.topics_button", day="11月25日")

    # At the meeting staff close it; the form says what becomes of the topic left.
    clock.set(MEETING + timedelta(hours=2))
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.minutes_button")
    assert "还有 1 个议题待审核：结束会议后会转到下一次议事会" in harness.last_text(officer)
    await harness.text(officer, "垃圾分类点迁到3号楼旁。")
    assert "会议已结束" in harness.last_text(officer)
    await harness.deliver()
    [news] = [t for t in harness.texts(wang) if CARRIED in t]
    assert "2026-11-25 15:00 的议事会前" in news and "楼道灯不亮" in news

    # Her /council names December's meeting, lists the topic with its +1, and points to
    # November's, just held.
    await harness.command(wang, "council")
    home = harness.last_text(wang)
    assert "上次议事会 2026-11-25 15:00（已召开）" in home
    await harness.press_key(wang, "council.topics_button", day="12月25日")
    assert "12月25日议事会的议题" in harness.last_text(wang)
    await harness.press(wang, "楼道灯不亮 · +1")
    assert "待审核" in harness.last_text(wang)
    # Staff find it waiting for December's review.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.topics_button")
    assert "12月25日议事会的议题" in harness.last_text(officer)
    assert harness.buttons(officer)[0] == "🆕 楼道灯不亮 · +1"
    async with harness.app.services() as s:
        topic = await s.session.get(Topic, waiting)
        december = await s.get(CouncilService).next_meeting(world.tree.community.id)
        assert topic is not None and topic.meeting_id == december.id
        assert topic.state == TopicState.OPEN
        # The accepted one stays in November's record.
        kept = await s.session.get(Topic, accepted)
        assert kept is not None and kept.meeting_id != december.id
    assert harness.emu.errors == []


async def test_a_meeting_left_open_hands_its_waiting_topics_on_once_it_is_over(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    await harness.tick()
    [waiting] = await _propose(harness, world, wang, "小区门口停车难")

    clock.set(MEETING + timedelta(hours=1))  # still running: nothing moves yet
    await harness.tick()
    assert not any(CARRIED in t for t in harness.texts(wang))
    clock.set(MEETING + timedelta(hours=5))  # over, never closed by staff
    await harness.tick()
    await harness.tick()
    assert len([t for t in harness.texts(wang) if CARRIED in t]) == 1
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.topics_button", day="12月25日")
    assert harness.buttons(wang)[0].startswith("小区门口停车难")
    async with harness.app.services() as s:
        topic = await s.session.get(Topic, waiting)
        assert topic is not None and topic.state == TopicState.OPEN
    assert harness.emu.errors == []
