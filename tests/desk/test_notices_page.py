"""The desk's notices at a glance: the latest notices of the person's area with the
receipts per grid, and the door-visit lists (names and phones) only for the grid's own
workers, each view audited; nothing of another community, and refused for whoever is not
entitled, for any id in the URL."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from emulator.world import EmulatedUser
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.notices import Notice, NoticeState
from storage.roles import Role, RoleAssignment
from tests.desk.client import DeskBrowser, signed_in
from tests.desk.test_security import _as_resident
from tests.harness import Harness, World
from tests.notices.test_notices import BODY, _send, _write

ELSEWHERE = "正阳社区周日停水检修。"
PHONE = "+8613800000001"


async def _notice_ids(harness: Harness) -> list[int]:
    async with harness.app.services() as s:
        return list((await s.session.execute(select(Notice.id).order_by(Notice.id))).scalars())


async def _viewed(harness: Harness) -> list[AuditEntry]:
    async with harness.app.services() as s:
        stmt = select(AuditEntry).where(AuditEntry.action == "desk.notice_visits_viewed")
        return list((await s.session.execute(stmt)).scalars())


async def _two_communities(
    harness: Harness, world: World, clock: ManualClock
) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, int, int]:
    """A notice asking for 已收到 in 通海社区 whose door-visit lists went out (王秀英 of
    第一网格 never confirmed), and one in 正阳社区. Returns the officer, the worker of
    第一网格, the other community's officer and the two notices' ids."""
    tree = world.tree
    officer = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    stranger = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟")
    await world.resident("王秀英", phone=PHONE)
    await world.resident("李建国", tree.building2)
    zhou = await world.resident("周晓燕", tree.building3)
    await world.resident("张桂兰", tree.other_building, phone="+8613900000009")
    await _write(harness, officer)
    await _send(harness, officer, ack=True)
    await _write(harness, stranger, ELSEWHERE)
    await _send(harness, stranger, ack=True)
    await harness.deliver()
    await harness.press_key(zhou, "notice.button.ack")
    clock.advance(timedelta(hours=25))
    await harness.tick()
    clock.advance(timedelta(hours=25))
    await harness.tick()
    ours, theirs = await _notice_ids(harness)
    return officer, worker, stranger, ours, theirs


async def test_latest_notices_with_receipts_per_grid_and_the_worker_s_door_visit_list(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    officer, worker, _, ours, theirs = await _two_communities(harness, world, clock)
    assert "王秀英" in harness.last_text(worker)  # the chat sent her the list

    desk = await signed_in(harness, server, officer)
    page = await desk.get("/desk/notices")
    assert page.status == 200
    assert page.has(BODY) and not page.has(ELSEWHERE)
    assert f'data-notice="{ours}"' in page.text and f'data-notice="{theirs}"' not in page.text
    # Receipts per grid: 第一网格 0 of 2 households, 第二网格 1 of 1.
    assert '<tr data-grid="第一网格"><td>第一网格</td><td>0</td><td>2</td></tr>' in page.text
    assert '<tr data-grid="第二网格"><td>第二网格</td><td>1</td><td>1</td></tr>' in page.text
    assert page.has("在聊天中打开 /notices")
    assert 'href="/desk/notices" aria-current="page"' in page.text  # in the navigation
    # The officer gets no door-visit list in the chat, so none here either.
    assert "/visits/" not in page.text and "王秀英" not in page.text and PHONE not in page.text
    refused = await desk.get(f"/desk/notices/{ours}/visits/{tree.grid.id}")
    assert refused.status == 404 and PHONE not in refused.text
    narrowed = await desk.get(f"/desk/notices?node={tree.grid.id}")
    assert narrowed.status == 200 and narrowed.has("第一网格的通知")
    assert (await desk.get(f"/desk/notices?node={tree.other_community.id}")).status == 404
    assert await _viewed(harness) == []

    # The grid worker: her list, with the names and phones the chat sent her, audited.
    mine = await signed_in(harness, server, worker)
    page = await mine.get("/desk/notices")
    link = f"/desk/notices/{ours}/visits/{tree.grid.id}"
    assert page.status == 200 and f'href="{link}"' in page.text
    assert not page.has(ELSEWHERE) and f"/desk/notices/{theirs}/" not in page.text
    visits = await mine.get(link)
    assert visits.status == 200
    assert visits.has("王秀英") and visits.has(PHONE) and visits.has("1号楼")
    assert visits.has("李建国") and visits.has("2号楼")  # 第一网格, not confirmed either
    assert not visits.has("周晓燕") and not visits.has("张桂兰")  # another grid's, community's
    viewed = await _viewed(harness)
    assert [(v.actor_id, v.object_id, v.details.get("grid_id")) for v in viewed] == [
        (worker.id, str(ours), tree.grid.id)
    ]
    # Not another grid's list, nor another community's notice.
    for path in (
        f"/desk/notices/{ours}/visits/{tree.grid2.id}",
        f"/desk/notices/{theirs}/visits/{tree.other_grid.id}",
        f"/desk/notices/{ours}/visits/{tree.other_grid.id}",
        f"/desk/notices/{ours}/visits/99999999999",
        f"/desk/notices/nonsense/visits/{tree.grid.id}",
    ):
        page = await mine.get(path)
        assert page.status == 404 and PHONE not in page.text, path
    assert len(await _viewed(harness)) == 1

    # Stopped by its sender: the chat sends no list any more, and the desk shows none.
    async with harness.app.services() as s:
        notice = await s.session.get(Notice, ours)
        assert notice is not None
        notice.state = NoticeState.RECALLED
    assert (await mine.get(link)).status == 404
    assert f'href="{link}"' not in (await mine.get("/desk/notices")).text
    assert len(await _viewed(harness)) == 1


async def test_refused_for_another_node_a_resident_a_revoked_worker_and_nobody(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    _, worker, stranger, ours, _ = await _two_communities(harness, world, clock)
    leaver = await world.staff(Role.WORKER, tree.grid, "离职的人")
    resident = await world.resident("老孙")
    leaver_browser = await signed_in(harness, server, leaver)
    async with harness.app.services() as s:
        grant = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == leaver.id)
            )
        ).scalar_one()
        await s.staff.revoke(grant, by=1, now=s.now())
    stranger_browser = await signed_in(harness, server, stranger)
    paths = [
        "/desk/notices",
        f"/desk/notices?node={tree.community.id}",
        f"/desk/notices/{ours}/visits/{tree.grid.id}",
    ]
    for path in paths:
        for who, browser, refused in (
            ("another node", stranger_browser, {404}),
            ("a resident", await _as_resident(harness, server, resident.id), {401, 403}),
            ("revoked", leaver_browser, {401, 403}),
            ("nobody", DeskBrowser(server), {401}),
        ):
            page = await browser.get(path)
            if path == "/desk/notices" and who == "another node":
                assert page.status == 200 and page.has(ELSEWHERE), who  # their own area
            else:
                assert page.status in refused, (path, who, page.status)
            assert not page.has(BODY) and PHONE not in page.text, (path, who)
    # The control: the grid's worker opens each.
    control = await signed_in(harness, server, worker)
    for path in paths[:1] + paths[2:]:
        assert (await control.get(path)).status == 200, path
    assert len(await _viewed(harness)) == 1
