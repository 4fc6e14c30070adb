"""Ballots take the quick lane (bot/quick.py), beside the dialogs' machinery: a resident
midway through a form who presses a ballot on an older card has the ballot counted and
the form still waiting where it was; a press the lane does not know (forged data) goes
the ordinary way and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.council import Ballot, CouncilService, Topic
from storage.roles import Role
from tests.harness import Harness, World


async def test_a_ballot_pressed_midway_through_a_form_leaves_the_form_as_it_was(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        vote = await service.open_vote(
            await s.staff.staffing(officer.id), meeting.id, "是否同意增设充电棚？"
        )
        await s.commit()
    await harness.deliver()
    card = harness.last(wang)
    assert "是否同意增设充电棚？" in (card.text or "")

    # The topic form waits for her text; she presses 同意 on the card above it first.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.propose.button")
    form = harness.last(wang)
    requests = len(harness.emu.requests)
    await harness.press_data(wang, card.message_id, f"cnl:ballot:{vote.id}:0")
    assert "已投：同意" in harness.emu.chat(wang.id).callback_answers[-1]["text"]
    touched = {r.params.get("message_id") for r in harness.emu.requests[requests:]}
    assert form.message_id not in touched  # the form's screen was left alone
    await harness.text(wang, "东门晚上没有路灯")
    assert "议题已提交" in harness.last_text(wang)

    # Forged data the lane does not take (no such vote number) changes nothing.
    await harness.press_data(wang, card.message_id, "cnl:ballot:x:0", forged=True)
    async with harness.app.services() as s:
        ballots = (await s.session.execute(select(Ballot.user_id, Ballot.choice))).all()
        topics = (await s.session.scalars(select(Topic.text))).all()
    assert [(b.user_id, b.choice) for b in ballots] == [(wang.id, 0)]
    assert list(topics) == ["东门晚上没有路灯"]
    assert harness.emu.errors == []
