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
from storage.council import Answer, Ballot, CouncilService, Meeting, Reminder, Topic, TopicState
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
    assert harness.buttons(wang)[0] == "☑️ " + harness.label(wang, "council.rsvp.yes")
    edits = len(harness.emu.requests)
    await harness.press_data(wang, call.message_id, f"cnl:rsvp:{meeting_id}:0", forged=True)
    assert not any(r.method.startswith("editMessage") for r in harness.emu.requests[edits:])
    await harness.press_key(wang, "council.rsvp.maybe")
    assert harness.buttons(wang)[2] == "☑️ " + harness.label(wang, "council.rsvp.maybe")
    # Someone of another community forges an RSVP: refused.
    await harness.press_data(far, call.message_id, f"cnl:rsvp:{meeting_id}:0", forged=True)
    assert "只有本社区的居民" in harness.emu.chat(far.id).callback_answers[-1]["text"]

    # A topic from the reminder's 提议题; a neighbour +1s it, once.
    await harness.press_key(wang, "council.propose.button")
    await harness.text(wang, "3号楼前的路灯坏了一个月，<晚上>很黑")
    assert "议题已提交" in harness.last_text(wang)
    await harness.command(li, "council")
    await harness.press_key(li, "council.topics_button", day="11月25日")
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
    assert _council_texts(harness, li, "民情议事会 · 议程") == []
    new_start = MEETING + timedelta(days=2)
    await _at(harness, clock, new_start - timedelta(days=1) + timedelta(minutes=1))
    [agenda] = _council_texts(harness, li, "民情议事会 · 议程")
    assert "1. 3号楼前的路灯坏了一个月，<晚上>很黑（+1）" in agenda
    assert _council_texts(harness, quiet, "民情议事会 · 议程") == []

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


