"""The live queue: what is committed (a filing in the chat, an accept, an escalation by
the deadline sweep) reaches an open desk page at once, only within the person's scope;
the clock alone passing a promise refreshes it too; a revoked role signs the page out;
nothing rolled back is ever announced."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.appeals import Appeal, AppealPolicy, AppealService
from storage.changes import Announcer, Change
from storage.clock import ManualClock
from storage.roles import Role, RoleAssignment, StaffRepo
from tests.desk.client import Stream, signed_in
from tests.harness import Harness, World
from web.desk.live import WATCHED, WATCHED_BULK


async def test_a_filing_in_the_chat_reaches_the_open_queue_only_in_scope(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    elsewhere = await world.resident("张桂兰", tree.other_building)
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)

    foreign = await world.appeal(elsewhere, "别的社区的事")
    # The resident files in the chat, as a person does.
    await harness.command(resident, "new")
    await harness.press(resident, "环境卫生")
    await harness.text(resident, "楼道里堆满了杂物")
    await harness.press_key(resident, "resident_appeal.form.confirm")
    async with harness.app.services() as s:
        filed = (
            await s.session.execute(select(Appeal.id).where(Appeal.resident_id == resident.id))
        ).scalar_one()
    assert await stream.until("changed") == f"appeal-{filed}"  # never the other one
    assert await stream.until(f"appeal-{filed}") == ""

    # The grid worker accepts it from her push: the desk hears that too.
    await harness.press_key(worker, "appeal.button.accept")
    assert await stream.until("changed") == f"appeal-{filed}"
    page = await browser.get("/desk/appeals")
    assert page.has("赵丽娟")
    stream.close()
    assert foreign != filed


async def test_an_escalation_by_the_sweep_reaches_the_queue(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)
    clock.advance(timedelta(hours=25))
    await harness.tick()
    assert await stream.until("changed") == f"appeal-{appeal_id}"
    page = await browser.get("/desk/appeals")
    assert page.has("超时 1 小时")
    stream.close()


async def test_the_clock_alone_passing_a_promise_refreshes_the_queue(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community)
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    clock.advance(timedelta(hours=25))
    await harness.tick()
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(staff.id)
        # Assigned with a window past the promise: when the promise passes, nothing is
        # written (no timer is due), yet the appeal is overdue from that moment.
        await s.get(AppealService).assign(appeal_id, staffing, worker.id, timedelta(hours=72))
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)
    page = await browser.get("/desk/appeals")
    assert 'class="appeal overdue' not in page.text
    clock.advance(timedelta(hours=24))  # the resolve promise (48 h) passed an hour ago
    async with harness.app.services() as s:
        assert await s.get(AppealService).due() == []  # no timer: nothing will be written
    assert await stream.until("changed", seconds=5) == ""
    page = await browser.get("/desk/appeals")
    assert 'class="appeal overdue' in page.text and page.has("超时 1 小时")
    stream.close()


async def test_revoking_the_role_signs_the_open_page_out_at_once(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)
    async with harness.app.services() as s:
        grant = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == staff.id)
            )
        ).scalar_one()
        await s.staff.revoke(grant, by=1, now=s.now())
    # Well before the stream's own periodic check (15 s).
    assert await stream.until("signedout", seconds=5) == ""
    assert (await browser.get("/desk/appeals")).status == 401
    stream.close()


async def test_the_server_stops_with_pages_open(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)
    await asyncio.wait_for(server.close(), 10)
    try:
        await stream.event(seconds=5)
        raise AssertionError("the stream should have ended")
    except (EOFError, ConnectionError):
        pass
    stream.close()


async def test_only_what_is_committed_is_announced(
    harness: Harness, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tree = world.tree
    resident = await world.resident("王秀英")
    worker = await world.staff(Role.WORKER, tree.grid)
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    heard: list[list[Change]] = []
    announcer = Announcer(WATCHED, heard.append, WATCHED_BULK)
    announcer.install(sessionmaker)
    try:
        now = harness.app.clock.now()
        async with sessionmaker() as session:
            service = AppealService(session, AppealPolicy(), now)
            staffing = await StaffRepo(session).staffing(worker.id)
            await service.accept(appeal_id, staffing)
            await session.rollback()
        assert heard == []
        async with sessionmaker() as session:
            service = AppealService(session, AppealPolicy(), now)
            staffing = await StaffRepo(session).staffing(worker.id)
            moved = await service.transfer(appeal_id, staffing, tree.grid2, "不是这个网格")
            due = moved.deadline_at
            await session.commit()
        assert heard == [[Change("appeal", appeal_id, (tree.grid2.path, tree.grid.path), due)]]
    finally:
        announcer.uninstall()
    # Uninstalled: nothing more is heard.
    async with sessionmaker() as session:
        await session.get(Appeal, appeal_id)
        await session.commit()
    assert len(heard) == 1
