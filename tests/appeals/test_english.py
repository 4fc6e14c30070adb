"""An English-speaking resident reads English punctuation in an appeal's history, not
the Chinese marks the Chinese texts use."""

from __future__ import annotations

import re

from storage.appeals import AppealPolicy, AppealService
from storage.roles import Role, StaffRepo
from tests.harness import Harness, World

FULL_WIDTH = re.compile("[：，。！？（）【】、；“”]")


async def test_the_history_of_a_rated_appeal_in_english(harness: Harness, world: World) -> None:
    resident = await world.resident("Anna", language="en")
    worker = await world.staff(Role.WORKER, world.tree.grid)
    appeal_id = await world.appeal(resident, "The stairwell light is broken")
    for action, *args in (("accept",), ("resolve", "Bulb replaced")):
        async with harness.app.services() as s:
            staffing = await StaffRepo(s.session).staffing(worker.id)
            service = AppealService(s.session, harness.app.config.get(AppealPolicy), s.now())
            await getattr(service, action)(appeal_id, staffing, *args)
        await harness.deliver()
    await harness.press(resident, "😊 Satisfied")
    await harness.press_key(resident, "appeal.button.timeline")
    history = harness.last_text(resident)
    assert "rated: 😊 Satisfied" in history
    assert not FULL_WIDTH.search(history), history
