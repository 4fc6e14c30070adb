"""A notice scheduled for later: picked on a calendar and a time, shown as scheduled, moved
from the button under its message, started once (also when two processes look at the
same moment), with its audience worked out when it starts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.notices import AudienceRole, Notice, NoticeService, NoticeState
from storage.notices.service import COPY, Content
from storage.outbox import OutboxMessage
from storage.roles import Role
from tests.harness import Harness, World


def _got(harness: Harness, user_id: int, text: str) -> int:
    return sum(text in t for t in (m.text or "" for m in harness.emu.chat(user_id).bot_messages))


async def test_scheduled_then_moved_then_sent_once_at_the_new_time(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.command(officer, "notice")
    await harness.text(officer, "周五下午消防演练")
    await harness.press_key(officer, "notice.button.review")
    await harness.press_key(officer, "notice.button.schedule")
    assert "🗓 2026-11" in harness.buttons(officer)  # the bot's today, not the machine's
    await harness.press(officer, "05")
    await harness.press(officer, "09:00")
    assert "定时：2026-11-05 09:00" in harness.last_text(officer)
    await harness.press_key(officer, "notice.button.send_later")
    assert "已定时" in harness.last_text(officer)
    await harness.tick()
    assert "将于 2026-11-05 09:00 开始发送" in harness.last_text(officer)
    assert _got(harness, wang.id, "消防演练") == 0

    await harness.press_key(officer, "notice.button.reschedule")
    await harness.press(officer, "06")
    await harness.press(officer, "10:30")
    assert "改为 2026-11-06 10:30" in harness.last_text(officer)
    clock.advance(timedelta(days=3, hours=1))  # 11-05 10:00: the old time has passed
    await harness.tick()
    assert _got(harness, wang.id, "消防演练") == 0
    clock.advance(timedelta(days=1, minutes=31))  # 11-06 10:31
    await harness.tick()
    assert _got(harness, wang.id, "消防演练") == 1
    await harness.tick()
    assert _got(harness, wang.id, "消防演练") == 1
    assert "发送完成" in harness.texts(officer)[-1] or "发送完成" in harness.last_text(officer)
    assert harness.emu.errors == []


async def test_a_scheduled_notice_starts_once_when_two_look_at_once(
    harness: Harness,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    for i in range(3):
        await world.resident(f"居民{i}")
    async with sessionmaker() as session:
        service = NoticeService(session, clock.now())
        notice = await service.send(
            author_id=officer.id,
            node=world.tree.community,
            roles=[AudienceRole.RESIDENTS],
            content=Content(officer.id, 1, None, "明天停水", []),
            send_at=clock.now() + timedelta(hours=1),
        )
        await session.commit()
        notice_id = notice.id
    clock.advance(timedelta(hours=2))

    async def start() -> int:
        async with sessionmaker() as session:
            started = await NoticeService(session, clock.now()).start_due()
            await session.commit()
            return started

    results = await asyncio.gather(start(), start(), return_exceptions=True)
    assert sum(r for r in results if isinstance(r, int)) == 1, results
    async with sessionmaker() as session:
        owed = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == COPY, OutboxMessage.subject_id == notice_id)
        )
        state = await session.scalar(select(Notice.state).where(Notice.id == notice_id))
    assert owed == 3 and state == NoticeState.SENDING
