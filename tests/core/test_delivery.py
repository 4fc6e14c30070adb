"""The generic outbox: any feature's message kind is delivered by the renderer that
feature registered, the most urgent lane first, and a message nobody can render is set
aside instead of blocking the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery import Delivery, Rendering, Send
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.processes import OutboxProcess
from storage.services import Config
from storage.users import User
from tests.factories import build_tree
from tests.harness import Harness
from tests.processes import wait_for


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


async def test_a_batch_claim_takes_each_chats_first_owed_message_and_no_busy_chat(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Several messages claimed in one statement: at most one per chat, the one it is
    owed first (its urgent one before its older bulk ones), none for a chat with a
    message in flight or for one whose message is not due yet; most urgent first."""
    now = clock.now()
    async with sessionmaker() as session:
        outbox = OutboxRepo(session)
        outbox.add([701], "test.note", now=now, lane=Lane.BULK, n="701 bulk 1")
        outbox.add([701], "test.note", now=now, lane=Lane.BULK, n="701 bulk 2")
        outbox.add([702], "test.note", now=now, lane=Lane.BULK, n="702 bulk")
        outbox.add([703], "test.note", now=now, lane=Lane.TASK, n="703 busy")
        outbox.add([703], "test.note", now=now, lane=Lane.URGENT, n="703 waits")
        outbox.add([704], "test.note", now=now, not_before=now + timedelta(minutes=1), n="704")
        outbox.add([701], "test.note", now=now, lane=Lane.URGENT, n="701 urgent")
        await session.flush()
        busy = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.user_id == 703, OutboxMessage.lane == 1)
            )
        ).scalar_one()
        busy.claimed_at, busy.claimed_by = now, "elsewhere"
        await session.commit()

    async with sessionmaker() as session:
        claimed = await OutboxRepo(session).claim_many(now, "me", 10)
        await session.commit()
    assert [m.params["n"] for m in claimed] == ["701 urgent", "702 bulk"]
    async with sessionmaker() as session:
        # Their chats are in flight now: nothing more until they are recorded.
        assert await OutboxRepo(session).claim_many(now, "me", 10) == []
        await OutboxRepo(session).mark_sent_many([(m.id, None) for m in claimed], now)
        again = await OutboxRepo(session).claim_many(now, "me", 10)
        await session.commit()
    assert [m.params["n"] for m in again] == ["701 bulk 1"]


async def render_place(r: Rendering) -> list[Send]:
    """A message every recipient shares a part of (a place), in their language."""
    node = await r.services.hierarchy.get(int(r.params["node_id"]))
    assert node is not None
    chat, text = r.chat_id, f"{r.t('notice.menu')} {node.name}"
    return [lambda: r.bot.send_message(chat, text)]


async def test_running_delivery_reads_what_a_batch_shares_once_and_keeps_each_chats_order(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    clock: ManualClock,
) -> None:
    """The running workers claim and render several messages at once: the place they
    share is read once for the batch, each recipient still gets their own language,
    every chat's messages arrive in the order owed, and stopping writes down what was
    sent (a broadcast kind, at most once: given back unrecorded it would be set aside)."""
    tree = await build_tree(sessionmaker, clock)
    now = clock.now()
    chats = {800 + i: ("en" if i % 2 else "zh-hans") for i in range(6)}
    for user_id in chats:
        emu.add_user(user_id=user_id, first_name=f"u{user_id}")
        emu.world.chats[user_id].opened = True
    async with sessionmaker() as session:
        for user_id, language in chats.items():
            session.add(
                User(
                    id=user_id, first_name="x", language=language, created_at=now, last_seen_at=now
                )
            )
        outbox = OutboxRepo(session)
        for n in range(3):
            outbox.add(chats, "test.place", now=now, lane=Lane.BULK, node_id=tree.grid.id, n=n)
        await session.commit()

    node_reads = 0

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        nonlocal node_reads
        node_reads += statement.lstrip().upper().startswith("SELECT") and "FROM nodes" in statement

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    delivery = Delivery(
        harness.bot,
        sessionmaker,
        harness.app.sender,
        harness.app.settings,
        clock,
        Config(),
        {"test.place": render_place},
        at_most_once=["test.place"],
        workers=len(chats),
    )
    await delivery.start()
    try:
        sent = lambda: all(len(emu.chat(c).bot_messages) == 3 for c in chats)  # noqa: E731
        assert await wait_for(sent, seconds=30)
        assert node_reads <= 6  # once per batch (of up to six chats), not per message (18)
    finally:
        await delivery.stop()
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    for user_id, language in chats.items():
        label = "📢 Send a notice" if language == "en" else "📢 发通知"
        texts = [m.text for m in emu.chat(user_id).bot_messages]
        assert texts == [f"{label} {tree.grid.name}"] * 3
    async with sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    order = {(r.user_id, r.params["n"]): r.message_id for r in rows}
    assert len(order) == 3 * len(chats), [(r.user_id, r.params, r.sent_at) for r in rows]
    for user_id in chats:
        ids = [m.message_id for m in emu.chat(user_id).bot_messages]
        assert [order[(user_id, n)] for n in range(3)] == ids  # recorded in the order owed
    assert all(r.sent_at is not None and r.failed_at is None for r in rows)
    assert emu.errors == []
