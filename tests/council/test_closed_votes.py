"""A vote closes after staff confirm it; every ballot card delivered is then edited to the
result without buttons (through the outbox, paced with the broadcasts), and a card
pressed late shows it at once: never two edits of one card (Telegram refuses the
second), never an option left to press on a vote that is over."""

from __future__ import annotations

from datetime import timedelta

from emulator.world import EmulatedUser, StoredMessage
from storage.clock import ManualClock
from storage.council import CouncilService
from storage.roles import Role
from tests.harness import Harness, World


def _card(harness: Harness, user: EmulatedUser, message_id: int) -> StoredMessage:
    found = harness.emu.chat(user.id).find(message_id)
    assert found is not None
    return found


def _edits(harness: Harness, user: EmulatedUser) -> int:
    return sum(r.method == "editMessageText" and r.chat_id == user.id for r in harness.emu.requests)


async def test_closing_asks_then_every_card_shows_the_result_and_a_late_press_sees_it_at_once(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building2)
    zhao = await world.resident("赵大爷", world.tree.building3)
    await harness.tick()
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.vote_button")
    await harness.text(officer, "是否同意更换路灯？")
    await harness.press_key(officer, "council.host.default_options")
    await harness.press_key(officer, "council.host.open_vote")
    await harness.deliver()
    cards = {p.id: harness.last(p).message_id for p in (wang, li, zhao)}
    async with harness.app.services() as s:
        meeting = await s.get(CouncilService).next_meeting(world.tree.community.id)
        [vote] = await s.get(CouncilService).votes(meeting.id)
    await harness.press(wang, "同意")
    await harness.press(zhao, "反对")

    # One tap does not close it: it asks, and "no" leaves it open.
    await harness.press_key(officer, "council.host.close_vote")
    asked = harness.last_text(officer)
    assert "结束这项表决吗" in asked and "线上 2 票" in asked
    await harness.press_key(officer, "council.host.close_no")
    assert "进行中" in harness.last_text(officer)
    assert harness.has_button(officer, "council.host.close_vote")
    # Closed now; its cards' edits wait in the outbox behind this update.
    await harness.press_key(officer, "council.host.close_vote")
    yes = harness.label(officer, "council.host.close_yes")
    await harness.feed(harness.emu.press_button(officer, yes, queue=False), deliver=False)
    assert "表决已结束" in harness.last_text(officer)

    # 李建国 presses his card before its edit came: told, and the card shows the result.
    await harness.feed(harness.emu.press_button(li, "反对", queue=False), deliver=False)
    assert harness.emu.chat(li.id).callback_answers[-1]["text"] == "🙏 表决已经结束了。"
    late = _card(harness, li, cards[li.id])
    assert "表决已结束" in (late.text or "") and "同意：1 票" in (late.text or "")
    assert "您没有在线上投票" in (late.text or "")
    assert harness.emu.chat(li.id).inline_buttons(late) == []

    # The outbox edits every other card, and not his again.
    await harness.deliver()
    for person, mine in ((wang, "您投的是：同意"), (zhao, "您投的是：反对")):
        card = _card(harness, person, cards[person.id])
        text = card.text or ""
        assert "反对：1 票（50%）" in text and mine in text, person.first_name
        assert "截止前可以更改" not in text
        assert harness.emu.chat(person.id).inline_buttons(card) == []
    assert _edits(harness, li) == 1
    # A stale press on an edited card (a client that had not redrawn it) edits nothing.
    before = _edits(harness, wang)
    await harness.press_data(wang, cards[wang.id], f"cnl:ballot:{vote.id}:1", forged=True)
    assert harness.emu.chat(wang.id).callback_answers[-1]["text"] == "🙏 表决已经结束了。"
    assert _edits(harness, wang) == before
    assert harness.emu.errors == []


async def test_a_card_pressed_past_its_time_before_the_sweep_loses_its_buttons_then_the_result(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        vote = await service.open_vote(
            await s.staff.staffing(officer.id),
            meeting.id,
            "是否同意增设充电棚？",
            closes_at=clock.now() + timedelta(minutes=30),
        )
        await s.commit()
    await harness.deliver()
    card_id = harness.last(wang).message_id

    clock.set(clock.now() + timedelta(minutes=31))
    await harness.press(wang, "同意")
    assert harness.emu.chat(wang.id).callback_answers[-1]["text"] == "🙏 表决已经结束了。"
    assert harness.emu.chat(wang.id).inline_buttons(_card(harness, wang, card_id)) == []
    await harness.tick()  # the sweep closes it, publishes the result and edits the card
    text = _card(harness, wang, card_id).text or ""
    assert "表决已结束" in text and "同意：0 票" in text and "您没有在线上投票" in text
    assert f"cnl:ballot:{vote.id}" not in str(_card(harness, wang, card_id).reply_markup)
    assert harness.emu.errors == []