async def test_a_vote_one_ballot_each_changeable_forged_refused_result_published(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    zhao = await world.resident("赵大爷", world.tree.building3)
    far = await world.resident("外社区", world.tree.other_building)
    await harness.tick()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.vote_button")
    await harness.text(officer, "是否同意在3号楼前加装<两盏>路灯？")
    await harness.text(officer, "只有一个选项")
    assert "2 到 10 个" in harness.last_text(officer)
    await harness.press_key(officer, "council.host.default_options")
    confirm = harness.last_text(officer)
    assert "是否同意在3号楼前加装<两盏>路灯？" in confirm and "同意 / 反对 / 弃权" in confirm
    await harness.press(officer, "不设法定人数")  # already chosen: nothing changes
    await harness.press(officer, "30")  # quorum of 30 ballots
    await harness.press_key(officer, "council.host.open_vote")
    assert "表决已发起" in harness.last_text(officer)
    await harness.deliver()

    cards = {p.first_name: harness.last(p) for p in (wang, li, zhao)}
    for card in cards.values():
        assert "是否同意在3号楼前加装<两盏>路灯？" in (card.text or "")
        assert "结果在表决结束后公布" in (card.text or "")
    assert not any("加装" in t for t in harness.texts(far))
    async with harness.app.services() as s:
        vote_id = (
            int(await s.session.scalar(select(func.max(Ballot.vote_id)).select_from(Ballot)) or 0)
            or 1
        )

    await harness.press(wang, "同意")
    assert harness.buttons(wang)[0] == "☑️ 同意"
    assert "已投：同意" in harness.emu.chat(wang.id).callback_answers[-1]["text"]
    # The same option again: said so, nothing edited.
    before = len(harness.emu.requests)
    await harness.press_data(
        wang, cards["王秀英"].message_id, f"cnl:ballot:{vote_id}:0", forged=True
    )
    assert "您已经投了：同意" in harness.emu.chat(wang.id).callback_answers[-1]["text"]
    assert not any(r.method.startswith("edit") for r in harness.emu.requests[before:])
    await harness.press(li, "反对")
    await harness.press(li, "弃权")  # changed before the close
    assert harness.buttons(li)[:3] == ["同意", "反对", "☑️ 弃权"]
    # Forged: an option that does not exist, a resident of another community.
    await harness.press_data(
        zhao, cards["赵大爷"].message_id, f"cnl:ballot:{vote_id}:7", forged=True
    )
    await harness.press_data(
        far, cards["赵大爷"].message_id, f"cnl:ballot:{vote_id}:1", forged=True
    )
    assert "只有本社区的居民" in harness.emu.chat(far.id).callback_answers[-1]["text"]

    # Zhao deleted his card: /council gives it again, with the same buttons.
    await harness.command(zhao, "council")
    await harness.press(zhao, "🗳 是否同意")
    assert "是否同意在3号楼前加装<两盏>路灯？" in harness.last_text(zhao)
    await harness.press(zhao, "反对")
    assert harness.buttons(zhao)[:2] == ["同意", "☑️ 反对"]
    # Staff see turnout, not counts, while it is open; paper ballots are added.
    await harness.press_key(officer, "council.back")  # from the vote to the list of votes
    await harness.press(officer, "是否同意")
    screen = harness.last_text(officer)
    assert "票数在表决结束后公布" in screen and "线上 3 票" in screen
    await harness.press_key(officer, "council.host.paper")
    await harness.text(officer, "5 两 1")
    assert "请发送数字" in harness.last_text(officer)
    await harness.text(officer, "5 2 1")
    await harness.press_key(officer, "council.host.close_vote")
    assert "结束这项表决吗" in harness.last_text(officer)  # asked first: it cannot be undone
    await harness.press_key(officer, "council.host.close_yes")
    assert "表决已结束" in harness.last_text(officer)
    await harness.deliver()

    [result] = [t for t in harness.texts(zhao) if "表决结果" in t]
    assert "同意：6 票" in result and "反对：3 票" in result and "弃权：2 票" in result
    assert "共 11 票（线上 3，纸质 8）" in result and "未达到法定人数（30 票）" in result
    # Late: the card's buttons change nothing now.
    await harness.press(zhao, "弃权")
    assert "表决已经结束" in harness.emu.chat(zhao.id).callback_answers[-1]["text"]
    async with harness.app.services() as s:
        ballots = (await s.session.execute(select(Ballot.user_id, Ballot.choice))).all()
        assert sorted(tuple(b) for b in ballots) == sorted([(wang.id, 0), (li.id, 2), (zhao.id, 1)])
    assert harness.emu.errors == []


async def test_venue_pin_check_in_and_minutes(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    for person in (wang, li):
        await harness.command(person, "council")
        await harness.press_key(person, "council.rsvp.yes")
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.people_button")
    await harness.press(officer, "李建国")  # days before the meeting: not yet
    assert "开会前 1 小时起" in harness.last_text(officer)
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.host.settings_button")
    await harness.press_key(officer, "council.host.set_place")
    await harness.text(officer, "通海社区党群服务中心二楼")
    await harness.press_key(officer, "council.host.set_pin")
    await harness.text(officer, "就在社区")
    assert "不用输入文字" in harness.last_text(officer)
    await harness.feed(harness.emu.send_location(officer, 37.39, 121.60, queue=False))
    assert "已设置" in harness.last_text(officer)

    await _at(harness, clock, MEETING - timedelta(hours=2) + timedelta(minutes=1))
    messages = harness.emu.chat(wang.id).bot_messages
    venue = [m for m in messages if m.raw.get("venue")]
    assert len(venue) == 1 and venue[0].raw["venue"]["address"] == "通海社区党群服务中心二楼"
    assert "即将开始" in (messages[-1].text or "")
    # The 7-day and 1-day reminders fell due while the bot did not run (the clock jumped):
    # the call for topics came after topics closed, and the agenda with the venue one
    # due too: only the venue reminder goes, not three messages at once.
    async with harness.app.services() as s:
        meeting = await s.session.scalar(
            select(Meeting).where(Meeting.community_id == world.tree.community.id)
        )
        assert meeting is not None
        code = meeting.checkin_code
        outcomes = dict(
            (
                await s.session.execute(
                    select(Reminder.kind, Reminder.outcome).where(Reminder.meeting_id == meeting.id)
                )
            ).all()
        )
        elsewhere = await s.session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.outcome == "nobody")
        )
    assert outcomes == {"topics": "skipped", "agenda": "superseded", "venue": "sent"}
    assert not any("征集议题" in t or "民情议事会 · 议程" in t for t in harness.texts(wang))
    assert elsewhere == 1  # the other community's venue reminder: nobody lives there yet

    # At the meeting: a wrong code, then the right one; RSVP is closed once it began.
    clock.set(MEETING + timedelta(minutes=5))
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.checkin_button")
    await harness.text(wang, "0000" if code != "0000" else "1111")
    assert "签到码不对" in harness.last_text(wang)
    await harness.text(wang, code)
    assert "签到成功" in harness.last_text(wang)
    assert not harness.has_button(wang, "council.checkin_button")
    assert not harness.has_button(wang, "council.rsvp.yes")

    # Staff record someone without the chat at hand as present, from the answers.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    assert "已签到 1 人" in harness.last_text(officer)
    await harness.press_key(officer, "council.host.people_button")
    assert harness.buttons(officer)[:2] == ["☑️ 王秀英 · 1号楼 · 参加", "⬜ 李建国 · 2号楼 · 参加"]
    await harness.press(officer, "李建国")
    assert harness.buttons(officer)[1] == "☑️ 李建国 · 2号楼 · 参加"
    await harness.press_key(officer, "council.back")
    assert "已签到 2 人" in harness.last_text(officer)
    await harness.press_key(officer, "council.host.minutes_button")
    await harness.text(officer, "路灯问题交物业本周内维修。")
    assert "会议已结束" in harness.last_text(officer)
    # The next meeting is December's, and the past one keeps its minutes.
    await harness.command(wang, "council")
    assert "2026-12-25 15:00" in harness.last_text(wang)
    await harness.press_key(wang, "council.past_button")
    await harness.press(wang, "2026-11-25 15:00（已召开）")
    past = harness.last_text(wang)
    assert "2026-11-25 15:00" in past and "路灯问题交物业本周内维修。" in past
    assert "出席 2 人" in past
    assert harness.emu.errors == []


