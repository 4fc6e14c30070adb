"""An urgent push behind a broadcast: how long it waits with delivery lanes, against how
long it waits at the back of the same queue (one lane, first in first out, as the outbox
delivered before lanes).

10,000 low-priority (BULK) messages are queued for 10,000 recipients and the real
delivery loop sends them through the real sending layer at the configured rate (Telegram's
30 messages/s by default) to the Bot API emulator. A few seconds in, one URGENT message is
queued and the time until the emulator holds it is measured. The baseline is measured in
the same run: a message queued at the back of the BULK lane behind ``--fifo-sample``
others, timed for real, and its wait scaled to the back of the 10,000 queue by the rate
measured meanwhile.

    uv run --extra dev python bench/lanes.py                   # SQLite
    uv run --extra dev python bench/lanes.py --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot
from bot.config import load_settings
from bot.delivery import Delivery, Rendering, Send
from bot.sending import Sender
from emulator import BotAPIEmulator
from storage.clock import SystemClock
from storage.migrate import upgrade
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.services import Config
from storage.sessions import create_engine, create_sessionmaker

TOKEN = "123456:BENCH-TOKEN-gridbot"
FIRST_RECIPIENT = 1_000_000


async def render(r: Rendering) -> list[Send]:
    chat, body = r.chat_id, f"通知 {r.params['n']}"
    return [lambda: r.bot.send_message(chat, body)]


async def _engine(url: str | None, tmp: Path) -> tuple[AsyncEngine, str | None]:
    if url is None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp / 'lanes.db'}")
        await upgrade(engine)
        return engine, None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.sessions import normalize_url

    engine = create_async_engine(
        normalize_url(url), connect_args={"server_settings": {"search_path": schema}}
    )
    await upgrade(engine)
    return engine, schema


async def _queue(
    sessionmaker: async_sessionmaker[AsyncSession], users: range, lane: Lane, tag: str
) -> None:
    now = SystemClock().now()
    async with sessionmaker() as session:
        outbox = OutboxRepo(session)
        for user_id in users:
            outbox.add([user_id], "bench.note", now=now, lane=lane, n=f"{tag}{user_id}")
        await session.commit()


async def _sent(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        stmt = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_not(None))
        )
        return int((await session.execute(stmt)).scalar_one())


async def _wait_for(emu: BotAPIEmulator, chat_id: int, limit: float) -> float:
    started = time.perf_counter()
    while emu.chat(chat_id).last_bot_message is None:
        if time.perf_counter() - started > limit:
            return float("inf")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    emu = BotAPIEmulator(token=TOKEN, bot_username="gridbot_bench_bot")
    await emu.start()
    tmp = tempfile.TemporaryDirectory()
    engine, schema = await _engine(args.database_url, Path(tmp.name))
    sessionmaker = create_sessionmaker(engine)
    settings = load_settings(bot_token=TOKEN, telegram_api_url=emu.base_url)
    bot = create_bot(settings)
    clock = SystemClock()
    bulk = range(FIRST_RECIPIENT, FIRST_RECIPIENT + args.queued)
    urgent_user = FIRST_RECIPIENT + args.queued
    sample_user = urgent_user + 1
    for user_id in [*bulk, urgent_user, sample_user]:
        emu.add_user(user_id=user_id, first_name="居民")
        emu.world.chats[user_id].opened = True
    await _queue(sessionmaker, bulk, Lane.BULK, "bulk-")
    sender = Sender(sessionmaker, clock, global_rate=args.rate)
    delivery = Delivery(
        bot, sessionmaker, sender, settings, clock, Config(), {"bench.note": render}
    )
    await delivery.start()
    try:
        await asyncio.sleep(args.warmup)
        # With lanes: an urgent call queued behind everything still owed.
        await _queue(sessionmaker, range(urgent_user, urgent_user + 1), Lane.URGENT, "urgent-")
        delivery.kick()
        urgent_wait = await _wait_for(emu, urgent_user, limit=60)
        # Without lanes: the same message at the back of a FIFO queue of --fifo-sample.
        sent_before = await _sent(sessionmaker)
        backlog = args.queued - sent_before
        async with sessionmaker() as session:
            # Take the sample's place: all but the last --fifo-sample bulk rows are
            # marked sent, so the queue ahead of it is exactly that long.
            keep = list(bulk)[-args.fifo_sample :]
            await session.execute(
                OutboxMessage.__table__.update()
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.user_id.not_in(keep),
                )
                .values(sent_at=clock.now())
            )
            await session.commit()
        ahead = args.queued - await _sent(sessionmaker)
        started = time.perf_counter()
        await _queue(sessionmaker, range(sample_user, sample_user + 1), Lane.BULK, "fifo-")
        delivery.kick()
        fifo_wait = await _wait_for(emu, sample_user, limit=ahead / args.rate * 3 + 30)
        rate = ahead / (time.perf_counter() - started)
    finally:
        await delivery.stop()
        await bot.session.close()
        await emu.stop()
        await engine.dispose()
        if schema and args.database_url:
            admin = create_engine(args.database_url)
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
        tmp.cleanup()

    store = "PostgreSQL" if args.database_url else "SQLite"
    back_of_queue = args.queued / rate
    print(f"store: {store}; configured rate {args.rate:.0f}/s, measured {rate:.1f}/s")
    print(f"queued bulk messages: {args.queued}; still owed when the urgent one came: {backlog}")
    print(f"urgent push with lanes:            sent after {urgent_wait:7.2f} s")
    print(f"same push, FIFO behind {ahead:>5} others: sent after {fifo_wait:7.2f} s (measured)")
    print(f"same push, FIFO behind {args.queued:>5} others: {back_of_queue:7.1f} s (at that rate)")
    print(f"ratio lanes/FIFO at 10,000: x{urgent_wait / back_of_queue:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="messages/s for the whole bot")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of bulk first")
    parser.add_argument("--fifo-sample", type=int, default=300)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
