"""Per-key request limits: a token bucket per key (10 a second, bursts of 50 by
default). With Redis the bucket lives there, so every bot process behind a load
balancer draws from the same one; without it, in this process's memory."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True)
class ChannelLimits:
    """The feature's configuration: requests a second per key and the burst allowed."""

    rate: float = 10.0
    burst: int = 50
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)


class Buckets(Protocol):
    async def take(self, key: str, limits: ChannelLimits) -> float:
        """Takes one request from ``key``'s bucket: 0 when allowed, else the seconds
        until one would be."""
        ...


class MemoryBuckets:
    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, limits: ChannelLimits) -> float:
        now = limits.monotonic()
        tokens, at = self._state.get(key, (float(limits.burst), now))
        tokens = min(float(limits.burst), tokens + (now - at) * limits.rate)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1 - tokens) / limits.rate


# The bucket in one atomic step, on Redis's own clock (the same for every process).
_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisBuckets:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def take(self, key: str, limits: ChannelLimits) -> float:
        wait = await self._script(
            keys=[f"{self.prefix}:open311:bucket:{key}"], args=[limits.rate, limits.burst]
        )
        return float(wait.decode() if isinstance(wait, bytes) else wait)


def retry_after(wait: float) -> int:
    """Whole seconds for the Retry-After header, at least one."""
    return max(1, math.ceil(wait))
