"""A status line ("👍 已 +1。", "📌 已列入议程。") answers the action it is about, on the
screen that answers it, and no later screen: going back, opening another item or another
screen of the same dialog shows each without it (bot/kit/notice.py, for every feature).
The menu's line (a bad link, a notice sent) is said once too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.clock import ManualClock
from storage.council import CouncilService
from storage.roles import Role
from tests.harness import Harness, World

MEETING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai


async def test_a_status_line_stays_on_the_screen_where_the_action_happened(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        wang_user = await s.users.get(wang.id)
        assert wang_user is not None
        await service.propose(meeting.id, wang_user, "3号楼前的路灯坏了")
        await service.propose(meeting.id, wang_user, "楼道里堆满杂物")
        await s.commit()

    # A resident's +1: said on the topic, not on the list nor on the proposal form.
    await harness.command(li, "council")
    await harness.press_key(li, "council.topics_button", day="11月25日")
    await harness.press(li, "3号楼前的路灯")
    await harness.press_key(li, "council.support")
    supported = harness.label(li, "council.supported")
    assert harness.last_text(li).startswith(supported)
    await harness.press_key(li, "council.back")
    assert supported not in harness.last_text(li)
    await harness.press_key(li, "council.propose.button")
    assert "提一个议题" in harness.last_text(li) and supported not in harness.last_text(li)

    # Staff accept one topic; the next topic they open, still waiting, says nothing of it.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.topics_button")
    await harness.press(officer, "3号楼前的路灯")
    await harness.press_key(officer, "council.host.accept")
    accepted = harness.label(officer, "council.host.done_accept")
    assert harness.last_text(officer).startswith(accepted)
    await harness.press_key(officer, "council.back")
    await harness.press(officer, "楼道里堆满杂物")
    topic = harness.last_text(officer)
    assert "待审核" in topic and accepted not in topic

    # A vote opened: said on the vote, not on the list of votes.
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.host.vote_button")
    await harness.text(officer, "是否同意更换路灯？")
    await harness.press_key(officer, "council.host.default_options")
    await harness.press_key(officer, "council.host.open_vote")
    opened = harness.label(officer, "council.host.vote_opened")
    assert harness.last_text(officer).startswith(opened)
    await harness.press_key(officer, "council.back")
    assert "本次议事会的表决" in harness.last_text(officer)
    assert opened not in harness.last_text(officer)

    # Attendance recorded: said on the list of people, not on the panel behind it.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.rsvp.yes")
    clock.set(MEETING - timedelta(minutes=30))
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.people_button")
    await harness.press(officer, "王秀英")
    marked = harness.label(officer, "council.host.marked")
    assert harness.last_text(officer).startswith(marked)
    await harness.press_key(officer, "council.back")
    assert "已签到 1 人" in harness.last_text(officer)
    assert marked not in harness.last_text(officer)
    assert harness.emu.errors == []


async def test_the_menus_line_is_said_once(harness: Harness, world: World) -> None:
    wang = await world.resident("王秀英")
    await harness.command(wang, "start", "b_no-such-building")
    bad_link = harness.label(wang, "onboarding.bad_link").strip()
    assert harness.last_text(wang).startswith(bad_link)
    # Into a feature from the menu and closed back to it: the bad link is old news.
    await harness.press_key(wang, "council.menu")
    await harness.press_key(wang, "council.past_button")
    await harness.press_key(wang, "council.close")
    assert harness.label(wang, "menu.help") in harness.buttons(wang)
    assert bad_link not in harness.last_text(wang)
    assert harness.emu.errors == []
