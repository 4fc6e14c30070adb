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
from dataclasses import dataclass, field

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

LOCK_SECONDS = 8.0

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _LocalTurn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holding or waiting: the entry goes when the last one leaves


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
        self._local: dict[str, _LocalTurn] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        name = self.key_builder.build(key, "lock")
        # The chat's next update in this process waits here, woken the moment the one
        # before lets go, rather than asking Redis every 50 ms: a resident answering at
        # once met the lock still held (released after the reply went out) and waited a
        # poll, 105 ms a step at the median against SQLite's 14 (bench/reliability.py).
        # Updates of the chat in other processes still meet the Redis lock.
        local = self._local.get(name)
        if local is None:
            local = self._local[name] = _LocalTurn()
        local.users += 1
        try:
            async with local.lock, self._redis_lock(name):
                yield None
        finally:
            local.users -= 1
            if local.users == 0 and self._local.get(name) is local:
                del self._local[name]

    @asynccontextmanager
    async def _redis_lock(self, name: str) -> AsyncGenerator[None, None]:
        lock = self.redis.lock(
            name=name,
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
