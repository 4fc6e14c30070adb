"""One render of the queue's rows for every open page that would show the same thing:
never one person's rows to someone of another node (or level, or language), never a
render made before a change, or before the clock moved on, to a page fetching after it;
requests that come while a render is under way wait for the next one, not that one."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import uuid
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.web_urldispatcher import PrefixedSubAppResource
from redis.asyncio import Redis

from storage.clock import ManualClock
from storage.roles import Role
from tests.conftest import START
from tests.desk.client import Page, Stream, signed_in
from tests.harness import Harness, World
from web.desk.live import HUB_KEY, LiveHub, encode
from web.desk.shared import Fragment, SharedRenders


def hub_of(server: TestServer) -> LiveHub:
    for resource in server.app.router.resources():
        if isinstance(resource, PrefixedSubAppResource):
            face = resource.get_info()["app"]
            if HUB_KEY in face:
                return face[HUB_KEY]
    raise AssertionError("no desk face")


async def settled(hub: LiveHub) -> None:
    """Until what was committed so far has reached the hub (it counts the changes)."""
    seen = -1
    while seen != hub.version:
        seen = hub.version
        await asyncio.sleep(0.2)


def ids(page: Page) -> set[int]:
    return {int(i) for i in re.findall(r'data-appeal="(\d+)"', page.text)}


async def test_people_of_different_nodes_never_get_each_others_rows(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    here = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    colleague = await world.staff(Role.COMMUNITY_STAFF, tree.community, "孙丽")
    there = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "钱伟")
    worker = await world.staff(Role.WORKER, tree.grid2, "赵丽娟")
    english = await world.staff(Role.COMMUNITY_STAFF, tree.community, "Li", language="en")
    mine = await world.appeal(await world.resident("王秀英"), "楼道灯坏了")
    theirs = await world.appeal(await world.resident("张桂兰", tree.other_building), "别处")
    renders = hub_of(server).renders
    renders.max_age = 600.0  # however slow the machine: only the key and changes decide
    await settled(hub_of(server))

    first = await (await signed_in(harness, server, here)).get("/desk/appeals/rows")
    assert ids(first) == {mine} and renders.renders == 1
    other = await (await signed_in(harness, server, there)).get("/desk/appeals/rows")
    assert ids(other) == {theirs} and renders.renders == 2
    grid = await (await signed_in(harness, server, worker)).get("/desk/appeals/rows")
    assert ids(grid) == set() and renders.renders == 3  # grid 1's appeal: not hers
    en = await (await signed_in(harness, server, english)).get("/desk/appeals/rows")
    assert ids(en) == {mine} and renders.renders == 4 and "Sanitation" in en.text
    # The same node, role and language: the same rows, rendered once; none of the
    # first person in them.
    same = await (await signed_in(harness, server, colleague)).get("/desk/appeals/rows")
    assert same.text == first.text and renders.renders == 4 and renders.shared == 1
    assert "郑红梅" not in same.text and "孙丽" not in same.text
    # Filters are part of the key.
    urgent = await (await signed_in(harness, server, colleague)).get("/desk/appeals/rows?urgent=1")
    assert ids(urgent) == set() and renders.renders == 5


async def test_a_change_is_never_answered_from_a_render_before_it(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    resident = await world.resident("王秀英")
    first = await world.appeal(resident, "楼道灯坏了")
    renders = hub_of(server).renders
    renders.max_age = 600.0
    await settled(hub_of(server))
    browser = await signed_in(harness, server, staff)
    stream = await Stream.open(browser)
    assert ids(await browser.get("/desk/appeals/rows")) == {first}
    assert ids(await browser.get("/desk/appeals/rows")) == {first}
    assert renders.renders == 1 and renders.shared == 1

    second = await world.appeal(resident, "垃圾没人收")
    assert await stream.until("changed") == f"appeal-{second}"
    assert ids(await browser.get("/desk/appeals/rows")) == {first, second}
    assert renders.renders == 2
    stream.close()


async def test_the_clock_moving_on_renders_again(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    await world.appeal(await world.resident("王秀英"), "楼道灯坏了")
    hub_of(server).renders.max_age = 600.0
    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/appeals/rows")
    assert 'class="appeal overdue' not in page.text
    clock.advance(timedelta(hours=25))  # the accept promise (24 h) passed; nothing written
    page = await browser.get("/desk/appeals/rows")
    assert 'class="appeal overdue' in page.text and page.has("超时 1 小时")


# --- the mechanism alone ------------------------------------------------------------------


class Gate:
    """A render that waits to be let through, and says which render it was."""

    def __init__(self) -> None:
        self.count = 0
        self.open = asyncio.Event()

    async def __call__(self) -> tuple[Fragment, datetime | None]:
        self.count += 1
        n = self.count
        await self.open.wait()
        return Fragment(f"render {n}".encode()), None


def text(response: web.Response) -> str:
    assert isinstance(response.body, bytes)
    return response.body.decode()


async def test_requests_during_a_render_wait_for_the_next_one_and_share_it() -> None:
    version = 0
    renders = SharedRenders(lambda: version, ManualClock(START))
    gate = Gate()
    first = asyncio.create_task(renders.get("k", gate))
    await asyncio.sleep(0)
    assert gate.count == 1
    # Three come while it runs: it began before them, so they wait for the next one.
    later = [asyncio.create_task(renders.get("k", gate)) for _ in range(3)]
    other = asyncio.create_task(renders.get("other", gate))
    for _ in range(5):
        await asyncio.sleep(0)
    assert gate.count == 2  # "other" only: the three wait for the first to end
    gate.open.set()
    assert text(await first) == "render 1"
    assert text(await other) == "render 2"
    assert [text(await t) for t in later] == ["render 3"] * 3
    assert gate.count == 3 and renders.shared == 2
    # Nothing changed since: handed out as it is; a change, and it is rendered again.
    assert text(await renders.get("k", gate)) == "render 3"
    version += 1
    assert text(await renders.get("k", gate)) == "render 4"


async def test_when_the_render_fails_those_waiting_render_for_themselves() -> None:
    renders = SharedRenders(lambda: 0, ManualClock(START))
    gate = Gate()
    going = asyncio.create_task(renders.get("k", gate))
    await asyncio.sleep(0)

    async def broken() -> tuple[Fragment, datetime | None]:
        await gate.open.wait()
        raise RuntimeError("the database went away")

    failing = asyncio.create_task(renders.get("k", broken))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(renders.get("k", gate))
    await asyncio.sleep(0)
    gate.open.set()
    assert text(await going) == "render 1"
    try:
        await failing
        raise AssertionError("the render should have failed")
    except RuntimeError:
        pass
    assert text(await waiting) == "render 2"


async def test_a_render_is_not_handed_out_again_before_this_process_caught_up() -> None:
    renders = SharedRenders(lambda: 0, ManualClock(START))
    behind = True

    async def caught_up() -> bool:
        return not behind

    renders.caught_up = caught_up
    gate = Gate()
    gate.open.set()
    assert text(await renders.get("k", gate)) == "render 1"
    # Another process told a page of a change this one has not heard yet.
    assert text(await renders.get("k", gate)) == "render 2"
    behind = False
    assert text(await renders.get("k", gate)) == "render 2"


async def test_with_redis_a_process_is_caught_up_once_it_heard_every_batch(
    harness: Harness,
) -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = harness.app.settings.model_copy(update={"redis_url": url, "redis_prefix": prefix})
    hub = LiveHub(dataclasses.replace(harness.app, settings=settings))
    other = Redis.from_url(url)
    await hub.start()
    try:
        caught_up = hub.renders.caught_up
        assert caught_up is not None and await caught_up()
        # Another process numbered a batch and has not published it yet (or it is on its way).
        seq = int(await other.incr(hub.sequence))
        assert not await caught_up()
        await other.publish(hub.channel, encode([], seq))
        for _ in range(100):
            if await caught_up():
                break
            await asyncio.sleep(0.05)
        assert hub.heard == seq and await caught_up()
    finally:
        await hub.stop()
        await other.delete(hub.sequence)
        await other.aclose()


async def test_a_stream_shares_any_render_begun_since_the_changes_it_heard() -> None:
    version = 5
    renders = SharedRenders(lambda: version, ManualClock(START))
    gate = Gate()
    first = asyncio.create_task(renders.get("k", gate))
    await asyncio.sleep(0)
    # A stream that heard every change up to 5: the render under way (begun at 5) is
    # right for it; a request arriving now waits for the next one.
    stream = asyncio.create_task(renders.pushed("k", gate, 5))
    request = asyncio.create_task(renders.get("k", gate))
    for _ in range(5):
        await asyncio.sleep(0)
    gate.open.set()
    assert text(await first) == "render 1"
    assert (await stream).body == b"render 1"
    assert text(await request) == "render 2"
    # A change later: requests get nothing made before it; a stream that heard only up
    # to 5 still may, one that heard 6 may not.
    version = 6
    assert (await renders.pushed("k", gate, 5)).body == b"render 2"
    assert (await renders.pushed("k", gate, 6)).body == b"render 3"
    assert text(await renders.get("k", gate)) == "render 3"
    assert gate.count == 3


async def test_streams_out_of_step_push_together_under_a_steady_flow(
    harness: Harness, world: World, server: TestServer
) -> None:
    """Three colleagues' open queues (one key), each opened out of step with the others,
    while appeals keep coming: each wave of pushes is one render for all three."""
    tree = world.tree
    resident = await world.resident("王秀英")
    hub = hub_of(server)
    streams = []
    for name in ("郑红梅", "孙丽", "周敏"):
        browser = await signed_in(
            harness, server, await world.staff(Role.COMMUNITY_STAFF, tree.community, name)
        )
        streams.append(await Stream.open(browser, "/desk/live?view=queue"))
        await streams[-1].until("queue")  # the opening push
        await world.appeal(resident, f"{name}开页时的诉求")
        await asyncio.sleep(0.2)  # the next opens at another moment of the others' spacing
    pushes = [0, 0, 0]
    last = 0

    async def follow(i: int) -> None:
        while True:
            if str(last) in re.findall(r'data-appeal="(\d+)"', await streams[i].until("queue")):
                pushes[i] += 1
                return
            pushes[i] += 1

    before = hub.renders.renders
    for n in range(24):  # one filing every 0.15 s, for about 3.6 s
        last = await world.appeal(resident, f"第{n}件", deliver=False)
        await asyncio.sleep(0.15)
    await asyncio.gather(follow(0), follow(1), follow(2))
    renders = hub.renders.renders - before
    # Each stream pushes once a beat at most (3.6 s: about five); out of step, each push
    # of each stream would be a render of its own.
    assert min(pushes) >= 3, pushes
    assert renders <= max(pushes) + 1, (renders, pushes)
    for stream in streams:
        stream.close()
