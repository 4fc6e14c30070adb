"""What is chosen reads one way everywhere (bot/kit/choice.py): "☑️ " before the chosen
option, "⬜ " before each unticked one of a multi-select; an option's own label has no
tick of its own (never "✅ ✅ 参加") and an action ("▶️ 发起表决") never looks ticked."""

from __future__ import annotations

from bot.kit.choice import CHOSEN, UNCHOSEN
from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.roles import Role
from tests.harness import Harness, World

TICKS = ("✅", "✓", "✔", "☑", "【")


def _chosen(harness: Harness, user: EmulatedUser) -> list[str]:
    return [b for b in harness.buttons(user) if b.startswith(CHOSEN)]


def _others(harness: Harness, user: EmulatedUser) -> list[str]:
    """Buttons that are not marked chosen: none of them starts with a tick."""
    return [b for b in harness.buttons(user) if not b.startswith(CHOSEN)]


def _no_tick(buttons: list[str]) -> bool:
    return not any(b.lstrip(UNCHOSEN).startswith(TICKS) for b in buttons)


async def test_one_mark_for_what_is_chosen(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "冯伟")
    wang = await world.resident("王秀英")
    await harness.tick()

    # RSVP on /council: the answer marked once, the other answers plain.
    await harness.command(wang, "council")
    await harness.press_key(wang, "council.rsvp.yes")
    assert _chosen(harness, wang) == [CHOSEN + "参加"]
    assert _no_tick(_others(harness, wang))

    # Opening a vote: the chosen closing time and quorum marked; the action is no option.
    await harness.command(officer, "council")
    await harness.press_key(officer, "council.host_button")
    await harness.press_key(officer, "council.host.vote_button")
    await harness.text(officer, "是否同意更换路灯？")
    await harness.press_key(officer, "council.host.default_options")
    assert _chosen(harness, officer) == [CHOSEN + "工作人员宣布结束", CHOSEN + "不设法定人数"]
    await harness.press(officer, "30")
    assert _chosen(harness, officer) == [CHOSEN + "工作人员宣布结束", CHOSEN + "30"]
    assert UNCHOSEN + "实时公开票数" in harness.buttons(officer)  # an on/off option
    await harness.press_key(officer, "council.host.live_on")
    assert CHOSEN + "实时公开票数" in _chosen(harness, officer)
    assert _no_tick(_others(harness, officer))
    await harness.press_key(officer, "council.host.open_vote")
    await harness.deliver()

    # The ballot card: the option voted for marked.
    await harness.press(wang, "同意")
    assert _chosen(harness, wang) == [CHOSEN + "同意"]
    assert _no_tick(_others(harness, wang))

    # Quiet hours in /settings: the hours chosen marked the same way.
    await harness.command(wang, "settings")
    assert _chosen(harness, wang) == [CHOSEN + "从 22:00", CHOSEN + "到 7:00"]
    assert _no_tick(_others(harness, wang))
    assert harness.emu.errors == []
