"""Waking the delivery: a commit wakes it only when it made a message owed, a kick costs
one look for what is owed, and a burst is claimed in batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.delivery import Delivery
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.services import Config, Services
from tests.conftest import BACKENDS
from tests.core.test_delivery import render_note
from tests.harness import Harness


async def test_only_a_commit_that_owes_a_message_wakes_the_delivery(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    woken: list[str] = []
    async with sessionmaker() as session:
        services = Services(session, clock, on_owed=lambda: woken.append("woken"))
        await services.users.touch(
            user_id=1, first_name="甲", last_name=None, username=None,
            telegram_language="zh", now=clock.now(),
        )  # fmt: skip
        await services.commit()
        assert woken == []  # a write, but nothing owed

        services.outbox.add([1], "test.note", now=clock.now(), n=1)
        await services.commit()
        assert woken == ["woken"]
        await services.commit()
        assert woken == ["woken"]  # owed once, woken once

        services.outbox.add([1], "test.note", now=clock.now(), n=2)
        await session.flush()
        await services.rollback()
        await services.commit()
        assert woken == ["woken"]  # rolled back: nothing is owed

        # Rows written by a statement rather than the unit of work count too.
        values = {
            "user_id": 1, "kind": "test.note", "lane": int(Lane.STATUS), "params": {"n": 3},
            "created_at": clock.now(), "not_before": clock.now(), "attempts": 0,
        }  # fmt: skip
        await session.execute(insert(OutboxMessage).values(**values))
        await services.commit()
        assert woken == ["woken", "woken"]

        message = (await session.execute(select(OutboxMessage).limit(1))).scalar_one()
        claimed = await OutboxRepo(session).claim(clock.now(), "me")
        assert claimed is not None
        await services.commit()
        assert woken == ["woken", "woken"]  # a claim owes nothing new
        await services.outbox.give_back(message.id)
        await services.commit()
        assert woken == ["woken", "woken", "woken"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_a_kick_costs_one_look_and_a_burst_is_sent_in_batches(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivery = Delivery(
        harness.bot,
        sessionmaker,
        harness.app.sender,
        harness.app.settings,
        clock,
        Config(),
        {"test.note": render_note},
        workers=8,
    )
    claimed: list[int] = []
    prepare = delivery._prepare

    async def counted(limit: int) -> Any:
        prepared = await prepare(limit)
        claimed.append(len(prepared))
        return prepared

    monkeypatch.setattr(delivery, "_prepare", counted)
    await delivery.start()
    try:
        await _settle(lambda: len(claimed) >= 1)
        looks = len(claimed)
        delivery.kick()
        await _settle(lambda: len(claimed) > looks)
        await asyncio.sleep(0.2)
        assert claimed[looks:] == [0]  # one look for one kick, nothing owed

        users = [emu.add_user(user_id=700 + i, first_name=f"u{i}") for i in range(40)]
        async with sessionmaker() as session:
            for i, user in enumerate(users):
                emu.world.chats[user.id].opened = True
                OutboxRepo(session).add([user.id], "test.note", now=clock.now(), n=i)
            await session.commit()
        delivery.kick()
        await _settle(lambda: all(emu.chat(u.id).bot_messages for u in users))
        assert max(claimed) > 1  # claimed in batches, not one round trip a message
    finally:
        await delivery.stop()


async def _settle(done: object, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (callable(done) and done()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


# Advisory locks are PostgreSQL's: no SQLite case (none at all without TEST_DATABASE_URL).
@pytest.mark.parametrize("engine", [b for b in BACKENDS if b == "postgresql"], indirect=True)
async def test_a_chat_claimed_in_one_schema_is_free_in_another(engine: AsyncEngine) -> None:
    """PostgreSQL's advisory locks belong to the database: two deployments, or two test
    workers, sharing it must not hold each other's chats (a flaky test showed it)."""
    other = create_async_engine(
        engine.url, connect_args={"server_settings": {"search_path": "public"}}
    )
    try:
        async with AsyncSession(engine) as here, AsyncSession(other) as there:
            assert await OutboxRepo(here)._lock_chats([4242]) == {4242}
            # Another schema: its own lock.
            assert await OutboxRepo(there)._lock_chats([4242]) == {4242}
            async with AsyncSession(engine) as same:
                assert await OutboxRepo(same)._lock_chats([4242]) == set()  # held here
    finally:
        await other.dispose()
