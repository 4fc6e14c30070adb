"""The service orders' timers, swept every 30 seconds: 派单 when nobody took an order in
time, reminders to whoever holds one up, then staff. Each order fires in its own
transaction, and a timer fires once across restarts and processes (the UPDATE that moves
it on names the moment it was due)."""

from __future__ import annotations

from bot.faults import crash_point
from bot.scheduling import JobContext
from storage.partners import PartnerService


async def sweep_orders(context: JobContext) -> int:
    async with context.services() as s:
        service = s.get(PartnerService)
        fired = await service.close_due_calls() + await service.propose_recognitions()
        fired += await service.check_channels()
        due = await service.due()
        await s.commit()
    for order_id in due:
        async with context.services() as s:
            what = await s.get(PartnerService).fire(order_id)
            await s.commit()
        if what:
            fired += 1
            crash_point("partners.fired")
    return fired
