"""What the decision form asks for can be done as asked: after a refused pick the picker
keyboard comes back with the refusal (a one-time keyboard has folded away), and the
format examples of a date or a time are in the future, computed from the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.dialogs.council.decide import OWNER_REQUEST
from emulator.world import EmulatedUser, StoredMessage
from storage.clock import ManualClock
from storage.roles import Role
from tests.harness import Harness, World

MEETING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai


def _picker(message: StoredMessage) -> list[dict[str, Any]]:
    """The request_users buttons a message brought up as the chat's keyboard."""
    rows = (message.sent_reply_markup or {}).get("keyboard") or []
    return [b["request_users"] for row in rows for b in row if b.get("request_users")]


def _bot_messages_since(harness: Harness, user: EmulatedUser, count: int) -> list[StoredMessage]:
    return harness.emu.chat(user.id).bot_messages[count:]


async def test_a_refused_owner_brings_the_keyboard_back_and_dates_are_asked_in_the_future(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    far = await world.resident("外社区", world.tree.other_building)
    await harness.tick()
    # 11 December, after the November meeting: "2026-12-10" would be yesterday.
    clock.set(datetime(2026, 12, 11, 1, 0, tzinfo=UTC))
    await harness.tick()

    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.decisions_button")
    await harness.press_key(officer, "council.decision.new")
    await harness.text(officer, "修好5号楼车棚的顶棚")
    await harness.press_key(officer, "council.decision.no_topic")
    await harness.press_key(officer, "council.decision.owner_person")

    # Someone of another community: refused by name, with the picker keyboard again.
    seen = len(harness.emu.chat(officer.id).bot_messages)
    await harness.feed(harness.emu.share_users(officer, OWNER_REQUEST, [far], queue=False))
    answer = _bot_messages_since(harness, officer, seen)
    refusal = [m for m in answer if "外社区 不是本社区的居民" in (m.text or "")]
    assert refusal and [b["request_id"] for b in _picker(refusal[0])] == [OWNER_REQUEST]
    assert harness.last(officer) is answer[-1]  # the prompt under it, with its back button
    assert "请用键盘上的按钮选一位本社区的居民" in harness.last_text(officer)
    # Typing instead of picking: the same.
    seen = len(harness.emu.chat(officer.id).bot_messages)
    await harness.text(officer, "王秀英")
    hint = _bot_messages_since(harness, officer, seen)[0]
    assert "请用下方键盘上的按钮选择" in (hint.text or "") and _picker(hint)

    await harness.feed(harness.emu.share_users(officer, OWNER_REQUEST, [wang], queue=False))
    ask = harness.last_text(officer)
    assert "格式：2026-12-25" in ask  # two weeks from today, not a day already gone
    await harness.text(officer, "2026-12-10")
    assert "这一天已经过去了" in harness.last_text(officer)
    assert "例如：2026-12-25" in harness.last_text(officer)
    await harness.text(officer, "2026-12-20")
    assert "决议已记录" in harness.last_text(officer)
    assert harness.emu.errors == []


async def test_moving_the_meeting_gives_an_example_after_it(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    await harness.tick()
    clock.set(MEETING - timedelta(days=1))
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.move_button")
    assert "格式：2026-11-27 15:00" in harness.last_text(officer)
    await harness.text(officer, "2026-11-20 15:00")
    assert "这个时间已经过去了" in harness.last_text(officer)
    assert "例如：2026-11-27 15:00" in harness.last_text(officer)
    assert harness.emu.errors == []
