"""Waking the delivery: a commit wakes it only when it made a message owed, a kick wakes
one idle worker, and a worker that found something wakes the next, so a burst is sent by
every worker while a lone message costs one look."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.delivery import Delivery, Rendering, Send
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.services import Config, Services
from tests.harness import Harness


async def render_note(r: Rendering) -> list[Send]:
    chat, text = r.chat_id, f"note {r.params['n']}"
    return [lambda: r.bot.send_message(chat, text)]


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
async def test_a_kick_wakes_one_worker_and_a_burst_wakes_them_all(
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
    looks: list[bool] = []
    senders: set[str] = set()
    one = delivery.deliver_one

    async def counted() -> bool:
        found = await one()
        looks.append(found)
        if found:
            senders.add(asyncio.current_task().get_name())  # type: ignore[union-attr]
        return found

    monkeypatch.setattr(delivery, "deliver_one", counted)
    await delivery.start()
    try:
        await _settle(lambda: len(looks) >= 8)
        assert looks == [False] * 8  # each worker looked once at start, then idles
        delivery.kick()
        await _settle(lambda: len(looks) > 8)
        await asyncio.sleep(0.2)
        assert looks[8:] == [False]  # one look for one kick, not eight

        users = [emu.add_user(user_id=700 + i, first_name=f"u{i}") for i in range(40)]
        async with sessionmaker() as session:
            for i, user in enumerate(users):
                emu.world.chats[user.id].opened = True
                OutboxRepo(session).add([user.id], "test.note", now=clock.now(), n=i)
            await session.commit()
        delivery.kick()
        await _settle(lambda: all(emu.chat(u.id).bot_messages for u in users))
        assert len(senders) > 1  # the burst fanned out
    finally:
        await delivery.stop()


async def _settle(done: object, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (callable(done) and done()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_chat_claimed_in_one_schema_is_free_in_another(engine: AsyncEngine) -> None:
    """PostgreSQL's advisory locks belong to the database: two deployments, or two test
    workers, sharing it must not hold each other's chats (a flaky test showed it)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    other = create_async_engine(
        engine.url, connect_args={"server_settings": {"search_path": "public"}}
    )
    try:
        async with AsyncSession(engine) as here, AsyncSession(other) as there:
            assert await OutboxRepo(here)._lock_chat(4242)
            assert await OutboxRepo(there)._lock_chat(4242)  # another schema: its own lock
            async with AsyncSession(engine) as same:
                assert not await OutboxRepo(same)._lock_chat(4242)  # the same schema: held
    finally:
        await other.dispose()
