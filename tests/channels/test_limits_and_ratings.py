"""Per-key limits (429 with Retry-After, shared through Redis when configured) and the
caller's rating relayed by the channel, counted in the KPIs like a rating in the chat."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis

from storage.appeals import AppealService, State
from storage.appeals.kpi import node_kpis
from storage.channels.limits import ChannelLimits, MemoryBuckets, RedisBuckets
from storage.roles import Role
from tests.channels.conftest import Open311, make_channel
from tests.channels.test_open311 import _appeal, _form
from tests.harness import Harness, World


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_gets_its_burst_then_429_with_retry_after(
    harness: Harness, world: World, api: Open311
) -> None:
    clock = Ticking()
    harness.app.config = harness.app.config.with_overrides([ChannelLimits(monotonic=clock)])
    _, key = await make_channel(harness, world)
    _, other = await make_channel(harness, world, "区政府网站")
    statuses = [(await api.get("/services.json", api_key=key)).status for _ in range(51)]
    assert statuses[:50] == [200] * 50
    assert statuses[50] == 429
    refused = await api.get("/requests.json", api_key=key)
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json()[0]["code"] == 429
    # Another key has its own bucket; the public needs none.
    assert (await api.get("/services.json", api_key=other)).status == 200
    assert (await api.get("/services.json")).status == 200
    clock.now += 0.55  # five requests' worth
    again = [(await api.get("/services.json", api_key=key)).status for _ in range(6)]
    assert again == [200] * 5 + [429]


async def test_buckets_in_memory_and_in_redis_refill_at_the_rate() -> None:
    clock = Ticking()
    limits = ChannelLimits(rate=10, burst=3, monotonic=clock)
    memory = MemoryBuckets()
    assert [await memory.take("k", limits) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await memory.take("k", limits) == pytest.approx(0.1)
    clock.now += 0.15
    assert await memory.take("k", limits) == 0.0
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return
    redis = Redis.from_url(url)
    try:
        # Two processes' limiters share one bucket.
        first = RedisBuckets(redis, f"t{uuid.uuid4().hex[:8]}")
        second = RedisBuckets(redis, first.prefix)
        waits = [await b.take("k", limits) for b in (first, second, first, second)]
        assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] > 0
    finally:
        await redis.aclose()


async def test_the_callers_rating_comes_from_the_channel_and_counts(
    harness: Harness, world: World, api: Open311
) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid)
    _, key = await make_channel(harness, world)
    _, website = await make_channel(harness, world, "区政府网站")
    numbers = []
    for ticket in ("A", "B"):
        filed = await api.post("/requests.json", _form(key, **{"attribute[external_id]": ticket}))
        numbers.append(filed.json()[0]["service_request_id"])
    rate = {"api_key": key, "service_request_id": numbers[0], "status": "closed"}
    early = await api.post(
        "/servicerequestupdates.json", {**rate, "attribute[satisfaction]": "satisfied"}
    )
    assert early.status == 400 and "status" in early.json()[0]["description"]
    for number in numbers:
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            await s.get(AppealService).accept(int(number), staffing)
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            await s.get(AppealService).resolve(int(number), staffing, "已清理")
    stranger = await api.post(
        "/servicerequestupdates.json",
        {**rate, "api_key": website, "attribute[satisfaction]": "satisfied"},
    )
    assert stranger.status == 404
    bad = await api.post("/servicerequestupdates.json", {**rate, "attribute[satisfaction]": "ok"})
    assert bad.status == 400 and "satisfaction" in bad.json()[0]["description"]
    done = await api.post(
        "/servicerequestupdates.json",
        {**rate, "attribute[satisfaction]": "满意", "description": "很快就清理了"},
    )
    assert done.status == 200, done.text
    assert done.json()[0]["status"] == "closed"
    # The channel's retry of the same update rates nothing again.
    retry = await api.post(
        "/servicerequestupdates.json",
        {**rate, "attribute[satisfaction]": "满意", "update_id": "U-1"},
    )
    assert retry.status == 400  # the first carried no update_id: it cannot be told apart
    assert (await _appeal(harness, numbers[0])).state == State.CLOSED
    reopen = await api.post(
        "/servicerequestupdates.xml",
        {
            **rate,
            "service_request_id": numbers[1],
            "status": "open",
            "attribute[satisfaction]": "unsatisfied",
            "description": "还是很脏",
            "update_id": "U-2",
        },
    )
    # Its retry (same update_id) answers the same and reopens nothing twice.
    retried = await api.post(
        "/servicerequestupdates.json",
        {
            **rate,
            "service_request_id": numbers[1],
            "status": "open",
            "attribute[satisfaction]": "unsatisfied",
            "update_id": "U-2",
        },
    )
    assert retried.status == 200 and retried.json()[0]["status"] == "open"
    assert reopen.status == 200 and reopen.xml().findtext("request_update/status") == "open"
    reopened = await _appeal(harness, numbers[1])
    assert reopened.state == State.REOPENED and reopened.reopened
    updates = (await api.get("/servicerequestupdates.json", api_key=key)).json()
    assert [u["status"] for u in updates][-2:] == ["closed", "reopened"]
    async with harness.app.services() as s:
        figures = await node_kpis(s.session, world.tree.grid, "2026-11", now=s.now())
    assert figures.node.rated == 2 and figures.node.satisfied == 1
