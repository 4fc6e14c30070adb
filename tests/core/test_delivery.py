"""The generic outbox: any feature's message kind is delivered by the renderer that
feature registered, the most urgent lane first, and a message nobody can render is set
aside instead of blocking the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import Delivery, Rendering, Send
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.processes import OutboxProcess
from storage.services import Config
from tests.harness import Harness


async def render_note(r: Rendering) -> list[Send]:
    chat, text = r.chat_id, f"note {r.params['n']}"
    return [lambda: r.bot.send_message(chat, text)]


async def test_urgent_lane_overtakes_a_long_bulk_queue(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    users = [emu.add_user(user_id=600 + i, first_name=f"u{i}") for i in range(6)]
    for user in users:
        emu.world.chats[user.id].opened = True
    async with sessionmaker() as session:
        outbox = OutboxRepo(session)
        for i, user in enumerate(users[:5]):
            outbox.add([user.id], "test.note", now=clock.now(), lane=Lane.BULK, n=i)
        outbox.add([users[5].id], "test.note", now=clock.now(), lane=Lane.URGENT, n="urgent")
        outbox.add([users[0].id], "test.nobody-renders-this", now=clock.now(), lane=Lane.URGENT)
        await session.commit()

    delivery = Delivery(
        harness.bot,
        sessionmaker,
        harness.app.sender,
        harness.app.settings,
        clock,
        Config(),
        {"test.note": render_note},
    )
    assert await delivery.deliver_pending(limit=2) == 2
    # The urgent note went first (the unknown kind beside it was set aside), then the
    # oldest bulk one.
    assert [m.text for m in emu.chat(605).bot_messages] == ["note urgent"]
    assert [m.text for m in emu.chat(600).bot_messages] == []
    assert await delivery.deliver_pending() == 5
    assert [m.text for m in emu.chat(600).bot_messages] == ["note 0"]

    async with sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    unknown = next(r for r in rows if r.kind == "test.nobody-renders-this")
    assert unknown.failed_at is not None and unknown.sent_at is None
    assert "no renderer" in (unknown.error or "")
    assert all(r.sent_at is not None for r in rows if r.kind == "test.note")
    assert emu.errors == []


async def test_claims_of_a_silent_or_vanished_process_are_taken_back_within_seconds(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """A claim lasts as long as its process: one silent past OUTBOX_SILENT_SECONDS, or on
    this machine with its pid gone, loses its claims at once (a second ago, not a minute);
    a live one on another machine keeps them. The chat's later message follows in order."""
    silent, vanished, alive = 610, 611, 612
    for user_id in (silent, vanished, alive):
        emu.add_user(user_id=user_id, first_name=f"u{user_id}")
        emu.world.chats[user_id].opened = True
    wall = datetime.now(UTC)
    delivery = Delivery(
        harness.bot,
        sessionmaker,
        harness.app.sender,
        harness.app.settings,
        clock,
        Config(),
        {"test.note": render_note},
        silent_for=timedelta(seconds=10),
    )
    processes = {
        "silent": ("elsewhere|ns", 4242, wall - timedelta(seconds=11)),
        "vanished": (delivery.machine, 2**22 + 77, wall - timedelta(seconds=1)),
        "alive": ("elsewhere|ns", 4243, wall - timedelta(seconds=1)),
    }
    async with sessionmaker() as session:
        for name, (machine, pid, beat_at) in processes.items():
            session.add(
                OutboxProcess(
                    id=name, machine=machine, pid=pid, started_at=beat_at, beat_at=beat_at
                )
            )
        outbox = OutboxRepo(session)
        for user_id, name in ((silent, "silent"), (vanished, "vanished"), (alive, "alive")):
            outbox.add([user_id], "test.note", now=clock.now(), n=f"{name} 1")
        outbox.add([silent], "test.note", now=clock.now(), n="silent 2")
        await session.flush()
        for message in (await session.execute(select(OutboxMessage))).scalars():
            if message.params["n"].endswith(" 1"):
                message.claimed_at = clock.now() - timedelta(seconds=1)
                message.claimed_by = message.params["n"].split()[0]
        await session.commit()

    # Nothing can go while the chats' first messages are held.
    assert await delivery.deliver_pending() == 0
    recovered = await delivery.recover()
    assert (recovered.released, recovered.uncertain) == (2, 0)
    assert await delivery.deliver_pending() == 3
    assert [m.text for m in emu.chat(silent).bot_messages] == ["note silent 1", "note silent 2"]
    assert [m.text for m in emu.chat(vanished).bot_messages] == ["note vanished 1"]
    assert [m.text for m in emu.chat(alive).bot_messages] == []
    async with sessionmaker() as session:
        left = set((await session.execute(select(OutboxProcess.id))).scalars())
    assert left == {"alive", delivery.me}
    assert emu.errors == []
