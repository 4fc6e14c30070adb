"""The per-chat lock across processes (Redis): an update whose lock expired while it ran
(the process stalled past the lock's life) still finishes instead of failing at the end."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

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
