"""The per-chat lock across processes (Redis): an update whose lock expired while it ran
(the process stalled past the lock's life) still finishes instead of failing at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar, Literal

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from bot.isolation import RenewingRedisIsolation


@pytest.fixture
async def chat_locks() -> AsyncIterator[tuple[Redis, DefaultKeyBuilder]]:
    """Redis and a key builder of the test's own prefix; its keys go afterwards."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL")
    redis = Redis.from_url(url)
    builder = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:10]}", with_destiny=True)
    try:
        yield redis, builder
    finally:
        keys = [key async for key in redis.scan_iter(f"{builder.prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_an_update_whose_lock_expired_meanwhile_still_finishes(
    chat_locks: tuple[Redis, DefaultKeyBuilder],
) -> None:
    redis, builder = chat_locks
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
    assert finished


class CancelSwallowingLock(Lock):
    """A renewal that, like a library caught in a race, swallows the cancellation that
    reaches it once the command has done its work but before the call returns."""

    async def reacquire(self) -> Literal[True]:
        renewed = await super().reacquire()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)
        return renewed


async def test_an_update_ends_even_if_its_lock_renewal_swallows_a_cancellation(
    chat_locks: tuple[Redis, DefaultKeyBuilder],
) -> None:
    redis, builder = chat_locks
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


class CountingLock(Lock):
    """Counts the attempts to take the lock in Redis (each a SET NX)."""

    attempts: ClassVar[list[str]] = []

    async def do_acquire(self, token: str | bytes) -> bool:
        CountingLock.attempts.append(str(self.name))
        return await super().do_acquire(token)


async def test_a_chats_next_update_in_the_process_waits_without_asking_redis_again(
    chat_locks: tuple[Redis, DefaultKeyBuilder],
) -> None:
    redis, builder = chat_locks
    here = RenewingRedisIsolation(redis, builder, lock_class=CountingLock)
    elsewhere = RenewingRedisIsolation(redis, builder)  # another process's, same Redis
    key = StorageKey(bot_id=1, chat_id=3, user_id=3)
    order: list[str] = []
    CountingLock.attempts.clear()

    async def update(isolation: RenewingRedisIsolation, name: str, hold: float) -> None:
        async with isolation.lock(key):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    try:
        first = asyncio.create_task(update(here, "a", 0.4))
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(update(here, name, 0.0)) for name in "bc"]
        await asyncio.gather(first, *queued)
        assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]
        # One SET NX an update: the two that waited were woken, they did not poll Redis.
        assert len(CountingLock.attempts) == 3

        # Another process's update of the chat still waits for the lock in Redis.
        order.clear()
        held = asyncio.create_task(update(here, "here", 0.3))
        await asyncio.sleep(0.05)
        await update(elsewhere, "elsewhere", 0.0)
        await held
        assert order == ["here in", "here out", "elsewhere in", "elsewhere out"]
    finally:
        await redis.delete(builder.build(key, "lock"))
