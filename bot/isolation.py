"""One update at a time per chat, across processes, without long stalls.

aiogram's Redis lock lives 60 seconds: when a process is killed mid-update, its chats
stay locked that long and every update for them queues behind. Here a lock lives a few
seconds and is renewed while its update runs, so a dead process frees its chats almost
at once, however long a live update takes (a district's Excel report)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

LOCK_SECONDS = 8.0

log = logging.getLogger(__name__)


class RenewingRedisIsolation(BaseEventIsolation):
    def __init__(
        self,
        redis: Redis,
        key_builder: KeyBuilder,
        ttl: float = LOCK_SECONDS,
        lock_class: type[Lock] = Lock,
    ) -> None:
        self.redis = redis
        self.key_builder = key_builder
        self.ttl = ttl
        self.lock_class = lock_class

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock = self.redis.lock(
            name=self.key_builder.build(key, "lock"),
            timeout=self.ttl,
            sleep=0.05,
            lock_class=self.lock_class,
        )
        await lock.acquire()
        done = asyncio.Event()
        renew = asyncio.create_task(self._renew(lock, done))
        try:
            yield None
        finally:
            # Told to stop, not cancelled: a cancellation that reaches the renewal inside
            # a Redis call can be swallowed on the way (seen on CI: the renewal went on
            # for ever and the update, waiting for it here, never finished). Asleep it
            # stops at once; mid-call after that call.
            done.set()
            try:
                await asyncio.wait({renew}, timeout=self.ttl)
            finally:
                renew.cancel()  # a Redis call that hangs must not hold the update
                with contextlib.suppress(LockError):
                    await lock.release()

    async def _renew(self, lock: Lock, done: asyncio.Event) -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.ttl / 3)
                return
            try:
                await lock.reacquire()
            except LockError:
                # The process stalled past the lock's life and another update of the chat
                # may have begun: finishing this one beats failing it after the fact.
                log.warning("chat lock %s expired while its update ran", lock.name)
                return

    async def close(self) -> None:
        return None


def bounded_redis(url: str, max_connections: int, timeout: float = 20.0) -> Redis:
    """A client whose pool waits for a free connection instead of refusing past its
    size: a burst of updates queues for Redis rather than failing."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout)
    return Redis(connection_pool=pool)
