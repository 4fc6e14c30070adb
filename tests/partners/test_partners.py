"""Partners through the emulator: a resident applies (phone only through the contact
button), staff approve or reject with a reason; a resident orders a service, the offer
reaches only approved partners of that skill in the community (without the resident's
data), the first 接单 wins and the others' cards say so, visit, completion, the
resident's confirmation with a rating, and the points; forged presses change nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from emulator.world import EmulatedUser
from storage.appeals import AppealEvent
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.hierarchy import Node
from storage.partners import (
    Application,
    OrderDraft,
    OrderState,
    Partner,
    PartnerService,
    PartnerState,
    PointEntry,
    Rating,
    ServiceOrder,
)
from storage.roles import Role
from tests.harness import Harness, World

NEED = "厨房水龙头漏水，<b>急</b>"


async def _partner(
    harness: Harness, world: World, name: str, skills: list[str], building: Node | None = None
) -> EmulatedUser:
    """An approved partner, straight through the service."""
    person = await world.resident(name, building, phone="13800000000")
    async with harness.app.services() as s:
        user = await s.users.get(person.id)
        assert user is not None
        service = s.get(PartnerService)
        await service.apply(
            user, Application(real_name=name, phone="13800000000", skills=tuple(skills))
        )
        partner = await service.partner(person.id)
        assert partner is not None
        partner.state, partner.decided_at = PartnerState.APPROVED, s.now()
        await s.commit()
    await harness.deliver()
    return person


async def _order(harness: Harness, resident: EmulatedUser, skill_label: str = "🔧 维修") -> None:
    await harness.command(resident, "order")
    await harness.press(resident, skill_label)
    await harness.text(resident, NEED)
    await harness.press_key(resident, "partner.next")
    await harness.press(resident, "明天上午")
    await harness.press_key(resident, "partner.order.submit")


def _cards(harness: Harness, user: EmulatedUser, start: str) -> list[str]:
    return [t for t in harness.texts(user) if t.startswith(start)]


async def test_apply_with_the_contact_button_and_staff_decide(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    other = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "别的社区")
    wang = await world.resident("王秀英")
    await harness.command(wang, "partner")
    await harness.press_key(wang, "partner.apply.button")
    await harness.text(wang, "王秀英")
    # The phone can only come through the button: a typed number is refused, the name kept.
    keyboards = [
        m.sent_reply_markup["keyboard"]
        for m in harness.emu.chat(wang.id).bot_messages
        if m.sent_reply_markup and "keyboard" in m.sent_reply_markup
    ]
    assert keyboards[-1][0][0]["request_contact"] is True
    await harness.text(wang, "13900001234")
    assert "不要手动输入" in harness.last_text(wang)
    await harness.feed(harness.emu.send_contact(wang, "+8613900001234", queue=False))
    await harness.press(wang, "🔧 维修")
    await harness.press(wang, "助老")
    await harness.press_key(wang, "partner.next")
    await harness.press(wang, "周末上午")
    await harness.press_key(wang, "partner.next")
    await harness.text(wang, "退休电工，会修水电")
    screen = harness.last_text(wang)
    assert "王秀英" in screen and "+8613900001234" in screen and "🔧 维修、🧓 助老" in screen
    await harness.press_key(wang, "partner.apply.submit")
    assert "报名已提交" in harness.last_text(wang)

    card = harness.last_text(officer)
    assert "新的合伙人报名" in card and "+8613900001234" in card and "退休电工" in card
    assert not any("新的合伙人报名" in t for t in harness.texts(other))
    # Another community's officer forges 通过: nothing changes.
    message = harness.last(officer)
    data = str(next(b for row in harness.emu.chat(officer.id).inline_buttons() for b in row)[1])
    await harness.press_data(other, message.message_id, data, forged=True)
    async with harness.app.services() as s:
        partner = await s.session.get(Partner, wang.id)
        assert partner is not None and partner.state == PartnerState.PENDING

    await harness.press_key(officer, "partner.button.approve")
    assert "恭喜" in harness.last_text(wang)
    assert harness.buttons(officer) == []  # decided: the card keeps no buttons
    # A doubled press that was already on its way: nothing more happens.
    await harness.press_data(officer, message.message_id, data, forged=True)
    assert "已经处理过" in harness.emu.chat(officer.id).callback_answers[-1]["text"]
    assert sum("恭喜" in t for t in harness.texts(wang)) == 1
    async with harness.app.services() as s:
        partner = await s.session.get(Partner, wang.id)
        assert partner is not None and partner.state == PartnerState.APPROVED
        audit = await s.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "partner.approve")
        )
        assert audit == 1
    await harness.command(wang, "partner")
    assert "您是幸福合伙人" in harness.last_text(wang) and "积分：0 分" in harness.last_text(wang)
    assert harness.emu.errors == []


async def test_a_rejection_carries_its_reason(harness: Harness, world: World) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    li = await world.resident("李建国", phone="13900000001")
    await harness.command(li, "partner")
    await harness.press_key(li, "partner.apply.button")
    await harness.text(li, "李建国")
    await harness.press(li, "理发")
    await harness.press_key(li, "partner.next")
    await harness.press_key(li, "partner.next")
    await harness.press_key(li, "partner.skip")
    await harness.press_key(li, "partner.apply.submit")
    await harness.press_key(officer, "partner.button.reject")
    await harness.feed(harness.emu.send_photo(officer, queue=False))  # no words: refused
    assert "请写一句原因" in harness.last_text(officer)
    await harness.text(officer, "本社区理发志愿者已满，<欢迎>报名其他服务")
    assert "原因：本社区理发志愿者已满，&lt;欢迎&gt;" not in harness.last_text(li)
    assert "本社区理发志愿者已满，<欢迎>报名其他服务" in harness.last_text(li)
    await harness.command(li, "partner")
    assert harness.has_button(li, "partner.apply.button")  # may apply again
    assert harness.emu.errors == []


async def test_an_order_goes_to_partners_of_the_skill_and_the_first_press_wins(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"], world.tree.building3)
    near = await _partner(harness, world, "刘师傅", ["repair", "appliance"], world.tree.building2)
    barber = await _partner(harness, world, "理发赵", ["haircut"])
    far = await _partner(harness, world, "外社区", ["repair"], world.tree.other_building)
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    assert "订单 F00001 已提交" in harness.last_text(resident)

    for p in (fixer, near):
        [offer] = _cards(harness, p, "🛠 新服务订单")
        assert "厨房水龙头漏水，&lt;b&gt;" not in offer and "厨房水龙头漏水，<b>急</b>" in offer
        # Nothing of the resident before taking it.
        assert "王秀英" not in offer and "13911112222" not in offer and "1号楼" not in offer
    assert _cards(harness, barber, "🛠 新服务订单") == []
    assert _cards(harness, far, "🛠 新服务订单") == []
    # The nearer partner (same grid) was offered it first.
    order_of = [
        r.chat_id
        for r in harness.emu.requests
        if r.method == "sendMessage" and "新服务订单" in str(r.params.get("text"))
    ]
    assert order_of[:2] == [near.id, fixer.id]

    # A partner of another skill or community forges 接单: refused.
    offer_message = harness.last(fixer)
    take = str(next(d for row in harness.emu.chat(fixer.id).inline_buttons() for _, d in row))
    for intruder in (barber, far):
        await harness.press_data(intruder, offer_message.message_id, take, forged=True)
        assert "只有本社区" in harness.emu.chat(intruder.id).callback_answers[-1]["text"]
    await harness.press_key(fixer, "partner.button.take")
    # Her press was already on its way when the card changed: a late press.
    await harness.press_data(near, harness.last(near).message_id, take, forged=True)
    assert "手慢了一步" in harness.emu.chat(near.id).callback_answers[-1]["text"]
    # The loser's card now says it is gone, with no button left to press.
    assert "已被其他合伙人接单" in harness.last_text(near)
    assert harness.buttons(near) == []
    taken = harness.last_text(fixer)
    assert "由您负责" in taken and "王秀英" in taken and "13911112222" in taken
    assert "1号楼" in taken
    assert "张师傅" in harness.last_text(resident)

    await harness.press_key(fixer, "partner.button.visited")
    await harness.press_key(fixer, "partner.button.done")
    assert "请确认并评价" in harness.last_text(resident)
    ask = harness.last(resident)
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    # Confirmed: the same message now says so and asks whether it may be shown (晒单).
    assert harness.last_text(resident).startswith("✅ 订单 F00001 已确认完成，您的评价：😊 满意")
    assert "社区晒单" in harness.last_text(resident)
    assert harness.buttons(resident) == [
        harness.label(resident, "partner.button.show"),
        harness.label(resident, "partner.button.hide"),
        harness.label(resident, "partner.button.comment"),
    ]
    # The second of a double tap, and a forged 不满意 after it: the first answer stands.
    for data in ("ptn:confirm_satisfied:1", "ptn:confirm_unsatisfied:1"):
        await harness.press_data(resident, ask.message_id, data, forged=True)
    # Someone else cannot confirm it either.
    await harness.press_data(near, ask.message_id, "ptn:confirm_unsatisfied:1", forged=True)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.state == OrderState.CONFIRMED
        assert order.rating == "satisfied" and order.partner_id == fixer.id
        ledger = (await s.session.execute(select(PointEntry))).scalars().all()
        assert [(e.partner_id, e.points, e.tier) for e in ledger] == [(fixer.id, 3, 2)]
    assert "获得 3 积分，现在共 3 分" in harness.last_text(fixer)
    await harness.command(fixer, "partner")
    assert "积分：3 分 · 社区第 1 名" in harness.last_text(fixer)

    # The partner adds a photo of the work; the resident agrees to show it.
    await harness.press_key(fixer, "partner.button.photo")
    await harness.text(fixer, "照片在这")
    assert "请发一张照片" in harness.last_text(fixer)
    await harness.feed(harness.emu.send_photo(fixer, queue=False))
    assert "照片已保存" in harness.last_text(fixer)
    await harness.press_key(resident, "partner.button.show")
    assert harness.buttons(resident) == [harness.label(resident, "partner.button.comment")]
    assert harness.last_text(resident).endswith("已加入社区晒单。")
    # A comment, spoken: the retired resident would rather not type.
    await harness.press_key(resident, "partner.button.comment")
    await harness.feed(harness.emu.send_voice(resident, duration=5, queue=False))
    assert "评价已记下" in harness.last_text(resident)
    async with harness.app.services() as s:
        rated = await s.session.get(ServiceOrder, 1)
        assert rated is not None and rated.comment_voice_file_id is not None
    neighbour = await world.resident("李建国", world.tree.building3)
    await harness.command(neighbour, "showcase")
    shown = harness.last(neighbour)
    assert "通海社区晒单" in (shown.caption or "") and "张师傅" in (shown.caption or "")
    assert shown.raw.get("photo") and "王秀英" not in (shown.caption or "")
    assert "13911112222" not in (shown.caption or "")
    assert harness.emu.errors == []


async def test_nobody_takes_it_staff_assign_and_the_timer_fires_once(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    clock.advance(timedelta(hours=2, minutes=1))
    await harness.tick()
    await harness.tick()
    dispatch = _cards(harness, officer, "👉 请派单")
    assert len(dispatch) == 1 and "无人接单" in dispatch[0] and "13911112222" in dispatch[0]
    await harness.press_key(officer, "partner.button.assign")
    await harness.press(officer, "张师傅")
    assert "已派给 张师傅" in harness.last_text(officer)
    assert "社区派单" in harness.last_text(fixer)
    # Declined first: back to staff at once, saying why; then assigned again, accepted.
    await harness.press_key(fixer, "partner.button.decline")
    assert "合伙人无法接单" in harness.last_text(officer)
    await harness.press_key(officer, "partner.button.assign")
    await harness.press(officer, "张师傅")
    await harness.press_key(fixer, "partner.button.accept")
    assert "由您负责" in harness.last_text(fixer)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.state == OrderState.TAKEN
    assert harness.emu.errors == []


async def test_a_recruitment_call_goes_out_as_a_notice_and_closes_at_its_quota(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英", phone="13900000001")
    li = await world.resident("李建国", world.tree.building3, phone="13900000002")
    elsewhere = await world.resident("陈淑珍", world.tree.other_building)
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.call.button")
    await harness.text(officer, "招募“共享奶奶”助老志愿者")
    await harness.text(officer, "每周陪伴独居老人聊天、代买药品")
    await harness.press(officer, "🧓 助老")
    await harness.press_key(officer, "partner.next")
    await harness.text(officer, "十个")
    assert "1–1000" in harness.last_text(officer)
    await harness.text(officer, "1")
    await harness.press(officer, "7 天后")
    preview = harness.last_text(officer)
    assert "将发送给本社区 2 位居民" in preview and "【招募令】招募“共享奶奶”" in preview
    await harness.press_key(officer, "partner.call.publish")
    assert "招募令已发布" in harness.last_text(officer)

    [got] = [t for t in harness.texts(wang) if "【招募令】" in t]
    assert got.startswith("📢 通海社区通知") and "名额：1 人" in got
    assert harness.has_button(wang, "partner.call.apply_button")
    assert not any("【招募令】" in t for t in harness.texts(elsewhere))

    await harness.press_key(wang, "partner.call.apply_button")
    await harness.text(wang, "王秀英")
    # The call's skill comes ticked.
    assert "☑️ 🧓 助老" in harness.buttons(wang)
    await harness.press_key(wang, "partner.next")
    await harness.press_key(wang, "partner.next")
    await harness.press_key(wang, "partner.skip")
    await harness.press_key(wang, "partner.apply.submit")
    async with harness.app.services() as s:
        partner = await s.session.get(Partner, wang.id)
        assert partner is not None and partner.origin == "call" and partner.call_id == 1
    # The quota (1) is filled: the call closed and its author was told once.
    assert "已截止：报名 1 人（名额 1）" in harness.last_text(officer)
    await harness.press_key(li, "partner.call.apply_button")
    assert "已经截止" in harness.emu.chat(li.id).callback_answers[-1]["text"]
    clock.advance(timedelta(days=8))
    await harness.tick()
    assert sum("已截止" in t for t in harness.texts(officer)) == 1
    assert harness.emu.errors == []


async def test_a_neighbour_nominated_with_the_user_picker_is_asked_and_applies(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英", phone="13900000001")
    li = await world.resident("李建国", world.tree.building3, phone="13900000002")
    await harness.command(wang, "partner")
    await harness.press_key(wang, "partner.nominate.button")
    await harness.press_key(wang, "partner.nominate.by_pick")
    await harness.text(wang, "李建国")  # typed instead of picked: told how, nothing lost
    assert "选择要推荐的人" in harness.last_text(wang)
    await harness.feed(harness.emu.share_users(wang, 1001, [li], queue=False))
    await harness.text(wang, "热心肠，会修自行车")
    assert "推荐：李建国" in harness.last_text(wang)
    await harness.press_key(wang, "partner.nominate.submit")
    assert "推荐已提交" in harness.last_text(wang)
    asked = harness.last_text(li)
    assert "邻居 王秀英 推荐您" in asked and "热心肠" in asked
    assert "已请他/她报名" in harness.last_text(officer)
    # Someone else cannot answer for him.
    nominee_button = harness.last(li)
    await harness.press_data(wang, nominee_button.message_id, "ptn:nominee:1", forged=True)
    await harness.press_key(li, "partner.button.nominee")
    await harness.text(li, "李建国")
    await harness.press(li, "🔧 维修")
    await harness.press_key(li, "partner.next")
    await harness.press_key(li, "partner.next")
    await harness.press_key(li, "partner.skip")
    await harness.press_key(li, "partner.apply.submit")
    async with harness.app.services() as s:
        partner = await s.session.get(Partner, li.id)
        assert partner is not None and partner.origin == "nominated"
        assert partner.nominated_by == wang.id and partner.state == PartnerState.PENDING
    assert harness.emu.errors == []


async def test_someone_without_the_chat_is_nominated_by_name_and_building(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.command(wang, "partner")
    await harness.press_key(wang, "partner.nominate.button")
    await harness.press_key(wang, "partner.nominate.by_name")
    await harness.text(wang, "赵奶奶")
    await harness.press(wang, "3号楼")
    await harness.text(wang, "会做饭，常给独居老人送饭")
    await harness.press_key(wang, "partner.nominate.submit")
    note = harness.last_text(officer)
    assert "推荐 赵奶奶（3号楼）" in note and "请社区线下联系" in note
    assert harness.emu.errors == []


async def test_a_team_takes_an_order_and_its_leader_hands_it_to_a_member(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    leader = await _partner(harness, world, "孙大姐", ["haircut"])
    granny = await _partner(harness, world, "赵奶奶", ["sewing"], world.tree.building2)
    outsider = await _partner(harness, world, "钱师傅", ["haircut"], world.tree.building3)
    resident = await world.resident("王秀英", phone="13911112222")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.team.new")
    await harness.text(officer, "共享奶奶")
    await harness.press(officer, "孙大姐")
    await harness.press(officer, "🧓 助老")
    await harness.press_key(officer, "partner.team.create")
    assert "团队「共享奶奶」已建立" in harness.last_text(officer)

    await harness.command(leader, "partner")
    await harness.press_key(leader, "partner.team.mine")
    await harness.press_key(leader, "partner.team.invite")
    await harness.press(leader, "赵奶奶")
    assert "邀请已发出" in harness.last_text(leader)
    assert "邀请您加入团队「共享奶奶」" in harness.last_text(granny)
    invite = harness.last(granny)
    # Only the invited partner can answer the invitation.
    await harness.press_data(outsider, invite.message_id, "ptn:join:1", forged=True)
    await harness.press_key(granny, "partner.button.join")

    await _order(harness, resident, "🧓 助老")
    # 助老 is the team's skill, not the leader's own: she may take it for the team only.
    assert harness.buttons(leader) == [harness.label(leader, "partner.button.team_take")]
    assert not any("新服务订单" in t for t in harness.texts(outsider))
    await harness.press_key(leader, "partner.button.team_take")
    assert "由您负责" in harness.last_text(leader)
    await harness.press_key(leader, "partner.button.hand")
    await harness.press(leader, "赵奶奶")
    assert "已交给 赵奶奶" in harness.last_text(leader)
    card = harness.last_text(granny)
    assert "由您负责" in card and "13911112222" in card
    await harness.press_key(granny, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_fair")
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.partner_id == granny.id and order.team_id == 1
        assert await s.get(PartnerService).balance(granny.id) == 3
        assert await s.get(PartnerService).balance(leader.id) == 0
    assert harness.emu.errors == []


async def test_partner_and_resident_talk_through_the_bot_without_seeing_accounts(
    harness: Harness, world: World
) -> None:
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    stranger = await world.resident("李建国", world.tree.building3)
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.msg")
    await harness.text(fixer, "我十分钟后到，<请开门>")
    assert "已转达" in harness.last_text(fixer)
    header, copy = harness.texts(resident)[-2:]
    assert header == "💬 订单 F00001：幸福合伙人 张师傅 说"
    assert copy == "我十分钟后到，<请开门>"
    # A copy, not a forward: nothing names the partner's account.
    assert "forward_origin" not in harness.last(resident).raw
    await harness.press_key(resident, "partner.button.msg")
    await harness.feed(harness.emu.send_voice(resident, duration=4, queue=False))
    assert harness.last(fixer).raw.get("voice") is not None
    assert harness.texts(fixer)[-2] == "💬 订单 F00001：居民说"
    # Someone else's forged 留言 opens nothing.
    await harness.press_data(stranger, harness.last(resident).message_id, "ptn:msg:1", forged=True)
    assert "不再有效" in harness.emu.chat(stranger.id).callback_answers[-1]["text"]
    assert harness.emu.errors == []


async def test_the_month_s_outstanding_partner_is_proposed_once_and_published_as_a_notice(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    busy = await _partner(harness, world, "刘师傅", ["repair"], world.tree.building2)
    resident = await world.resident("王秀英", phone="13911112222")
    neighbour = await world.resident("李建国", world.tree.building3)
    month = clock.now().astimezone(harness.app.settings.zone).strftime("%Y-%m")
    # 张师傅: three orders, all satisfied; 刘师傅: three, one of them unsatisfied.
    for partner, ratings in ((fixer, ["satisfied"] * 3), (busy, ["satisfied", "unsatisfied"] * 2)):
        for rating in ratings[:3]:
            async with harness.app.services() as s:
                service = s.get(PartnerService)
                user = await s.users.get(resident.id)
                assert user is not None
                order = await service.place(user, OrderDraft(skill="repair", description="修"))
                await service.take(order.id, partner.id)
                await service.progress(order.id, partner.id, "done")
                await service.confirm(order.id, resident.id, Rating(rating))
                await s.commit()
    await harness.deliver()
    # Into the next month (the proposal covers the month just ended), twice.
    local = clock.now().astimezone(harness.app.settings.zone)
    clock.advance(timedelta(days=32 - local.day))
    await harness.tick()
    await harness.tick()
    proposals = [t for t in harness.texts(officer) if "优秀幸福合伙人（按规则推荐）" in t]
    assert len(proposals) == 1
    assert "张师傅：9 分，3 单，满意 100%" in proposals[0] and "刘师傅" not in proposals[0]
    await harness.press_key(officer, "partner.button.recognise")
    await harness.tick()
    for person in (neighbour, busy):
        [got] = [t for t in harness.texts(person) if f"🏅 {month} 优秀幸福合伙人" in t]
        assert "张师傅" in got
    assert harness.emu.errors == []


async def test_stats_gain_a_partners_view(harness: Harness, world: World) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair", "elderly"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_unsatisfied")
    await _order(harness, resident)
    await harness.command(officer, "stats")
    await harness.press_key(officer, "partner.stats.button")
    text = harness.last_text(officer)
    assert "在册合伙人 1 人：🔧 维修 1、🧓 助老 1" in text
    assert "本月订单 2 个" in text and "已完成 1" in text and "待接单 1" in text
    assert "完成率：50% · 满意率：0%" in text and "发放积分 3 分" in text
    assert harness.emu.errors == []


async def test_staff_suspend_a_partner_and_adjust_points_with_a_reason(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.admin.people")
    await harness.press(officer, "张师傅")
    await harness.press_key(officer, "partner.admin.adjust")
    await harness.text(officer, "五分 社区清扫")
    assert "格式" in harness.last_text(officer)
    await harness.text(officer, "+5 参加社区清扫")
    assert "已记入 +5 分" in harness.last_text(officer) and "积分 5" in harness.last_text(officer)
    await harness.press_key(officer, "partner.admin.suspend")
    await harness.text(officer, "多次爽约")
    assert "已暂停" in harness.last_text(officer)
    assert "身份已暂停。原因：多次爽约" in harness.last_text(fixer)
    await _order(harness, resident)
    assert not any("新服务订单" in t for t in harness.texts(fixer))
    await harness.press_data(fixer, harness.last(fixer).message_id, "ptn:take:1", forged=True)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.state == OrderState.OPEN
        entries = (await s.session.execute(select(PointEntry))).scalars().all()
        assert [(e.points, e.reason, e.by_id) for e in entries] == [(5, "参加社区清扫", officer.id)]
    assert harness.emu.errors == []


async def test_staff_turn_an_appeal_into_a_service_order_linked_both_ways(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    appeal_id = await world.appeal(resident, "家里灯坏了，我腿脚不便换不了", category="other")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.from_appeal.button")
    await harness.text(officer, "灯")
    assert "诉求编号" in harness.last_text(officer)
    await harness.text(officer, f"{appeal_id:06d}")
    await harness.press(officer, "🔧 维修")
    assert "已转为服务订单 F00001" in harness.last_text(officer)
    assert "已由社区转为幸福合伙人服务订单 F00001" in harness.last_text(resident)
    assert "家里灯坏了" in harness.last_text(fixer)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.appeal_id == appeal_id
        assert order.resident_id == resident.id
        events = await s.session.execute(
            select(AppealEvent.kind, AppealEvent.note).where(AppealEvent.appeal_id == appeal_id)
        )
        assert ("service_order", "F00001") in events.all()
    # Twice is refused: the appeal already has its order.
    await harness.press_key(officer, "partner.from_appeal.button")
    await harness.text(officer, f"{appeal_id:06d}")
    await harness.press(officer, "🔧 维修")
    assert "已经处理过" in harness.last_text(officer)
    assert harness.emu.errors == []


async def test_a_resident_cancels_an_open_order_and_the_offers_say_so(
    harness: Harness, world: World
) -> None:
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    offer = harness.last(fixer)
    await harness.press_key(resident, "partner.button.cancel")
    assert "订单已取消" in harness.emu.chat(resident.id).callback_answers[-1]["text"]
    assert "这个订单已取消" in harness.last_text(fixer) and harness.buttons(fixer) == []
    await harness.press_data(fixer, offer.message_id, "ptn:take:1", forged=True)
    assert "不再有效" in harness.emu.chat(fixer.id).callback_answers[-1]["text"]
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.state == OrderState.CANCELLED
    assert harness.emu.errors == []


async def test_the_month_s_table_is_exported_as_xlsx_in_the_staff_member_s_language(
    harness: Harness, world: World
) -> None:
    import io

    from openpyxl import load_workbook

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.admin.export")
    document = next(m for m in reversed(harness.emu.chat(officer.id).bot_messages) if m.document)
    assert document.document is not None
    stored = harness.emu.files.get(document.document["file_id"])
    assert stored is not None
    sheet = load_workbook(io.BytesIO(stored.data)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows == [
        ["姓名", "积分", "完成订单", "满意", "已评价", "催办"],
        ["张师傅", 3, 1, 1, 1, 0],
    ]
    assert harness.emu.errors == []


async def test_a_shown_order_is_posted_to_the_community_channel_and_taken_back(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    from bot.dialogs.partners.channel import CHANNEL_REQUEST, GROUP_REQUEST

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    harness.emu.add_group(-100501, "通海社区晒单")
    harness.emu.add_group(-100502, "别的频道", bot_member=False)
    harness.emu.add_group(-100601, "通海邻里群", kind="supergroup")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.channel.button")
    assert "还没有设置" in harness.last_text(officer)
    await harness.press_key(officer, "partner.channel.pick")
    # Typing instead of picking: a hint, nothing set.
    await harness.text(officer, "通海社区晒单")
    assert "不用输入" in harness.last_text(officer)
    # The chat app offers only chats the bot is in; picking one needs the shown button.
    try:
        harness.emu.share_chat(officer, CHANNEL_REQUEST, -100502, queue=False)
    except Exception as exc:
        assert "only chats the bot is in" in str(exc)
    else:
        raise AssertionError("a channel without the bot was offered")
    await harness.feed(harness.emu.share_chat(officer, GROUP_REQUEST, -100601, queue=False))
    assert "通海邻里群" in harness.last_text(officer)
    await harness.press_key(officer, "partner.channel.pick")
    await harness.feed(harness.emu.share_chat(officer, CHANNEL_REQUEST, -100501, queue=False))
    assert "「通海社区晒单」" in harness.texts(officer)[-2]
    assert "会同时发到「通海社区晒单」" in harness.last_text(officer)

    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.visited")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    channel = harness.emu.group_chat(-100501)
    assert channel.bot_messages == []  # not before she agrees
    ask = harness.last(resident)
    await harness.press_key(resident, "partner.button.show")
    await harness.deliver()
    [post] = channel.bot_messages
    assert "通海社区晒单" in (post.text or "") and "张师傅" in (post.text or "")
    assert "😊 满意" in (post.text or "")
    for private in ("王秀英", "13911112222", "1号楼", NEED):
        assert private not in (post.text or "")
    # A doubled 同意展示 posts nothing more.
    await harness.press_data(resident, ask.message_id, "ptn:show:1", forged=True)
    await harness.deliver()
    assert len(channel.bot_messages) == 1
    assert harness.emu.group_chat(-100601).bot_messages == []

    # She changes her mind: the post goes.
    await harness.command(resident, "partner")
    async with harness.app.services() as s:
        await s.get(PartnerService).set_showcase(1, resident.id, False)
        await s.commit()
    await harness.deliver()
    assert channel.bot_messages == []
    # Shown again, and withdrawn after Telegram's 48 hours: edited, not deleted.
    async with harness.app.services() as s:
        await s.get(PartnerService).set_showcase(1, resident.id, True)
        await s.commit()
    await harness.deliver()
    [again] = channel.bot_messages
    clock.advance(timedelta(hours=49))
    again.raw["date"] -= 49 * 3600
    async with harness.app.services() as s:
        await s.get(PartnerService).set_showcase(1, resident.id, False)
        await s.commit()
    await harness.deliver()
    [kept] = channel.bot_messages
    assert kept.text == "（居民已撤回展示）"

    # Staff stop posting: a later 晒单 stays in the bot.
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.channel.button")
    await harness.press_key(officer, "partner.channel.stop")
    assert "已停止同步" in harness.last_text(officer)
    async with harness.app.services() as s:
        await s.get(PartnerService).set_showcase(1, resident.id, True)
        await s.commit()
    await harness.deliver()
    assert len(channel.bot_messages) == 1
    assert harness.emu.errors == []


async def test_only_the_community_staff_name_its_showcase_channel(
    harness: Harness, world: World
) -> None:
    from storage.partners.rules import PartnerError

    other = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "别的社区")
    resident = await world.resident("王秀英")
    async with harness.app.services() as s:
        service = s.get(PartnerService)
        for who in (other.id, resident.id):
            staffing = await s.staff.staffing(who)
            try:
                await service.set_showcase_channel(staffing, world.tree.community.id, -100501)
            except PartnerError as exc:
                assert exc.problem.value == "not_allowed"
            else:
                raise AssertionError("outside staff named the channel")
        assert await service.showcase_channel(world.tree.community.id) is None
