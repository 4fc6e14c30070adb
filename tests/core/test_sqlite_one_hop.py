"""SQLite statements run in one trip to aiosqlite's thread (storage/sqlite_one_hop.py),
and SQLAlchemy still reads from them all it read before: rows, counts, last row ids,
errors, streamed results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite.core
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.sessions import create_engine

ITEMS = Table("items", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one_hop.db'}")
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The functions sent to aiosqlite's thread, by name."""
    sent: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    yield sent


async def test_a_statement_is_one_trip(sqlite: AsyncEngine, trips: list[str]) -> None:
    async with sqlite.connect() as conn:  # connected (and the pragmas set) before counting
        await conn.execute(text("SELECT 1"))
        await conn.commit()
        trips.clear()
        before = (await conn.execute(select(ITEMS.c.name))).all()
        await conn.execute(insert(ITEMS).values(name="门禁"))
        rows = (await conn.execute(select(ITEMS.c.name))).all()
        await conn.commit()
        # A select and an insert; SQLAlchemy's adapter of aiosqlite's cursor took four
        # for a select (open, execute, fetch, close) and three for an insert. The select
        # after the insert and the commit hold the write lock: they take none
        # (tests/core/test_sqlite_turns.py).
        assert trips == ["_statement", "_statement"]
    assert before == []
    assert rows == [("门禁",)]


async def test_what_sqlalchemy_reads_of_a_statement(sqlite: AsyncEngine) -> None:
    async with sqlite.begin() as conn:
        first = await conn.execute(insert(ITEMS).values(name="路灯"))
        assert first.inserted_primary_key == (1,)  # the last row id
        many = await conn.execute(insert(ITEMS), [{"name": "井盖"}, {"name": "垃圾桶"}])
        assert many.rowcount == 2
        returned = await conn.execute(
            insert(ITEMS).values(name="电梯").returning(ITEMS.c.id, ITEMS.c.name)
        )
        assert returned.all() == [(4, "电梯")]
        renamed = await conn.execute(
            update(ITEMS)
            .where(ITEMS.c.id.in_(bindparam("ids", expanding=True)))
            .values(name=ITEMS.c.name + "（已修）"),
            {"ids": [1, 2, 9]},
        )
        assert renamed.rowcount == 2
        none = await conn.execute(select(ITEMS.c.id).where(ITEMS.c.id > 100))
        assert none.all() == [] and list(none.keys()) == ["id"]
        first_two = await conn.execute(select(ITEMS.c.id).order_by(ITEMS.c.id))
        assert first_two.fetchmany(2) == [(1,), (2,)] and first_two.fetchone() == (3,)


async def test_errors_are_sqlalchemys_and_the_connection_goes_on(sqlite: AsyncEngine) -> None:
    async with sqlite.connect() as conn:
        await conn.execute(insert(ITEMS).values(name="路灯"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(ITEMS).values(name="路灯"))
        await conn.rollback()
        await conn.execute(insert(ITEMS).values(name="井盖"))
        await conn.commit()
        assert (await conn.execute(select(ITEMS.c.name))).scalars().all() == ["井盖"]


async def test_streamed_results_still_stream(sqlite: AsyncEngine) -> None:
    async with sqlite.begin() as conn:
        await conn.execute(insert(ITEMS), [{"name": f"第{i}号"} for i in range(50)])
    async with sqlite.connect() as conn:
        result = await conn.stream(select(ITEMS.c.id).order_by(ITEMS.c.id))
        seen = [row.id async for row in result]
    assert seen == list(range(1, 51))
