"""The open queue's stream brings the rows itself (``/desk/live?view=queue&<filters>``):
what it pushes is what the page's own fetch of the rows gives that person, through the
same scoped query; another node's stream never gets a row outside its scope, however
its address is forged; a person signed out or stripped of the role hears nothing more
but "signedout"."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from storage.roles import Role, RoleAssignment
from tests.desk.client import Stream, signed_in
from tests.harness import Harness, World

QUEUE = "/desk/live?view=queue"


def ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-appeal="(\d+)"', html)}


async def test_a_pushed_row_appears_and_is_what_the_page_would_fetch(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    resident = await world.resident("王秀英")
    first = await world.appeal(resident, "楼道灯坏了")
    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/appeals")
    assert f'sse-connect="{QUEUE}"' in page.text and 'sse-swap="queue"' in page.text
    stream = await Stream.open(browser, QUEUE)
    # On opening, the rows as they are now (a change while the page loaded shows too).
    opening = await stream.until("queue")
    assert ids(opening) == {first}

    second = await world.appeal(resident, "垃圾没人收")
    assert await stream.until("changed") == f"appeal-{second}"
    pushed = await stream.until("queue")
    assert ids(pushed) == {first, second}
    # The same fragment, byte for byte, as the page's GET of its rows for her; lines
    # and all (each sent as a data: line of its own, joined again as EventSource does).
    fetched = await browser.get("/desk/appeals/rows")
    assert fetched.status == 200 and pushed == fetched.text
    assert pushed.count("\n") > 10 and pushed.startswith('<section id="queue"')
    assert "郑红梅" not in pushed and (browser.csrf or "?") not in pushed
    stream.close()

    # With filters (and the page) in the stream's address: those rows, as fetched.
    filtered = await Stream.open(browser, QUEUE + "&urgent=1")
    urgent = await world.appeal(resident, "水管爆了", urgent=True)
    pushed = ""
    while urgent not in ids(pushed):
        pushed = await filtered.until("queue")
    assert ids(pushed) == {urgent}
    assert pushed == (await browser.get("/desk/appeals/rows?urgent=1")).text
    filtered.close()


async def test_another_nodes_stream_never_gets_rows_outside_its_scope(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    here = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    there = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "钱伟")
    mine_browser = await signed_in(harness, server, here)
    their_browser = await signed_in(harness, server, there)
    mine = await Stream.open(mine_browser, QUEUE)
    theirs = await Stream.open(their_browser, QUEUE)
    # Forged: the other community's stream asking for this community's grid.
    forged = await Stream.open(their_browser, f"{QUEUE}&grid={tree.grid.id}")
    for stream in (mine, theirs, forged):
        assert ids(await stream.until("queue")) == set()

    here_appeal = await world.appeal(await world.resident("王秀英"), "楼道灯坏了")
    assert here_appeal in ids(await mine.until("queue"))
    there_appeal = await world.appeal(await world.resident("张桂兰", tree.other_building), "别处")
    # Everything the other community's streams were sent, in order, up to its own row:
    # never this community's (it came first, so any push of it would come before).
    seen: list[tuple[str, str]] = []
    while not seen or there_appeal not in ids(seen[-1][1]):
        seen.append(await theirs.event())
    assert all(here_appeal not in ids(data) for _, data in seen)
    assert all(f"appeal-{here_appeal}" not in data for _, data in seen)
    # The forged grid finds nothing of either: the lookup is scoped, whatever is asked.
    third = await world.appeal(await world.resident("李娜", tree.other_building), "又一件")
    got: list[tuple[str, str]] = []
    while not any(name == "changed" and f"appeal-{third}" in data for name, data in got):
        got.append(await forged.event())
    pushed = await forged.until("queue")
    assert ids(pushed) == set()
    assert all(ids(data) == set() for _, data in got)
    for stream in (mine, theirs, forged):
        stream.close()


async def test_a_revoked_persons_stream_stops_before_any_more_rows(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    resident = await world.resident("王秀英")
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser, QUEUE)
    await stream.until("queue")
    async with harness.app.services() as s:
        grant = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == staff.id)
            )
        ).scalar_one()
        await s.staff.revoke(grant, by=1, now=s.now())
    # A filing in her former scope right after: the stream hears both together.
    filed = await world.appeal(resident, "楼道灯坏了")
    events: list[tuple[str, str]] = []
    try:
        while True:
            events.append(await stream.event(seconds=5))
    except EOFError:
        pass  # the stream ended after saying so
    assert events and events[-1] == ("signedout", "")
    assert [name for name, _ in events] == ["signedout"], events
    assert all(filed not in ids(data) for _, data in events)
    assert (await browser.get("/desk/appeals/rows")).status == 401
    stream.close()


async def test_signing_out_elsewhere_stops_the_open_stream_at_once(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser, QUEUE)
    await stream.until("queue")
    # Another tab of the same session signs out.
    assert (await browser.post("/desk/signout")).status == 200
    # Well before the stream's own periodic check (15 s).
    assert await stream.until("signedout", seconds=5) == ""
    stream.close()
