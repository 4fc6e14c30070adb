"""The per-chat lock across processes (Redis): an update whose lock expired while it ran
(the process stalled past the lock's life) still finishes instead of failing at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from typing import Literal

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from bot.isolation import RenewingRedisIsolation


async def test_an_update_whose_lock_expired_meanwhile_still_finishes() -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL")
    redis = Redis.from_url(url)
    builder = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:10]}", with_destiny=True)
    isolation = RenewingRedisIsolation(redis, builder, ttl=0.3)
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    finished = False
    try:
        async with isolation.lock(key):
            # What a stall longer than the lock's life leaves: the lock gone from Redis.
            await redis.delete(builder.build(key, "lock"))
            await asyncio.sleep(0.5)  # past a renewal, which finds the lock not ours
            finished = True
        async with isolation.lock(key):  # and the chat is free for the next update
            pass
    finally:
        await redis.delete(builder.build(key, "lock"))
        await redis.aclose()
    assert finished


class CancelSwallowingLock(Lock):
    """A renewal that, like a library caught in a race, swallows the cancellation that
    reaches it once the command has done its work but before the call returns."""

    async def reacquire(self) -> Literal[True]:
        renewed = await super().reacquire()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)
        return renewed


async def test_an_update_ends_even_if_its_lock_renewal_swallows_a_cancellation() -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL")
    redis = Redis.from_url(url)
    builder = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:10]}", with_destiny=True)
    isolation = RenewingRedisIsolation(redis, builder, ttl=0.6, lock_class=CancelSwallowingLock)
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)

    async def update() -> None:
        async with isolation.lock(key):
            await asyncio.sleep(0.3)  # ends while the renewal is inside its Redis call

    running = asyncio.create_task(update())
    try:
        # Not cancelled by the test: it must end on its own (a cancellation from outside
        # would itself be swallowed and end it, hiding the fault).
        await asyncio.wait({running}, timeout=5)
        assert running.done(), "the update never ended: its lock's renewal ran on"
        assert await redis.get(builder.build(key, "lock")) is None  # released
    finally:
        running.cancel()
        await redis.delete(builder.build(key, "lock"))
        await redis.aclose()
