"""SQLite's one writer at a time, taken in turn within the process instead of by sleeping.

SQLite lets one transaction write at a time. Another connection's first write waits in
sqlite3's busy handler, which sleeps and retries with growing pauses (up to 100 ms)
whether or not the lock was given back in the meantime, and in no order. With 200
residents filing at once (bench/reliability.py, load round) those first writes waited
51 s in all: 175 ms on average and up to 3 s each, for a lock every holder kept a few
milliseconds. Here a connection about to write for the first time in its transaction
waits for the engine's turn (first come, first served), and gives it back when its
transaction ends: the next writer starts as soon as the lock is free. Another process on
the same file (a CLI beside the bot) still meets the busy handler, as before; and a turn
not had within the busy timeout is not waited for longer: SQLite's own wait decides."""

from __future__ import annotations

import asyncio
import re
import weakref

# Statements that never take SQLite's write lock by themselves. SAVEPOINT opens a
# (deferred) transaction without it: the first write inside asks for the turn.
_READS = frozenset({"SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK", "EXPLAIN"})
_WRITES_AFTER_WITH = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(operation: str) -> bool:
    """Whether the statement asks for the write lock (a guess that errs on the side of
    writing: a turn taken for nothing only costs waiting, a missed one the busy handler)."""
    words = operation.lstrip(" \t\r\n(").split(None, 1)
    if not words:
        return False
    head = words[0].upper()
    if head == "WITH":
        return bool(_WRITES_AFTER_WITH.search(operation))
    return head not in _READS


class WriteTurns:
    """The engine's turns to write, one per event loop (an engine is usually used by one;
    tests sometimes run one engine under several loops one after another)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def take(self) -> asyncio.Lock | None:
        """The turn, to be released when the transaction ends; None when it did not come
        within the busy timeout (the statement then waits in SQLite as it would have)."""
        lock = self._lock()
        try:
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError:
            return None
        return lock
