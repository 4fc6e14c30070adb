"""A finger that taps twice, on a slow network, sends two presses of the same button on the
same message. The second must do nothing the first did not already do: one update at a
time per chat, a press on a screen that is no longer live is only answered, and buttons
of different windows are never confused."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.roles import Role
from tests.harness import Harness, World


def _twice(emu: BotAPIEmulator, user: EmulatedUser, label: str) -> list[dict[str, Any]]:
    """Two presses of the button labelled ``label`` on the message showing it now."""
    return [emu.press_button(user, label, queue=False) for _ in range(2)]


async def _tap_tap(harness: Harness, presses: list[dict[str, Any]], *, together: bool) -> None:
    if together:
        await asyncio.gather(*(harness.feed(p) for p in presses))
    else:
        for press in presses:
            await harness.feed(press)


async def _to_summary(harness: Harness, resident: EmulatedUser) -> None:
    await harness.command(resident, "new")
    await harness.press(resident, "环境卫生")
    await harness.text(resident, "楼道里堆满了杂物")
    assert harness.has_button(resident, "resident_appeal.form.add_location")


async def test_double_tapped_add_location_asks_once_and_keeps_the_form(
    harness: Harness, world: World
) -> None:
    for together in (False, True):
        home = world.tree.building2 if together else world.tree.building
        resident = await world.resident(f"居民{int(together)}", home)
        await _to_summary(harness, resident)
        add = harness.label(resident, "resident_appeal.form.add_location")
        asked = len(harness.texts(resident))
        await _tap_tap(harness, _twice(harness.emu, resident, add), together=together)

        # One keyboard prompt and one location window, still waiting for the location.
        chat = harness.emu.chat(resident.id)
        new = harness.texts(resident)[asked:]
        keyboard_prompt = harness.label(resident, "resident_appeal.form.location_keyboard")
        assert new.count(keyboard_prompt) == 1
        assert chat.reply_keyboard is not None
        assert harness.label(resident, "resident_appeal.form.location") in harness.last_text(
            resident
        )
        answers = [a.get("text") or "" for a in chat.callback_answers]
        assert answers[-2:].count(harness.label(resident, "common.stale_button")) == 1
        # The form goes on as if tapped once.
        await harness.feed(harness.emu.send_location(resident, 37.4, 121.6, queue=False))
        await harness.press_key(resident, "resident_appeal.form.confirm")
        assert "#" in harness.last_text(resident)
    assert harness.emu.errors == []


async def test_double_tapped_excel_export_sends_one_workbook(
    harness: Harness, world: World
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    resident = await world.resident()
    await world.appeal(resident)
    for together in (False, True):
        await harness.command(staff, "stats")
        before = sum(1 for m in harness.emu.chat(staff.id).bot_messages if m.document)
        excel = harness.label(staff, "stats.button.excel")
        await _tap_tap(harness, _twice(harness.emu, staff, excel), together=together)
        documents = sum(1 for m in harness.emu.chat(staff.id).bot_messages if m.document)
        assert documents == before + 1, f"together={together}"
    assert harness.emu.errors == []


async def test_double_tapped_menu_entry_keeps_the_form_it_opened(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    for together in (False, True):
        await harness.command(resident, "menu")
        file_appeal = harness.label(resident, "menu.file_appeal")
        await _tap_tap(harness, _twice(harness.emu, resident, file_appeal), together=together)

        # One form, still waiting for its category; no second menu under it.
        assert harness.label(resident, "resident_appeal.form.category") in harness.last_text(
            resident
        )
        greeting = harness.label(resident, "menu.greeting", name=resident.first_name)
        assert greeting not in harness.last_text(resident)
        await harness.press(resident, "环境卫生")
        assert harness.has_button(resident, "common.back") or "描述" in harness.last_text(resident)
        await harness.command(resident, "menu")  # leave the form for the next round
    assert harness.emu.errors == []
