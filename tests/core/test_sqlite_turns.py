"""SQLite writers of one engine take turns in the process (storage/sqlite_turns.py): a
second writer waits for the first's transaction to end before its statement reaches
SQLite (where it would sleep in the busy handler), turns go in arrival order, and a turn
comes back however the transaction ends: commit, rollback, or a cancelled task. Once a
transaction holds the write lock, its statements run on the event loop's thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_one_hop
from storage.sessions import create_engine
from storage.sqlite_turns import writes


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
    yield engine
    await engine.dispose()


threads: list[int] = []  # beside ``reached``: the thread each statement ran on


@pytest.fixture
def reached(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements that reached SQLite (ran on aiosqlite's thread), in order."""
    seen: list[str] = []
    threads.clear()
    original = sqlite_one_hop._statement

    def recorded(conn: Any, operation: str, parameters: Any, many: bool) -> Any:
        seen.append(operation if parameters is None else f"{operation} {parameters}")
        threads.append(threading.get_ident())
        return original(conn, operation, parameters, many)

    monkeypatch.setattr(sqlite_one_hop, "_statement", recorded)
    yield seen


async def insert(engine: AsyncEngine, name: str, release: asyncio.Event | None = None) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES (:n)"), {"n": name})
        if release is not None:
            await release.wait()
        await conn.commit()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def test_which_statements_ask_for_the_turn() -> None:
    assert writes("INSERT INTO items (name) VALUES (?)")
    assert writes("  update items SET name = ?")
    assert writes("DELETE FROM items")
    assert writes("CREATE TABLE t (x)")
    assert writes("WITH x AS (SELECT 1) INSERT INTO items (name) SELECT 'a' FROM x")
    assert not writes("SELECT * FROM items")
    assert not writes("(SELECT 1) UNION (SELECT 2)")
    assert not writes("WITH x AS (SELECT 1) SELECT * FROM x")
    assert not writes("PRAGMA journal_mode=WAL")
    assert not writes("SAVEPOINT sa_1")
    assert not writes("RELEASE SAVEPOINT sa_1")
    assert not writes("")


async def test_a_second_writer_reaches_sqlite_only_after_the_first_commits(
    sqlite: AsyncEngine, reached: list[str]
) -> None:
    release = asyncio.Event()
    first = asyncio.create_task(insert(sqlite, "first", release))
    await settle()
    second = asyncio.create_task(insert(sqlite, "second"))
    await settle()
    assert not second.done()
    assert not any("second" in s for s in reached), reached  # waiting here, not in SQLite
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(first, second)
    assert [s for s in reached if s.startswith("INSERT")] == [
        "INSERT INTO items (name) VALUES (?) ('first',)",
        "INSERT INTO items (name) VALUES (?) ('second',)",
    ]
    async with sqlite.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
        assert list(names) == ["first", "second"]


async def test_turns_go_in_arrival_order(sqlite: AsyncEngine, reached: list[str]) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(insert(sqlite, "holder", release))
    await settle()
    waiting = []
    for name in ("a", "b", "c", "d"):
        waiting.append(asyncio.create_task(insert(sqlite, name)))
        await settle()
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(holder, *waiting)
    order = [s.rsplit("'", 2)[1] for s in reached if s.startswith("INSERT")]
    assert order == ["holder", "a", "b", "c", "d"]


async def test_reads_do_not_wait_for_a_writer(sqlite: AsyncEngine) -> None:
    release = asyncio.Event()
    writer = asyncio.create_task(insert(sqlite, "pending", release))
    await settle()
    async with asyncio.timeout(10), sqlite.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
    assert count == 0  # read beside the open write, which it does not see
    release.set()
    await writer


async def test_a_rolled_back_writer_gives_the_turn_back(sqlite: AsyncEngine) -> None:
    async with sqlite.connect() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES ('undone')"))
        await conn.rollback()
    async with asyncio.timeout(10):
        await insert(sqlite, "next")


async def test_a_cancelled_writer_gives_the_turn_back(sqlite: AsyncEngine) -> None:
    release = asyncio.Event()  # never set: the task is cancelled while holding the turn
    stuck = asyncio.create_task(insert(sqlite, "cancelled", release))
    await settle()
    queued = asyncio.create_task(insert(sqlite, "queued"))
    await settle()
    assert not queued.done()
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    async with asyncio.timeout(10):
        await queued
    async with sqlite.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM items"))).scalars()
        assert list(names) == ["queued"]


async def test_statements_holding_the_write_lock_run_on_the_loop(
    sqlite: AsyncEngine, reached: list[str]
) -> None:
    loop_thread = threading.get_ident()
    async with sqlite.connect() as conn:
        await conn.execute(text("SELECT count(*) FROM items"))  # no lock yet: a trip
        await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))  # takes the lock
        await conn.execute(text("UPDATE items SET name = 'b'"))
        # A batch still goes to the thread: it may be long (a notice's outbox rows).
        await conn.execute(text("INSERT INTO items (name) VALUES (:n)"), [{"n": "c"}, {"n": "d"}])
        count = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
        await conn.commit()
        after = (await conn.execute(text("SELECT min(name) FROM items"))).scalar_one()
        await conn.commit()
    assert (count, after) == (3, "b")
    on_loop = [s.split()[0] for s, t in zip(reached, threads, strict=True) if t == loop_thread]
    elsewhere = [s.split()[0] for s, t in zip(reached, threads, strict=True) if t != loop_thread]
    assert on_loop == ["UPDATE", "SELECT"]
    assert elsewhere == ["SELECT", "INSERT", "INSERT", "SELECT"]


async def test_a_failed_first_write_leaves_the_transaction_off_the_loop(
    sqlite: AsyncEngine, reached: list[str]
) -> None:
    loop_thread = threading.get_ident()
    async with sqlite.connect() as conn:
        with pytest.raises(Exception, match="no such table"):
            await conn.execute(text("INSERT INTO missing (name) VALUES ('a')"))
        await conn.rollback()
        await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))
        await conn.commit()
    assert loop_thread not in threads


async def test_a_write_in_autocommit_gives_the_turn_back_at_once(sqlite: AsyncEngine) -> None:
    async with sqlite.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("INSERT INTO items (name) VALUES ('autocommitted')"))
        # No commit comes: the next writer must not wait for one (nor for the timeout).
        async with asyncio.timeout(10):
            await insert(sqlite, "next")
    async with sqlite.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
        assert list(names) == ["autocommitted", "next"]


async def test_a_writers_commit_runs_on_the_loop_a_readers_goes_to_the_thread(
    sqlite: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []  # what went to aiosqlite's thread, by name
    original = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    async with sqlite.connect() as conn:
        await conn.execute(text("SELECT count(*) FROM items"))
        await conn.commit()  # read only: to the thread as before
        assert trips[-1] == "commit"
        await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))
        trips.clear()
        await conn.commit()  # holds the write lock: ends on the loop
        assert trips == []
        await conn.execute(text("INSERT INTO items (name) VALUES ('b')"))
        await conn.commit()
    # Committed for real, and the turn came back: another writer goes on at once.
    async with asyncio.timeout(10):
        await insert(sqlite, "c")
    async with sqlite.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
        assert list(names) == ["a", "b", "c"]
