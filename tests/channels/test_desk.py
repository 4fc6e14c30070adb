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


async def test_admins_manage_channels_on_the_desk_with_the_chats_rule(
    harness: Harness, world: World, api: Open311, server: TestServer
) -> None:
    import re

    admin = await world.staff(Role.ADMIN, None, "管理员")
    other = await world.staff(Role.ADMIN, world.tree.other_community, "社区管理员")
    staff = await world.staff(Role.DISTRICT_STAFF, world.tree.district, "林慧")
    key_re = re.compile(r"g311_[A-Za-z0-9_-]{32}")
    try:
        desk = await signed_in(harness, server, admin)
        page = await desk.get("/desk/channels")
        assert page.status == 200 and page.has("还没有渠道")
        street = world.tree.street.id
        made = await desk.post("/desk/channels", {"node_id": str(street), "name": "街道网站"})
        assert made.status == 200 and made.has("只显示这一次")
        [key] = key_re.findall(made.text)
        assert made.headers["Cache-Control"] == "no-store"
        assert (await api.get("/requests.json", api_key=key)).status == 200
        again = await desk.get("/desk/channels")
        assert key not in again.text and key[:9] in again.text
        channel_id = re.search(r'data-channel="(\d+)"', again.text).group(1)  # type: ignore[union-attr]
        bad = await desk.post("/desk/channels", {"node_id": str(street), "name": ""})
        assert bad.status == 400

        outsider = await signed_in(harness, server, other)
        refused = await outsider.post(f"/desk/channels/{channel_id}/rotate")
        assert refused.status == 404 and not key_re.findall(refused.text)
        assert (await outsider.get("/desk/channels")).has("还没有渠道")
        worker_desk = await signed_in(harness, server, staff)
        assert (await worker_desk.get("/desk/channels")).status == 403

        rotated = await desk.post(f"/desk/channels/{channel_id}/rotate")
        [new] = key_re.findall(rotated.text)
        assert new != key and (await api.get("/requests.json", api_key=key)).status == 403
        gone = await desk.post(f"/desk/channels/{channel_id}/revoke")
        assert gone.status == 303
        assert (await api.get("/requests.json", api_key=new)).status == 403
        no_csrf = await desk.post(f"/desk/channels/{channel_id}/rotate", csrf=False)
        assert no_csrf.status == 403
    finally:
        while OPEN:
            await OPEN.pop().close()


async def test_a_supervisor_records_the_callers_rating_on_the_desk(
    harness: Harness, world: World, api: Open311, server: TestServer
) -> None:
    from storage.appeals import Appeal, State
    from storage.appeals.kpi import node_kpis

    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    _, key = await make_channel(harness, world)
    number = int((await api.post("/requests.json", _form(key))).json()[0]["service_request_id"])
    resident = await world.resident()
    chat_appeal = await world.appeal(resident)
    for appeal_id in (number, chat_appeal):
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            await s.get(AppealService).accept(appeal_id, staffing)
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            await s.get(AppealService).resolve(appeal_id, staffing, "已清理")
    try:
        owner = await signed_in(harness, server, worker)
        page = await owner.get(f"/desk/appeals/{number}")
        assert 'data-action="caller-rating"' not in page.text  # never the owner herself
        refused = await owner.post(f"/desk/appeals/{number}/caller-rating", {"rating": "satisfied"})
        assert refused.status == 403
        desk = await signed_in(harness, server, community)
        assert (
            'data-action="caller-rating"'
            not in (await desk.get(f"/desk/appeals/{chat_appeal}")).text
        )  # a resident rates in the chat
        page = await desk.get(f"/desk/appeals/{number}")
        assert 'data-action="caller-rating"' in page.text
        done = await desk.post(
            f"/desk/appeals/{number}/caller-rating", {"rating": "basically", "comment": "还行"}
        )
        assert done.status == 303
        async with harness.app.services() as s:
            appeal = await s.session.get(Appeal, number)
            assert appeal is not None and appeal.state == State.CLOSED
            assert appeal.rating == "basically"
            figures = await node_kpis(s.session, world.tree.grid, "2026-11", now=s.now())
        assert figures.node.rated == 1 and figures.node.satisfied == 1
        again = await desk.post(f"/desk/appeals/{number}/caller-rating", {"rating": "satisfied"})
        assert again.status == 403
    finally:
        while OPEN:
            await OPEN.pop().close()
