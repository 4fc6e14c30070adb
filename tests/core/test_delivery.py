"""The generic outbox: any feature's message kind is delivered by the renderer that
feature registered, the most urgent lane first, and a message nobody can render is set
aside instead of blocking the queue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import Delivery, Rendering, Send
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.outbox import Lane, OutboxMessage, OutboxRepo
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
