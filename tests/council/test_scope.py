"""The council's staff screens read what a press names through the person's scope: a
resident who forges her way into them, or staff of another community, learn nothing of
another community's appeals or topics (issue 21, "Scope is not checked where an id is
looked up")."""

from __future__ import annotations

from sqlalchemy import update

from emulator.files import sample_png
from emulator.world import EmulatedUser
from storage.appeals.models import Appeal, Level
from storage.council import CouncilService
from storage.roles import Role
from tests.harness import Harness, World

SECRET = "我家3单元502的邻居半夜装修，我是独居老人很害怕"


async def forge(harness: Harness, user: EmulatedUser, widget: str) -> None:
    """Press ``widget`` (an aiogram-dialog widget id, with ``:item`` for a picker) in the
    dialog the user's newest message shows, whether or not it shows that button."""
    message = harness.last(user)
    data = next(d for row in message.inline_buttons() for _, d in row if d and "\x1d" in d)
    intent = data.split("\x1d", 1)[0]
    await harness.press_data(user, message.message_id, f"{intent}\x1d{widget}", forged=True)


async def _walk_to_candidate(harness: Harness, user: EmulatedUser, appeal_id: int) -> None:
    await harness.command(user, "council")
    await forge(harness, user, "go_host")
    await forge(harness, user, "h_topics")
    await forge(harness, user, "ht_cand")
    await forge(harness, user, f"h_candidate:{appeal_id}")


async def _walk_to_topic_media(harness: Harness, user: EmulatedUser, topic_id: int) -> None:
    await harness.command(user, "council")
    await forge(harness, user, "go_host")
    await forge(harness, user, "h_topics")
    await forge(harness, user, f"h_topic_pick:{topic_id}")
    await forge(harness, user, "tp_media")


async def _escalated_appeal(harness: Harness, world: World, resident: EmulatedUser) -> int:
    appeal_id = await world.appeal(resident, SECRET)
    async with harness.app.services() as s:
        await s.session.execute(
            update(Appeal).where(Appeal.id == appeal_id).values(level=Level.COMMUNITY)
        )
        await s.commit()
    return appeal_id


def _shown(harness: Harness, user: EmulatedUser) -> str:
    return "\n".join(harness.texts(user))


async def test_a_resident_of_another_community_reads_no_appeal_through_the_candidate_picker(
    harness: Harness, world: World
) -> None:
    await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    far = await world.resident("外社区", world.tree.other_building)
    appeal_id = await _escalated_appeal(harness, world, wang)
    await harness.tick()

    await _walk_to_candidate(harness, far, appeal_id)
    assert SECRET not in _shown(harness, far)
    # Even her own appeal is no topic of hers to write: the staff screens stay shut.
    assert harness.label(far, "council.host.add_topic_ask") not in _shown(harness, far)
    assert harness.emu.errors == []


async def test_staff_of_another_community_read_no_appeal_through_the_candidate_picker(
    harness: Harness, world: World
) -> None:
    ours = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    theirs = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "冯伟")
    wang = await world.resident("王秀英")
    appeal_id = await _escalated_appeal(harness, world, wang)
    await harness.tick()

    await _walk_to_candidate(harness, theirs, appeal_id)
    assert SECRET not in _shown(harness, theirs)
    # Typing the topic then puts nothing of it on 正阳's agenda either.
    await harness.text(theirs, "半夜装修扰民")
    async with harness.app.services() as s:
        meeting = await s.get(CouncilService).next_meeting(world.tree.other_community.id)
        rows = await s.get(CouncilService).topics(meeting.id)
        assert all(r.topic.appeal_id != appeal_id for r in rows)

    # The control: 通海's own staff read it there.
    await _walk_to_candidate(harness, ours, appeal_id)
    assert SECRET in harness.last_text(ours)
    assert harness.emu.errors == []


async def test_nobody_outside_the_community_receives_a_topic_photo(
    harness: Harness, world: World
) -> None:
    ours = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    theirs = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "冯伟")
    wang = await world.resident("王秀英")
    far = await world.resident("外社区", world.tree.other_building)
    photo = harness.emu.files.add("photo", sample_png(), "photo.png")
    await harness.tick()
    async with harness.app.services() as s:
        service = s.get(CouncilService)
        meeting = await service.next_meeting(world.tree.community.id)
        user = await s.users.get(wang.id)
        assert user is not None
        topic = await service.propose(meeting.id, user, "楼下", photo_file_id=photo.file_id)
        topic_id = topic.id
        await s.commit()

    for person in (far, theirs):
        await _walk_to_topic_media(harness, person, topic_id)
        assert not any(m.photo for m in harness.emu.chat(person.id).bot_messages), person
    await _walk_to_topic_media(harness, ours, topic_id)
    assert harness.last(ours).photo
    assert harness.emu.errors == []
