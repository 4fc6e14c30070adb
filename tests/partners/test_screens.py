"""Partner screens as residents, partners and community staff use them day to day (issue
21): only half days still ahead are offered and accepted, the 晒单 question survives a
comment, a decided application card says what was decided, by whom and when, the form's
steps count on, /partners points a resident to /partner, a showcase channel that stopped
working is reported to the community's staff once, a form opened from a card leaves the
card (and its buttons) in place, and English lists read with commas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.partners import PartnerService, ServiceOrder
from storage.roles import Role
from tests.harness import Harness, World
from tests.partners.test_partners import _order, _partner

# 15:27 in Shanghai on Monday 2 November 2026: the morning is over, the afternoon is not.
AFTERNOON = datetime(2026, 11, 2, 7, 27, tzinfo=UTC)


async def _to_the_when_step(harness: Harness, resident: EmulatedUser) -> None:
    await harness.command(resident, "order")
    await harness.press(resident, "🔧")
    await harness.text(resident, "厨房水龙头漏水")
    await harness.press_key(resident, "partner.next")


async def test_past_half_days_are_neither_offered_nor_accepted(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    clock.set(AFTERNOON)
    resident = await world.resident("王秀英", phone="13911112222")
    await _to_the_when_step(harness, resident)
    buttons = harness.buttons(resident)
    assert not any("今天上午" in b for b in buttons)
    assert "今天下午（11/2）" in buttons and "明天上午（11/3）" in buttons

    # The morning's button from a screen shown earlier in the day: refused, said why.
    screen = harness.last(resident)
    afternoon = next(
        d
        for row in harness.emu.chat(resident.id).inline_buttons()
        for t, d in row
        if t == "今天下午（11/2）"
    )
    assert afternoon is not None
    await harness.press_data(
        resident, screen.message_id, afternoon.replace(":pm", ":am"), forged=True
    )
    assert "您选的时间已经过了" in harness.last_text(resident)

    # Chosen while open, submitted when the afternoon had less than an hour left.
    await harness.press(resident, "今天下午（11/2）")
    clock.set(datetime(2026, 11, 2, 9, 5, tzinfo=UTC))  # 17:05
    await harness.press_key(resident, "partner.order.submit")
    assert "您选的时间已经过了" in harness.last_text(resident)
    assert not any("今天下午" in b for b in harness.buttons(resident))
    async with harness.app.services() as s:
        assert (await s.session.execute(select(ServiceOrder))).first() is None
    await harness.press(resident, "明天上午（11/3）")
    await harness.press_key(resident, "partner.order.submit")
    assert "订单 F00001 已提交" in harness.last_text(resident)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.preferred == "2026-11-03:am"
    assert harness.emu.errors == []


async def test_the_english_choices_read_naturally(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    clock.set(AFTERNOON)
    resident = await world.resident("Mary", language="en", phone="13911112222")
    await _to_the_when_step(harness, resident)
    buttons = harness.buttons(resident)
    assert "This afternoon (11/2)" in buttons and "Tomorrow morning (11/3)" in buttons
    assert not any("Today" in b or "This morning" in b for b in buttons)
    assert harness.emu.errors == []


async def test_the_application_steps_count_on_whether_or_not_the_phone_is_asked(
    harness: Harness, world: World
) -> None:
    known = await world.resident("李建国", phone="13900000001")
    await harness.command(known, "partner")
    await harness.press_key(known, "partner.apply.button")
    assert "（第 1 步，共 4 步）" in harness.last_text(known)
    await harness.text(known, "李建国")
    assert "（第 2 步，共 4 步，可多选）" in harness.last_text(known)
    await harness.press(known, "理发")
    await harness.press_key(known, "partner.next")
    assert "（第 3 步，共 4 步，可多选，可跳过）" in harness.last_text(known)
    await harness.press_key(known, "partner.next")
    assert "（第 4 步，共 4 步，可跳过）" in harness.last_text(known)

    asked = await world.resident("王秀英")
    await harness.command(asked, "partner")
    await harness.press_key(asked, "partner.apply.button")
    assert "（第 1 步，共 5 步）" in harness.last_text(asked)
    await harness.text(asked, "王秀英")
    assert "（第 2 步，共 5 步）" in harness.last_text(asked)
    await harness.feed(harness.emu.send_contact(asked, "+8613900001234", queue=False))
    assert "（第 3 步，共 5 步，可多选）" in harness.last_text(asked)
    await harness.press(asked, "理发")
    await harness.press_key(asked, "partner.next")
    assert "（第 4 步，共 5 步，可多选，可跳过）" in harness.last_text(asked)
    await harness.press_key(asked, "partner.next")
    assert "（第 5 步，共 5 步，可跳过）" in harness.last_text(asked)
    assert harness.emu.errors == []


async def test_a_resident_typing_partners_is_pointed_to_partner(
    harness: Harness, world: World
) -> None:
    resident = await world.resident("王秀英")
    await harness.command(resident, "partners")
    said = harness.last_text(resident)
    assert "权限范围" not in said
    assert "/partner；" in said and "/order" in said
    await harness.command(resident, "partner")
    assert harness.has_button(resident, "partner.apply.button")
    assert harness.emu.errors == []


async def _rated(harness: Harness, world: World) -> EmulatedUser:
    """A resident whose order a partner has done, confirmed 😊 满意: the message asks
    about 晒单."""
    await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    assert "社区晒单" in harness.last_text(resident)
    return resident


async def test_a_comment_does_not_take_the_showcase_question_away(
    harness: Harness, world: World
) -> None:
    resident = await _rated(harness, world)
    asked = harness.last(resident)
    await harness.press_key(resident, "partner.button.comment")
    # The rating stays where it was; the form comes below it.
    rated = harness.emu.chat(resident.id).find(asked.message_id)
    assert rated is not None
    assert rated.text == "✅ 订单 F00001 已确认完成，您的评价：😊 满意。谢谢！"
    assert rated.inline_buttons() == []
    assert harness.last(resident).message_id != asked.message_id
    await harness.text(resident, "张师傅修得很仔细，谢谢！")
    # Said once the comment is in, with its buttons.
    said = harness.last_text(resident)
    assert said.startswith("✍️ 评价已记下，谢谢！") and "愿意把这次服务展示在社区晒单里吗" in said
    assert harness.buttons(resident) == [
        harness.label(resident, "partner.button.show"),
        harness.label(resident, "partner.button.hide"),
    ]
    await harness.press_key(resident, "partner.button.show")
    assert harness.last_text(resident).endswith("已加入社区晒单。")
    assert harness.buttons(resident) == []
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.may_show is True
        assert order.comment == "张师傅修得很仔细，谢谢！"
    assert harness.emu.errors == []


async def test_a_comment_given_up_asks_the_showcase_question_again(
    harness: Harness, world: World
) -> None:
    resident = await _rated(harness, world)
    await harness.press_key(resident, "partner.button.comment")
    await harness.press_key(resident, "partner.cancel_form")
    assert harness.last_text(resident).startswith("愿意把这次服务展示在社区晒单里吗")
    assert harness.buttons(resident) == [
        harness.label(resident, "partner.button.show"),
        harness.label(resident, "partner.button.hide"),
        harness.label(resident, "partner.button.comment"),
    ]
    await harness.press_key(resident, "partner.button.hide")
    assert harness.last_text(resident).endswith("好的，不展示。")
    assert harness.buttons(resident) == [harness.label(resident, "partner.button.comment")]
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.may_show is False
    assert harness.emu.errors == []


async def _apply(harness: Harness, person: EmulatedUser, *, certificate: bool = False) -> None:
    await harness.command(person, "partner")
    await harness.press_key(person, "partner.apply.button")
    await harness.text(person, person.first_name)
    await harness.press(person, "理发")
    await harness.press_key(person, "partner.next")
    await harness.press_key(person, "partner.next")
    if certificate:
        await harness.feed(harness.emu.send_photo(person, queue=False))
    await harness.press_key(person, "partner.skip")
    await harness.press_key(person, "partner.apply.submit")


async def test_a_decided_application_card_says_what_by_whom_and_when(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    colleague = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "孙丽")
    wang = await world.resident("王秀英", phone="13900000001")
    await _apply(harness, wang, certificate=True)
    card = harness.last(officer)
    assert (card.text or "").startswith("🙋 新的合伙人报名")
    theirs = harness.last(colleague)
    clock.set(datetime(2026, 11, 2, 7, 30, tzinfo=UTC))  # 15:30
    await harness.press_key(officer, "partner.button.approve")
    await harness.deliver()
    # Both cards, the presser's and her colleague's: decided, by whom, when; no buttons.
    for who, message in ((officer, card), (colleague, theirs)):
        shown = harness.emu.chat(who.id).find(message.message_id)
        assert shown is not None and shown.inline_buttons() == []
        text = shown.text or ""
        assert text.startswith("🙋 合伙人报名（") and "新的" not in text
        assert text.endswith("✅ 已通过 · 郑红梅 · 11-02 15:30")
        assert "王秀英" in text
    assert harness.emu.errors == []


async def test_a_rejection_card_keeps_its_place_and_says_why(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    li = await world.resident("李建国", phone="13900000002")
    await _apply(harness, li)
    card = harness.last(officer)
    await harness.press_key(officer, "partner.button.reject")
    # The form opens below the card; the card keeps what it says.
    assert harness.last(officer).message_id != card.message_id
    assert "不通过的原因" in harness.last_text(officer)
    kept = harness.emu.chat(officer.id).find(card.message_id)
    assert kept is not None and (kept.text or "").startswith("🙋 新的合伙人报名")
    # Changed her mind: the card gets its buttons back.
    await harness.press_key(officer, "partner.cancel_form")
    kept = harness.emu.chat(officer.id).find(card.message_id)
    assert kept is not None
    assert [t for row in kept.inline_buttons() for t, _ in row] == [
        harness.label(officer, "partner.button.approve"),
        harness.label(officer, "partner.button.reject"),
    ]
    await harness.press_key(officer, "partner.button.reject")
    await harness.text(officer, "本社区理发志愿者已满")
    await harness.deliver()
    kept = harness.emu.chat(officer.id).find(card.message_id)
    assert kept is not None and kept.inline_buttons() == []
    assert "✖️ 未通过 · 郑红梅 · 11-02 09:00\n原因：本社区理发志愿者已满" in (kept.text or "")
    assert harness.emu.errors == []


async def _shown(harness: Harness, fixer: EmulatedUser, resident: EmulatedUser) -> None:
    """One more order done, confirmed and agreed to be shown (晒单)."""
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    await harness.press_key(resident, "partner.button.show")
    await harness.deliver()


async def test_a_channel_that_refuses_posts_is_reported_to_staff_once(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    from bot.dialogs.partners.channel import CHANNEL_REQUEST

    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    colleague = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "孙丽")
    harness.emu.add_group(-100501, "通海社区晒单")
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.channel.button")
    await harness.press_key(officer, "partner.channel.pick")
    await harness.feed(harness.emu.share_chat(officer, CHANNEL_REQUEST, -100501, queue=False))
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _shown(harness, fixer, resident)
    channel = harness.emu.group_chat(-100501)
    assert len(channel.bot_messages) == 1
    # Shown and taken back before it went out: nothing to post, and nothing wrong.
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    await harness.press_key(fixer, "partner.button.done")
    await harness.press_key(resident, "partner.button.confirm_satisfied")
    async with harness.app.services() as s:
        service = s.get(PartnerService)
        await service.set_showcase(2, resident.id, True)
        await service.set_showcase(2, resident.id, False)
        await s.commit()
    await harness.deliver()
    await harness.tick()
    assert len(channel.bot_messages) == 1
    assert not any("晒单发不到" in t for t in harness.texts(officer))

    # Someone removes the bot from the channel: the next post is refused.
    harness.emu.add_group(-100501, "通海社区晒单", bot_member=False)
    await _shown(harness, fixer, resident)
    await harness.tick()
    for staff in (officer, colleague):
        told = [t for t in harness.texts(staff) if "晒单发不到「通海社区晒单」了" in t]
        assert len(told) == 1
        assert "重新加入「通海社区晒单」" in told[0] and "/partners" in told[0]
        assert "「📢 晒单同步频道」→「📢 选择频道或群」" in told[0]
    # Still refused later: nobody is told again.
    await _shown(harness, fixer, resident)
    clock.advance(timedelta(minutes=1))
    await harness.tick()
    await harness.tick()
    assert sum("晒单发不到" in t for t in harness.texts(officer)) == 1
    # The channel's screen says so too.
    await harness.command(officer, "partners")
    await harness.press_key(officer, "partner.channel.button")
    assert "⚠️ 从 " in harness.last_text(officer) and "发不进去了" in harness.last_text(officer)

    # Fixed: the bot is back and the channel picked again; posts get through, and a
    # later breakage would be told again.
    harness.emu.add_group(-100501, "通海社区晒单")
    await harness.press_key(officer, "partner.channel.pick")
    await harness.feed(harness.emu.share_chat(officer, CHANNEL_REQUEST, -100501, queue=False))
    assert "发不进去了" not in harness.last_text(officer)
    await _shown(harness, fixer, resident)
    assert len(channel.bot_messages) == 2
    async with harness.app.services() as s:
        current = await s.get(PartnerService).showcase_channel(world.tree.community.id)
        assert current is not None and current.failing_since is None
    # Another breakage, another kind: the bot may no longer post. Told again, once.
    harness.emu.add_group(-100501, "通海社区晒单", bot_can_post=False)
    clock.advance(timedelta(minutes=1))
    await _shown(harness, fixer, resident)
    await harness.tick()
    again = [t for t in harness.texts(officer) if "晒单发不到" in t]
    assert len(again) == 2 and "need administrator rights" in again[-1]
    # Only the refused posts to the channel went wrong.
    assert {r.chat_id for r in harness.emu.errors} == {-100501}


async def test_english_lists_are_separated_by_commas(harness: Harness, world: World) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "Zheng", language="en")
    li = await world.resident("李建国", phone="13900000002")
    await harness.command(li, "partner")
    await harness.press_key(li, "partner.apply.button")
    await harness.text(li, "李建国")
    await harness.press(li, "理发")
    await harness.press(li, "🔧 维修")
    await harness.press_key(li, "partner.next")
    await harness.press(li, "周末上午")
    await harness.press(li, "周末下午")
    await harness.press_key(li, "partner.next")
    await harness.press_key(li, "partner.skip")
    await harness.press_key(li, "partner.apply.submit")
    card = harness.last_text(officer)
    assert "Services: 💇 Haircut, 🔧 Repairs" in card
    assert "Free: Weekend mornings, Weekend afternoons" in card
    assert "、" not in card
    assert harness.emu.errors == []


async def test_a_message_from_the_card_leaves_the_card_and_its_buttons(
    harness: Harness, world: World
) -> None:
    await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    await harness.press_key(fixer, "partner.button.take")
    card = harness.last(fixer)
    text = card.text
    assert "13911112222" in (text or "")
    buttons = [t for row in card.inline_buttons() for t, _ in row]
    await harness.press_key(fixer, "partner.button.msg")
    await harness.text(fixer, "我下午三点到")
    assert "已转达" in harness.last_text(fixer)
    # The card with the address and phone is still there, with what he may still press.
    kept = harness.emu.chat(fixer.id).find(card.message_id)
    assert kept is not None and kept.text == text
    assert [t for row in kept.inline_buttons() for t, _ in row] == buttons
    # Changed his mind about a second message: the same.
    await harness.press_key(fixer, "partner.button.msg")
    await harness.press_key(fixer, "partner.cancel_form")
    kept = harness.emu.chat(fixer.id).find(card.message_id)
    assert kept is not None and kept.text == text
    assert [t for row in kept.inline_buttons() for t, _ in row] == buttons
    await harness.press_key(fixer, "partner.button.visited")
    assert harness.emu.errors == []


async def test_a_comment_given_up_after_the_showcase_answer_keeps_its_button(
    harness: Harness, world: World
) -> None:
    resident = await _rated(harness, world)
    await harness.press_key(resident, "partner.button.hide")
    answered = harness.last(resident)
    text = answered.text
    await harness.press_key(resident, "partner.button.comment")
    await harness.press_key(resident, "partner.cancel_form")
    kept = harness.emu.chat(resident.id).find(answered.message_id)
    assert kept is not None and kept.text == text
    assert [t for row in kept.inline_buttons() for t, _ in row] == [
        harness.label(resident, "partner.button.comment")
    ]
    assert harness.emu.errors == []
