"""The preview before sending shows what residents will get, buttons included: with
要求回执 the ✅ 已收到 button under the notice (pressing it in the preview only explains
it) and a line on the confirm screen saying a receipt is asked for and what follows."""

from __future__ import annotations

from sqlalchemy import select

from emulator.world import EmulatedUser
from storage.notices import NoticeAck
from storage.roles import Role
from tests.harness import Harness, World

BODY = "周六上午停水，请提前储水。"


async def _review(harness: Harness, officer: EmulatedUser, *, ack: bool) -> None:
    await harness.command(officer, "notice")
    await harness.text(officer, BODY)
    if ack:
        await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")


def _preview_buttons(harness: Harness, officer: EmulatedUser) -> list[str]:
    preview = next(m for m in harness.emu.chat(officer.id).bot_messages if BODY in (m.text or ""))
    return [text for row in preview.inline_buttons() for text, _ in row]


async def test_the_preview_shows_the_receipt_button_and_says_a_receipt_is_asked_for(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    await world.resident("王秀英")
    await _review(harness, officer, ack=True)
    ack = harness.label(officer, "notice.button.ack")
    assert _preview_buttons(harness, officer) == [ack]
    confirm = harness.last_text(officer)
    assert "要求回执" in confirm and "24 小时后提醒" in confirm
    await harness.press(officer, ack)  # in the preview: explained, nothing recorded
    answer = harness.emu.chat(officer.id).callback_answers[-1]["text"]
    assert answer == harness.label(officer, "notice.ack_preview")
    async with harness.app.services() as s:
        assert (await s.session.execute(select(NoticeAck))).first() is None
    await harness.press_key(officer, "notice.button.send")
    assert harness.emu.errors == []


async def test_without_a_receipt_the_preview_has_no_button_and_says_so(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    await world.resident("王秀英")
    await _review(harness, officer, ack=False)
    assert _preview_buttons(harness, officer) == []
    assert harness.label(officer, "notice.receipt.not_asked") in harness.last_text(officer)
    assert harness.emu.errors == []
