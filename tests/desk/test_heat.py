"""The heat grid: the node's children as tiles coloured by what is overdue now (or a
measure of the ranking), each opening the level below, down to the grids; the wall
screen's mode (大屏) without navigation, fetching its tiles again by itself; and
nothing outside the person's scope."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.roles import Role
from tests.appeals.test_kpi import build_appeals
from tests.desk.client import Page, signed_in
from tests.harness import Harness, World

_TILE = re.compile(r'<li class="tile heat-(\w+)" data-node="(\d+)" data-value="([^"]*)">')


def tiles(page: Page) -> dict[int, tuple[str, str]]:
    """node id: (colour step, figure shown)."""
    return {int(n): (step, value) for step, n, value in _TILE.findall(page.text)}


async def test_tiles_coloured_by_overdue_now_down_to_the_grids(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    world = World(harness, tree)
    street = await world.staff(Role.STREET_STAFF, tree.street, "街道老周")
    browser = await signed_in(harness, server, street)

    page = await browser.get("/desk/heat")
    assert page.status == 200
    # Overdue now (tests/appeals/test_kpi.py): 4 in 通海社区, none in 正阳社区.
    assert tiles(page) == {tree.community.id: ("4", "4"), tree.other_community.id: ("0", "0")}
    assert 'data-count="overdue">4<' in page.text
    assert 'class="nav"' in page.text and 'href="/desk/heat" aria-current="page"' in page.text
    assert 'href="/desk/ranking"' in page.text  # both pages in the desk's navigation
    # Not the wall: fetched again on a change, and every minute.
    assert 'hx-trigger="every 60s, sse:changed throttle:10s, sse:signedout"' in page.text

    link = f"/desk/heat?node={tree.community.id}"
    assert f'href="{link}"' in page.text
    community = await browser.get(link)
    # 第一网格 has 3 (the most: deepest red), 第二网格 1 (a quarter of the scale up).
    assert tiles(community) == {tree.grid.id: ("4", "3"), tree.grid2.id: ("2", "1")}
    assert f'href="/desk/appeals?grid={tree.grid.id}"' in community.text

    # Another figure: this month's (December: one appeal, nothing accepted yet).
    response = await browser.get(f"{link}&figure=response")
    assert tiles(response) == {tree.grid.id: ("none", "—"), tree.grid2.id: ("4", "0.0%")}
    assert f'href="/desk/heat?node={tree.community.id}&amp;figure=response"' in response.text
    junk = await browser.get(f"{link}&figure=nonsense")
    assert tiles(junk) == tiles(community)


async def test_the_wall_screen_fills_the_screen_and_refreshes_itself(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    world = World(harness, tree)
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅", language="en")
    browser = await signed_in(harness, server, staff)
    screen = await browser.get("/desk/heat?screen=1")
    assert screen.status == 200
    assert 'class="nav"' not in screen.text and 'data-screen="1"' in screen.text
    assert 'sse-connect="/desk/live"' in screen.text
    tiles_url = f"/desk/heat/tiles?node={tree.community.id}&amp;screen=1"
    assert f'hx-get="{tiles_url}"' in screen.text
    assert 'hx-trigger="every 30s, sse:changed throttle:10s, sse:signedout"' in screen.text
    assert screen.has("通海社区 heat grid") and screen.has("Overdue now")
    assert "<script>" not in screen.text and "style=" not in screen.text
    # A tile keeps the wall's mode on the way down... and the refresh reads the same.
    assert f'href="/desk/appeals?grid={tree.grid.id}"' in screen.text
    again = await browser.get(tiles_url.replace("&amp;", "&"))
    assert again.status == 200 and again.text.startswith('<section id="heat"')
    assert tiles(again) == tiles(screen) == {tree.grid.id: ("4", "3"), tree.grid2.id: ("2", "1")}

    # Two days on, at the next refresh: A10, A11 and a new appeal missed their accept
    # promise too, so 第二网格 has the most now.
    resident = await world.resident("王秀英", tree.building3)
    await world.appeal(resident, "路灯坏了")
    clock.set(clock.now().replace(day=3))
    later = await browser.get(tiles_url.replace("&amp;", "&"))
    assert tiles(later) == {tree.grid.id: ("3", "3"), tree.grid2.id: ("4", "4")}


async def test_a_node_outside_scope_has_no_heat_grid(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    world = World(harness, tree)
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    browser = await signed_in(harness, server, staff)
    for path in ("/desk/heat", "/desk/heat/tiles"):
        missing = await browser.get(f"{path}?node=999999")
        assert missing.status == 404
        for node in (tree.street, tree.other_community, tree.other_grid, tree.building):
            page = await browser.get(f"{path}?node={node.id}&screen=1")
            assert page.status == 404 and "正阳社区" not in page.text, (path, node.name)
        grid = await browser.get(f"{path}?node={tree.grid.id}")
        assert grid.status == 200
        assert tiles(grid) == {tree.grid.id: ("4", "3")}  # a grid is its own one tile
