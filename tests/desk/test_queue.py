"""The live queue: every open appeal in the person's scope, overdue first with how long,
then by the time left to the promise; the counts on top; the filters; and nothing of
another node's appeals, whatever the URL asks for."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestServer

from storage.appeals import AppealService, Rating
from storage.clock import ManualClock
from storage.roles import Role
from tests.desk.client import Page, signed_in
from tests.harness import Harness, World


def ids(page: Page) -> list[int]:
    return [int(i) for i in re.findall(r'data-appeal="(\d+)"', page.text)]


def counts(page: Page) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', page.text)}


async def _staffing(harness: Harness, user_id: int):  # type: ignore[no-untyped-def]
    async with harness.app.services() as s:
        return await s.staff.staffing(user_id)


async def test_every_open_appeal_in_scope_overdue_first_with_how_long(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    neighbour = await world.resident("李建国", tree.building3)
    elsewhere = await world.resident("张桂兰", tree.other_building)
    first = await world.appeal(resident, "楼道灯坏了")
    second = await world.appeal(neighbour, "垃圾没人收", category="property")
    foreign = await world.appeal(elsewhere, "别的社区的事")
    cancelled = await world.appeal(resident, "我自己撤销了")
    async with harness.app.services() as s:
        await s.get(AppealService).cancel(cancelled, resident.id)
    clock.advance(timedelta(hours=25))
    await harness.tick()  # the accept promise passed: both went up to the community
    fresh = await world.appeal(resident, "新的诉求")

    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/appeals")
    assert page.status == 200
    assert ids(page) == [first, second, fresh]
    assert foreign not in ids(page) and cancelled not in ids(page)
    assert counts(page) == {"open": 3, "overdue": 2, "waiting": 3, "at_level": 2}
    overdue_rows = re.findall(r'<tr class="appeal overdue[^"]*" data-appeal="(\d+)"', page.text)
    assert [int(i) for i in overdue_rows] == [first, second]
    assert page.has("超时 1 小时") and page.has("剩 1 天")
    assert page.has("通海社区 · 第一网格 · 1号楼") and page.has("物业服务")
    await browser.close()


async def test_the_filters_narrow_the_queue_and_a_forged_one_shows_nothing_foreign(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    staff = await world.staff(Role.STREET_STAFF, tree.street, "马国庆")
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    neighbour = await world.resident("李建国", tree.building3)
    plain = await world.appeal(resident, "楼道灯坏了")
    urgent = await world.appeal(neighbour, "", urgent=True, category="urgent")
    called = await world.appeal(resident, "要社区协调", category="disputes")
    reopened = await world.appeal(resident, "修得不好")
    worker_staffing = await _staffing(harness, worker.id)
    async with harness.app.services() as s:
        service = s.get(AppealService)
        await service.call_up(called, worker_staffing, "需要社区出面")
        await service.accept(reopened, worker_staffing)
        await service.resolve(reopened, worker_staffing, "已修好")
        await service.rate(reopened, resident.id, Rating.UNSATISFIED, "还是坏的")

    browser = await signed_in(harness, server, staff)

    async def shown(query: str) -> list[int]:
        page = await browser.get(f"/desk/appeals?{query}")
        assert page.status == 200
        return sorted(ids(page))

    everything = sorted([plain, urgent, called, reopened])
    assert await shown("") == everything
    assert await shown("level=community") == sorted([called, reopened])
    assert await shown("category=disputes") == [called]
    assert await shown(f"grid={tree.grid2.id}") == [urgent]
    assert await shown("state=submitted") == sorted([plain, urgent, called])
    assert await shown("state=reopened") == [reopened]
    assert await shown("urgent=1") == [urgent]
    assert await shown("called_up=1") == [called]
    assert await shown("reopened=1") == [reopened]
    assert await shown("urgent=1&state=submitted") == [urgent]
    # Typed or forged values are not choices: not applied, never an error.
    assert await shown("level=heaven&state=closed&grid=abc&page=-3") == everything
    await browser.close()


async def test_a_grid_outside_scope_finds_nothing(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community)
    elsewhere = await world.resident("张桂兰", tree.other_building)
    foreign = await world.appeal(elsewhere, "别的社区的事")
    browser = await signed_in(harness, server, staff)
    page = await browser.get(f"/desk/appeals?grid={tree.other_grid.id}")
    assert page.status == 200 and ids(page) == [] and foreign not in ids(page)
    assert counts(page)["open"] == 0
    # Nor does the grid list offer it.
    assert f'value="{tree.other_grid.id}"' not in page.text
    assert f'value="{tree.grid2.id}"' in page.text
    await browser.close()


async def test_a_grid_worker_sees_her_grid(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    neighbour = await world.resident("李建国", tree.building3)
    mine = await world.appeal(resident, "楼道灯坏了")
    await world.appeal(neighbour, "第二网格的事")
    browser = await signed_in(harness, server, worker)
    page = await browser.get("/desk/appeals")
    assert ids(page) == [mine]
    assert "at_level" not in counts(page)  # nothing is escalated to a grid
    await browser.close()


async def test_the_rows_come_alone_for_a_live_refresh(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    resident = await world.resident("王秀英")
    first = await world.appeal(resident, "楼道灯坏了")
    browser = await signed_in(harness, server, staff)
    rows = await browser.get("/desk/appeals/rows?state=submitted", **{"HX-Request": "true"})
    assert rows.status == 200
    assert rows.text.lstrip().startswith('<section id="queue"')
    assert ids(rows) == [first]
    assert rows.headers["HX-Replace-Url"] == "/desk/appeals?state=submitted"
    assert 'hx-get="/desk/appeals/rows?state=submitted"' in rows.text
    await browser.close()


async def test_the_page_speaks_the_language_the_person_chose_in_the_bot(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "Lin", language="en")
    resident = await world.resident("王秀英")
    await world.appeal(resident, "楼道灯坏了")
    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/appeals")
    assert '<html lang="en">' in page.text
    assert page.has("Appeal queue") and page.has("Sanitation") and page.has("Not accepted")
    assert not page.has("诉求队列")
    await browser.close()
