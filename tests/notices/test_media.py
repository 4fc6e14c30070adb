"""A media notice goes out from the file itself (its file id, caption and formatting
kept with the notice), not copied from the officer's message: if she deletes her message
while the broadcast is still going, the rest still get it."""

from __future__ import annotations

from emulator.world import EmulatedUser
from storage.roles import Role
from tests.harness import Harness, World


async def _send_without_delivering(harness: Harness, officer: EmulatedUser) -> None:
    await harness.press_key(officer, "notice.button.review")
    send = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.send"), queue=False
    )
    await harness.feed(send, deliver=False)
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message
    assert await harness.app.delivery.deliver_one()  # the first copy


async def test_a_media_notice_still_goes_out_after_the_officer_deleted_her_message(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    people = [await world.resident(n) for n in ("于美华", "王秀英", "姜海燕")]

    await harness.command(officer, "notice")
    photo = harness.emu.send_photo(officer, caption="施工区域见图", queue=False)
    await harness.feed(photo)
    await _send_without_delivering(harness, officer)
    harness.emu.delete_own_message(officer, photo["message"]["message_id"])
    await harness.tick()
    for person in people:
        [got] = [m for m in harness.emu.chat(person.id).bot_messages if m.raw.get("photo")]
        assert got.caption == "📢 通海社区通知\n\n施工区域见图"

    await harness.command(officer, "notice")
    document = harness.emu.send_document(
        officer, b"%PDF-1.4 ...", "停水安排.pdf", "application/pdf", caption="停水安排", queue=False
    )
    await harness.feed(document)
    await _send_without_delivering(harness, officer)
    harness.emu.delete_own_message(officer, document["message"]["message_id"])
    await harness.tick()
    for person in people:
        [got] = [m for m in harness.emu.chat(person.id).bot_messages if m.raw.get("document")]
        assert got.raw["document"]["file_name"] == "停水安排.pdf"
        assert got.caption == "📢 通海社区通知\n\n停水安排"
    assert "失败 0" in harness.last_text(officer)
    assert harness.emu.errors == []