async def test_a_decision_carried_out_by_a_group_reported_and_the_loop_closed(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    zhao = await world.resident("赵大爷", world.tree.building3)
    bystander = await world.resident("路人甲", world.tree.building3)
    far = await world.resident("外社区", world.tree.other_building)
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        zhao_user = await s.users.get(zhao.id)
        assert zhao_user is not None
        topic = await service.propose(meeting.id, zhao_user, "3号楼前路灯不亮")
        await service.accept(await s.staff.staffing(officer.id), topic.id)
        await s.commit()
    clock.set(MEETING + timedelta(minutes=30))
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        li_user = await s.users.get(li.id)
        assert li_user is not None
        vote = await service.open_vote(await s.staff.staffing(officer.id), meeting.id, "换路灯？")
        await service.cast(vote.id, li_user, 0)
        await s.commit()

    # At the meeting, staff record what it made of the agenda item; a second press of the
    # same outcome changes nothing (the first one's status line goes: it answered that
    # press), and a third is not edited again (Telegram would refuse it).
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.topics_button")
    await harness.press(officer, "3号楼前路灯不亮")
    await harness.press(officer, "通过")
    assert "已记录会议结果：✅ 通过" in harness.last_text(officer)
    assert "会议结果：✅ 通过" in harness.last_text(officer)
    assert "☑️ 通过" in harness.buttons(officer)
    await harness.press(officer, "☑️ 通过")
    assert "已记录会议结果" not in harness.last_text(officer)
    assert "会议结果：✅ 通过" in harness.last_text(officer)
    edits = sum(r.method == "editMessageText" for r in harness.emu.requests)
    await harness.press(officer, "☑️ 通过")
    assert sum(r.method == "editMessageText" for r in harness.emu.requests) == edits

    # Staff set up the building's group: a resident of another community is refused.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.decisions_button")
    await harness.press_key(officer, "council.group.button")
    await harness.press_key(officer, "council.group.new")
    await harness.text(officer, "1号楼自治小组")
    await harness.press(officer, "1号楼")
    assert "小组已建立" in harness.last_text(officer)
    await harness.press_key(officer, "council.group.add")
    from bot.dialogs.council.decide import MEMBERS_REQUEST

    await harness.feed(harness.emu.share_users(officer, MEMBERS_REQUEST, [wang, far], queue=False))
    assert "已加入 1 人；1 人不是本社区居民" in harness.texts(officer)[-2]
    await harness.press(officer, "王秀英")
    assert "👑 王秀英" in harness.buttons(officer)

    # The decision, settling the agenda item, carried out by the group by 5 December.
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.back")
    await harness.press_key(officer, "council.decision.new")
    await harness.text(officer, "联系物业更换3号楼前路灯")
    await harness.press(officer, "3号楼前路灯不亮")
    await harness.press(officer, "1号楼自治小组")
    await harness.text(officer, "12月5日")
    assert "没看懂这个日期" in harness.last_text(officer)
    await harness.text(officer, "2026-12-05")
    assert "决议已记录" in harness.last_text(officer)
    [news] = [t for t in harness.texts(wang) if "交给您落实" in t]
    assert "联系物业更换3号楼前路灯" in news and "2026-12-05 23:59" in news

    # Two days before: one reminder; at the due time: overdue, the staff told, once.
    due = datetime(2026, 12, 5, 15, 59, tzinfo=UTC)
    await _at(harness, clock, due - timedelta(days=2) + timedelta(minutes=1))
    assert len([t for t in harness.texts(wang) if "快到期了" in t]) == 1
    await _at(harness, clock, due + timedelta(minutes=1))
    assert len([t for t in harness.texts(wang) if "已超期" in t]) == 1
    assert len([t for t in harness.texts(officer) if "已超期" in t]) == 1

    # The leader reports, then marks it done: the proposer and the voter hear of it.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.tasks.button")
    assert "已超期" in harness.buttons(wang)[0]
    await harness.press(wang, "联系物业")
    await harness.press_key(wang, "council.decision.report")
    await harness.press(wang, "50%")
    await harness.feed(harness.emu.send_photo(wang, caption="物业已派人来看", queue=False))
    assert "进展已记录" in harness.last_text(wang)
    assert "进展 50%：物业已派人来看" in harness.last_text(wang)
    await harness.press_key(wang, "council.decision.mark_done")
    assert "已标记完成" in harness.last_text(wang)
    assert not harness.has_button(wang, "council.decision.mark_done")
    await harness.deliver()
    for person in (zhao, li, officer):
        assert len([t for t in harness.texts(person) if "你说我办" in t]) == 1, person.first_name
    assert not any("你说我办" in t for t in harness.texts(bystander))
    # Someone outside the group cannot report on it, nor see it as theirs.
    await harness.command(li, "council")
    assert not harness.has_button(li, "council.tasks.button")
    # The past meeting shows the decision done.
    await harness.press_key(li, "council.past_button")
    await harness.press(li, "2026-11-25 15:00")
    assert "联系物业更换3号楼前路灯（✅ 已完成）" in harness.last_text(li)
    assert "1. 3号楼前路灯不亮（+0）→ ✅ 通过" in harness.last_text(li)
    assert harness.emu.errors == []


async def test_a_decision_carried_out_by_a_named_resident_picked_with_the_user_picker(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    voter = await world.resident("李建国", world.tree.building2)
    far = await world.resident("外社区", world.tree.other_building)
    stranger = harness.emu.add_user(user_id=4_404, first_name="没用过")  # never used the bot
    await harness.tick()
    clock.set(MEETING + timedelta(minutes=30))
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        voter_user = await s.users.get(voter.id)
        assert voter_user is not None
        vote = await service.open_vote(await s.staff.staffing(officer.id), meeting.id, "修车棚？")
        await service.cast(vote.id, voter_user, 0)
        await s.commit()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.decisions_button")
    await harness.press_key(officer, "council.decision.new")
    await harness.text(officer, "修好5号楼车棚的顶棚")
    await harness.press_key(officer, "council.decision.no_topic")
    await harness.press_key(officer, "council.decision.owner_person")
    from bot.dialogs.council.decide import OWNER_REQUEST

    # Going back removes the picker keyboard and keeps the decision so far.
    await harness.press_key(officer, "council.back")
    assert "先不指定居民" in harness.texts(officer)[-2]
    assert "由谁负责落实" in harness.last_text(officer)
    await harness.press_key(officer, "council.decision.owner_person")
    # Typing a name instead of picking is answered, and the decision so far is kept.
    await harness.text(officer, "王秀英")
    assert "请用下方键盘上的按钮选择" in harness.texts(officer)[-2]
    # Someone of another community, or who never used the bot, is refused by name.
    for outsider, name in ((far, "外社区"), (stranger, "没用过")):
        await harness.feed(harness.emu.share_users(officer, OWNER_REQUEST, [outsider], queue=False))
        assert f"{name} 不是本社区的居民" in harness.texts(officer)[-2]
        assert "请用键盘上的按钮选一位本社区的居民" in harness.last_text(officer)
    await harness.feed(harness.emu.share_users(officer, OWNER_REQUEST, [wang], queue=False))
    assert "由 王秀英 负责落实" in harness.texts(officer)[-2]
    await harness.text(officer, "2026-12-05")
    assert "决议已记录" in harness.last_text(officer)
    assert "负责：王秀英" in harness.last_text(officer)
    [news] = [t for t in harness.texts(wang) if "交给您落实" in t]
    assert "修好5号楼车棚的顶棚" in news

    # She reports it done from her own menu; the voter hears of it, the outsider not.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.tasks.button")
    await harness.press(wang, "修好5号楼")
    await harness.press_key(wang, "council.decision.mark_done")
    assert "已标记完成" in harness.last_text(wang)
    await harness.deliver()
    assert len([t for t in harness.texts(voter) if "你说我办" in t]) == 1
    assert not any("你说我办" in t for t in harness.texts(far))
    assert harness.emu.errors == []


async def test_candidate_appeals_become_topics_and_the_meeting_exports_as_xlsx(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    import io

    from openpyxl import load_workbook
    from sqlalchemy import update

    from storage.appeals.models import Appeal, Level

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英", phone="13911112222")
    called_up = await world.appeal(wang, "楼顶漏水三个月没人管")
    await world.appeal(wang, "门口垃圾桶满了")  # handled at the grid: not a candidate
    async with harness.app.services() as s:
        await s.session.execute(
            update(Appeal)
            .where(Appeal.id == called_up)
            .values(level=Level.COMMUNITY, escalations=1)
        )
        await s.commit()
    await harness.tick()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.topics_button")
    await harness.press_key(officer, "council.host.candidates_button")
    assert len(harness.buttons(officer)) == 2  # the one candidate and 返回
    await harness.press(officer, "楼顶漏水")
    assert "楼顶漏水三个月没人管" in harness.last_text(officer)  # staff may read it
    await harness.text(officer, "1号楼楼顶长期漏水，维修资金如何筹措")
    async with harness.app.services() as s:
        [topic] = (await s.session.execute(select(Topic))).scalars().all()
        assert topic.appeal_id == called_up and topic.state == TopicState.ACCEPTED
        meeting = await s.get(CouncilService).next_meeting(world.tree.community.id)
        assert await s.get(CouncilService).candidate_appeals(meeting) == []
        wang_user = await s.users.get(wang.id)
        assert wang_user is not None
        await s.get(CouncilService).rsvp(meeting.id, wang_user, Answer.YES)
        await s.commit()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.xlsx.meeting_button")
    document = harness.last(officer)
    assert document.document is not None
    stored = harness.emu.files.get(document.document["file_id"])
    assert stored is not None
    book = load_workbook(io.BytesIO(stored.data))
    assert book.sheetnames == ["会议", "议题", "出席", "表决", "决议"]
    meetings = [list(r) for r in book["会议"].iter_rows(values_only=True)]
    assert meetings[0][:5] == ["社区", "时间", "地点", "状态", "参加"]
    assert meetings[1][:5] == ["通海社区", "2026-11-25 15:00", "地点待定", "未结束", 1]
    topics = [list(r) for r in book["议题"].iter_rows(values_only=True)]
    assert topics[1][2:6] == ["1号楼楼顶长期漏水，维修资金如何筹措", "已列入议程", 1, 0]
    await harness.press_key(officer, "council.xlsx.month_button")
    month = harness.last(officer)
    assert month.document is not None and "2026-11" in (month.caption or "")
    assert harness.emu.errors == []


def test_a_long_agenda_fits_one_message_and_says_what_it_left_out() -> None:
    from bot.dialogs.council.views import agenda_lines
    from bot.i18n import translator
    from storage.council import TopicRow

    rows = [TopicRow(Topic(id=i, text=f"议题{i}：" + "很长的说明" * 200), i) for i in range(1, 26)]
    text = agenda_lines(translator("zh"), rows)
    assert len(text) < 3000
    assert text.count("…（+") == 20 and text.endswith("……另有 5 项，见 /council")
    assert "1. 议题1：很长的说明" in text


async def test_a_full_past_meeting_fits_one_message_and_marks_its_shortened_minutes(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    """The longest of everything (25 long topics with outcomes, 15 long decisions, the
    longest minutes): one message Telegram accepts, the minutes' start marked as cut."""
    from storage.council import Outcome
    from storage.council.decisions import DecisionService
    from storage.council.meetings import MAX_MINUTES

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(DecisionService)
        meeting = await service.next_meeting(world.tree.community.id)
        wang_user = await s.users.get(wang.id)
        assert wang_user is not None
        staffing = await s.staff.staffing(officer.id)
        topics = [
            await service.propose(meeting.id, wang_user, f"议题{i}：" + "楼道里堆满杂物" * 60)
            for i in range(25)
        ]
        for topic in topics:
            await service.accept(staffing, topic.id)
        await s.commit()
    clock.set(MEETING + timedelta(hours=2))
    async with harness.app.services() as s:
        service = s.get(DecisionService)
        staffing = await s.staff.staffing(officer.id)
        for topic in topics:
            await service.set_outcome(staffing, topic.id, Outcome.DISCUSSED)
        for i in range(15):
            await service.decide(
                staffing,
                meeting.id,
                f"决议{i}" + "清理" * 400,
                MEETING + timedelta(days=9),
                owner_id=officer.id,
            )
        await service.close_meeting(
            staffing, meeting.id, "纪" * (MAX_MINUTES - 10) + "这是纪要的结尾"
        )
        await s.commit()
    await harness.deliver()  # the news of her topics and of the decisions go first

    await harness.command(wang, "council")
    await harness.press_key(wang, "council.past_button")
    await harness.press(wang, "2026-11-25 15:00")
    text = harness.last_text(wang)
    assert "→ 💬 已讨论" in text and "另有 5 项" in text
    assert "纪要太长，此处只显示开头" in text and "这是纪要的结尾" not in text
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert harness.emu.errors == []


async def test_the_meetings_screen_lists_the_busiest_buildings_and_counts_the_rest(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    from storage.council import Answer
    from storage.hierarchy import HierarchyRepo, NodeKind

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    await harness.tick()
    async with harness.app.services() as s:
        repo = HierarchyRepo(s.session)
        buildings = [
            await repo.create(
                kind=NodeKind.BUILDING,
                code=f"D-S-C1-G2-X{i}",
                name=f"{i + 10}号楼",
                parent=world.tree.grid2,
                now=clock.now(),
            )
            for i in range(20)
        ]
        await s.commit()
    # Building i has i + 1 residents answering 参加: the busiest are the last ones.
    people = [
        (await world.resident(f"居民{i}-{j}", building), i)
        for i, building in enumerate(buildings)
        for j in range(i + 1 if i >= 15 else 1)
    ]
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        for person, _ in people:
            user = await s.users.get(person.id)
            assert user is not None
            await service.rsvp(meeting.id, user, Answer.YES)
        await s.commit()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    text = harness.last_text(officer)
    assert f"回复：参加 {len(people)} · 不参加 0 · 待定 0" in text
    assert "· 29号楼：参加 20 · 不参加 0 · 待定 0" in text  # the busiest first
    assert sum(f"· {i + 10}号楼：" in text for i in range(20)) == 15
    assert "另有 5 栋楼有回复" in text


def test_a_decision_with_many_long_reports_fits_one_message_newest_first_kept() -> None:
    from zoneinfo import ZoneInfo

    from bot.dialogs.council.views import decision_text
    from bot.formatting import MESSAGE_LIMIT, visible_length
    from bot.i18n import translator
    from storage.council.models import Decision, Report

    decision = Decision(id=7, what="修" * 1000, due_at=MEETING, state="open", percent=40)
    reports = [
        Report(at=MEETING + timedelta(days=i), percent=i, text=f"第{i}次进展" + "说明" * 495)
        for i in range(12)
    ]
    text = decision_text(
        translator("zh"), decision, "王秀英", ZoneInfo("Asia/Shanghai"), MEETING, reports
    )
    assert visible_length(text) <= MESSAGE_LIMIT - 200
    assert "第11次进展" in text and "第0次进展" not in text
    shown = sum(f"第{i}次进展" in text for i in range(12))
    assert f"（更早的 {12 - shown} 条进展略）" in text


async def test_reminder_times_and_a_new_standing_time_after_residents_were_reminded(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.tick()
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.settings_button")
    assert "会前 7天 / 1天 / 2小时" in harness.last_text(officer)
    await harness.press_key(officer, "council.host.set_offsets")
    await harness.text(officer, "三天 一天 一小时")
    assert "请按顺序写三个时间" in harness.last_text(officer)
    await harness.text(officer, "3天 1天 1小时")
    assert "会前 3天 / 1天 / 1小时" in harness.last_text(officer)

    await _at(harness, clock, MEETING - timedelta(days=7, minutes=-1))
    assert not any("征集议题" in t for t in harness.texts(wang))
    await _at(harness, clock, MEETING - timedelta(days=3, minutes=-1))
    assert len([t for t in harness.texts(wang) if "征集议题" in t]) == 1

    # A new standing time after the call for topics went out: she hears of it.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.settings_button")
    await harness.press_key(officer, "council.host.set_time")
    await harness.text(officer, "16:00")
    await harness.deliver()
    [moved] = [t for t in harness.texts(wang) if "改期通知" in t]
    assert "2026-11-25 16:00" in moved and "按新的设置调整" in moved
    await _at(harness, clock, MEETING + timedelta(minutes=1))  # 15:01, an hour before 16:00
    [soon] = [t for t in harness.texts(wang) if "即将开始" in t]
    assert "2026-11-25 16:00" in soon
    assert harness.emu.errors == []
