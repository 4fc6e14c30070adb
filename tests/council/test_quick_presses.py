"""Ballots take the quick lane (bot/quick.py), beside the dialogs' machinery: a resident
midway through a form who presses a ballot on an older card has the ballot counted and
the form still waiting where it was; a press the lane does not know (forged data) goes
the ordinary way and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from sqlalchemy import event, select

from bot.dialogs.council.views import MARK
from bot.i18n import Translator, translator
from bot.quick import Pressed, QuickPress
from emulator.world import EmulatedUser
from storage.council import Ballot, CouncilService, Topic
from storage.roles import Role
from storage.services import Services
from tests.harness import Harness, World


class Probe(CallbackData, prefix="probe"):
    ref: int


async def open_vote(harness: Harness, world: World, officer_id: int) -> int:
    """The community's next meeting opens a vote; its ballot cards are delivered."""
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        vote = await service.open_vote(
            await s.staff.staffing(officer_id), meeting.id, "是否同意增设充电棚？"
        )
        await s.commit()
    await harness.deliver()
    return vote.id


async def test_a_ballot_pressed_midway_through_a_form_leaves_the_form_as_it_was(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    vote_id = await open_vote(harness, world, officer.id)
    card = harness.last(wang)
    assert "是否同意增设充电棚？" in (card.text or "")

    # The topic form waits for her text; she presses 同意 on the card above it first.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.propose.button")
    form = harness.last(wang)
    requests = len(harness.emu.requests)
    await harness.press_data(wang, card.message_id, f"cnl:ballot:{vote_id}:0")
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


async def test_ballots_pressed_at_once_are_written_together_and_each_answered(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    residents = [await world.resident(f"居民{i}") for i in range(12)]
    vote_id = await open_vote(harness, world, officer.id)
    cards = {r.id: harness.last(r).message_id for r in residents}
    lane = harness.app.dispatcher.quick
    assert lane is not None
    writes = lane.writes

    # Everyone presses at once; the first resident presses twice (同意, then 反对).
    raws = [
        harness.emu.press(r, cards[r.id], f"cnl:ballot:{vote_id}:{i % 3}", queue=False)
        for i, r in enumerate(residents)
    ]
    raws.append(
        harness.emu.press(
            residents[0], cards[residents[0].id], f"cnl:ballot:{vote_id}:1", queue=False
        )
    )
    await asyncio.gather(*(harness.feed(raw, deliver=False) for raw in raws))

    assert lane.writes - writes < len(raws)  # written in groups, not one by one
    async with harness.app.services() as s:
        stored = dict((await s.session.execute(select(Ballot.user_id, Ballot.choice))).all())
    expected = {r.id: i % 3 for i, r in enumerate(residents)} | {residents[0].id: 1}
    assert stored == expected
    for raw in raws:  # every press answered, each with what it chose
        query = raw["callback_query"]
        [answer] = [
            a
            for a in harness.emu.chat(query["from"]["id"]).callback_answers
            if a["callback_query_id"] == query["id"]
        ]
        option = ("同意", "反对", "弃权")[int(query["data"].rsplit(":", 1)[1])]
        assert f"已投：{option}" in answer["text"] and not answer.get("show_alert")
    # Each card shows its resident's choice marked, the last press's for the first.
    for r in residents:
        card = harness.emu.chat(r.id).find(cards[r.id])
        assert card is not None
        marked = [t for row in card.inline_buttons() for t, _ in row if t.startswith(MARK)]
        assert marked == [MARK + ("同意", "反对", "弃权")[expected[r.id]]]
    assert harness.emu.errors == []


async def test_pressers_rows_are_refreshed_once_per_group_as_any_update_does(
    harness: Harness, world: World
) -> None:
    """A press refreshes the presser's row as every other update does (their name as
    Telegram says it now, not blocked any more, seen now), for a group in one UPDATE."""
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    residents = [await world.resident(f"居民{i}") for i in range(6)]
    vote_id = await open_vote(harness, world, officer.id)
    cards = {r.id: harness.last(r).message_id for r in residents}
    seen_before = harness.app.clock.now()
    harness.app.clock.advance(timedelta(hours=1))
    renamed, unblocked = residents[0], residents[1]
    renamed.first_name, renamed.username = "王秀英", "wangxy"
    async with harness.app.services() as s:
        row = await s.users.get(unblocked.id)
        assert row is not None
        row.blocked_at = seen_before
        await s.commit()
    updates: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE users"):
            updates.append(statement)

    engine = harness.app.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        raws = [
            harness.emu.press(r, cards[r.id], f"cnl:ballot:{vote_id}:0", queue=False)
            for r in residents
        ]
        await asyncio.gather(*(harness.feed(raw, deliver=False) for raw in raws))
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    lane = harness.app.dispatcher.quick
    assert lane is not None
    # One UPDATE per group and per set of columns: at most the three sets here, fewer
    # than the presses.
    assert 0 < len(updates) < len(residents)
    async with harness.app.services() as s:
        rows = await s.users.get_many([r.id for r in residents])
    now = harness.app.clock.now()
    assert all(rows[r.id].last_seen_at == now for r in residents)
    assert (rows[renamed.id].first_name, rows[renamed.id].username) == ("王秀英", "wangxy")
    assert rows[unblocked.id].blocked_at is None
    assert [rows[r.id].first_name for r in residents[2:]] == [f"居民{i}" for i in range(2, 6)]


async def test_a_group_that_fails_to_be_written_fails_each_of_its_presses_alone(
    harness: Harness, world: World
) -> None:
    """A write that fails (the database away, say) answers each of its pressers with the
    apology; the lane takes the next presses as before."""
    lane = harness.app.dispatcher.quick
    assert lane is not None
    wang = await world.resident("王秀英")
    li = await world.resident("李建国")
    t = translator("zh")
    broken = True
    calls: list[int] = []

    async def apply(services: Services, presses: Sequence[Pressed]) -> list[bool]:
        calls.append(len(presses))
        if broken:
            raise RuntimeError("the database went away")
        return [True] * len(presses)

    async def reply(call: CallbackQuery, data: Any, outcome: Any, t: Translator) -> None:
        await call.answer(t("council.rsvp.done_yes"))

    lane.presses = (QuickPress(Probe, lambda d: True, apply, reply, group=lambda d: d.ref),)
    for u in (wang, li):
        await harness.command(u, "council")  # a message to press under

    def press(u: EmulatedUser) -> dict[str, Any]:
        message = harness.last(u).message_id
        return harness.emu.press_forged(u, message, Probe(ref=1).pack(), queue=False)

    def answer_to(u: EmulatedUser, raw: dict[str, Any]) -> dict[str, Any]:
        key = raw["callback_query"]["id"]
        [answer] = [
            a for a in harness.emu.chat(u.id).callback_answers if a["callback_query_id"] == key
        ]
        return answer

    first = [(u, press(u)) for u in (wang, li)]
    await asyncio.gather(*(harness.feed(raw, deliver=False) for _, raw in first))
    for u, raw in first:
        answer = answer_to(u, raw)
        assert answer["text"] == t("errors.unexpected") and answer["show_alert"]
    assert sum(calls) == 2

    broken = False
    again = press(wang)
    await harness.feed(again, deliver=False)
    assert answer_to(wang, again)["text"] == t("council.rsvp.done_yes")
    assert sum(calls) == 3
