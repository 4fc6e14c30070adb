"""A channel's appeal on the desk: where it came from, the caller's number only to whom
the chat shows a resident's (then audited), the history naming the channel."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from storage.appeals import AppealService
from storage.audit import AuditEntry
from storage.roles import Role
from tests.channels.conftest import Open311, make_channel
from tests.channels.test_open311 import PHONE, _form
from tests.desk.client import OPEN, signed_in
from tests.harness import Harness, World


async def test_the_desk_shows_the_channel_and_the_caller_to_the_owner(
    harness: Harness, world: World, api: Open311, server: TestServer
) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    _, key = await make_channel(harness, world)
    number = (await api.post("/requests.json", _form(key))).json()[0]["service_request_id"]
    try:
        desk = await signed_in(harness, server, worker)
        page = await desk.get(f"/desk/appeals/{int(number)}")
        assert page.status == 200
        assert page.has("📞 来自12345 热线") and PHONE not in page.text
        assert page.has("提交诉求（12345 热线）")
        async with harness.app.services() as s:
            await s.get(AppealService).accept(int(number), await s.staff.staffing(worker.id))
        page = await desk.get(f"/desk/appeals/{int(number)}")
        assert page.has(f"📞 来自12345 热线 · 王 秀英 · {PHONE}")
        async with harness.app.services() as s:
            viewed = (
                (
                    await s.session.execute(
                        select(AuditEntry).where(AuditEntry.action == "desk.appeal_viewed")
                    )
                )
                .scalars()
                .all()
            )
        assert [v.details["contact"] for v in viewed] == [True]
    finally:
        while OPEN:
            await OPEN.pop().close()
