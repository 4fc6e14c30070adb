"""The grid worker's and supervisors' side of appeals, through the real dispatcher and the
emulator: pushed tasks and their buttons (accept, progress, resolve, reject, call up,
transfer), escalation by the deadline sweep, races, forged and stale buttons, and /tasks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings
from bot.dialogs.appeals.callbacks import TaskAction
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser, StoredMessage
from storage.appeals import (
    Appeal,
    AppealEvent,
    AppealMedia,
    AppealPolicy,
    AppealService,
    Draft,
    Level,
    State,
    sweep,
)
from storage.clock import ManualClock
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from tests.factories import Tree, build_tree
from tests.harness import Harness

RESIDENT = 1001
W1, W2, OTHER_GRID_WORKER, GRID2_WORKER = 2001, 2002, 2003, 2004
COMMUNITY_STAFF, STREET_STAFF, DISTRICT_STAFF = 3001, 4001, 5001
PHONE = "13800138000"

ACCEPT = "✅ 受理（我来负责）"
PROGRESS = "📝 添加进展"
RESOLVE = "🏁 办结"
REJECT = "↩️ 退回"
CALLUP = "⬆️ 上报上一级"
TRANSFER = "🔀 转其他网格"
OPEN = "📄 详情"


@dataclass
class World:
    tree: Tree
    resident: EmulatedUser
    users: dict[int, EmulatedUser]

    def __getitem__(self, user_id: int) -> EmulatedUser:
        return self.users[user_id]


async def _world(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> World:
    tree = await build_tree(sessionmaker, clock)
    staff = [
        (W1, "网格员小王", Role.WORKER, tree.grid),
        (W2, "网格员小李", Role.WORKER, tree.grid),
        (OTHER_GRID_WORKER, "正阳网格员", Role.WORKER, tree.other_grid),
        (GRID2_WORKER, "二网格员", Role.WORKER, tree.grid2),
        (COMMUNITY_STAFF, "社区书记", Role.COMMUNITY_STAFF, tree.community),
        (STREET_STAFF, "街道主任", Role.STREET_STAFF, tree.street),
        (DISTRICT_STAFF, "指挥中心", Role.DISTRICT_STAFF, tree.district),
    ]
    async with sessionmaker() as session:
        repo = StaffRepo(session)
        for user_id, _, role, node in staff:
            await repo.grant(
                user_id=user_id, role=role, node=node, granted_by=None, now=clock.now()
            )
        await session.commit()
    users = {}
    for user_id, name, _, _ in staff:
        users[user_id] = emu.add_user(user_id=user_id, first_name=name, language_code="zh-hans")
        await harness.command(users[user_id], "start")  # Telegram now knows the chat
    resident = emu.add_user(user_id=RESIDENT, first_name="老张", language_code="zh-hans")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")
    users[RESIDENT] = resident
    return World(tree, resident, users)


async def _file(
    harness: Harness,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    world: World,
    text: str = "楼道里堆满了杂物",
    **draft: object,
) -> int:
    values: dict[str, object] = {"category": "sanitation", "text": text}
    values.update(draft)
    async with sessionmaker() as session:
        service = AppealService(session, harness.app.config.get(AppealPolicy), clock.now())
        appeal = await service.file(RESIDENT, world.tree.building, Draft(**values))  # type: ignore[arg-type]
        await session.commit()
        appeal_id = appeal.id
    await harness.deliver()
    return appeal_id


async def _appeal(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> Appeal:
    async with sessionmaker() as session:
        appeal = await session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def _events(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(AppealEvent.kind)
            .where(AppealEvent.appeal_id == appeal_id)
            .order_by(AppealEvent.id)
        )
        return list(rows.scalars().all())


def _data(action: str, appeal_id: int) -> str:
    return TaskAction(action=action, appeal_id=appeal_id).pack()


def _task_message(emu: BotAPIEmulator, user_id: int, appeal_id: int) -> StoredMessage:
    """The newest message in the chat carrying a task button of this appeal."""
    for message in reversed(emu.chat(user_id).bot_messages):
        datas = [data for row in message.inline_buttons() for _, data in row]
        if _data("open", appeal_id) in datas:
            return message
    raise AssertionError(f"no task message for #{appeal_id} in chat {user_id}")


def _text(message: StoredMessage) -> str:
    return message.text or message.caption or ""


def _labels(message: StoredMessage) -> list[str]:
    return [text for row in message.inline_buttons() for text, _ in row]


async def _press_task(harness: Harness, user: EmulatedUser, appeal_id: int, action: str) -> None:
    message = _task_message(harness.emu, user.id, appeal_id)
    await harness.press_data(user, message.message_id, _data(action, appeal_id))


def _alerts(emu: BotAPIEmulator, user_id: int) -> list[str]:
    return [a.get("text") or "" for a in emu.chat(user_id).callback_answers]


async def test_accept_progress_with_photo_resolve_and_the_resident_hears_each_step(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world)
    number = f"{appeal_id:06d}"

    push = _task_message(emu, W1, appeal_id)
    assert "新诉求" in _text(push) and f"#{number}" in _text(push)
    assert "环境卫生" in _text(push) and "楼道里堆满了杂物" in _text(push)
    assert _labels(push) == [ACCEPT, REJECT, TRANSFER, CALLUP, OPEN]
    assert "新诉求" in _text(_task_message(emu, W2, appeal_id))  # every worker of the grid

    await _press_task(harness, world[W1], appeal_id, "accept")
    edited = emu.chat(W1).find(push.message_id)
    assert edited is not None and "您已受理" in _text(edited)
    assert _labels(edited) == [PROGRESS, RESOLVE, REJECT, TRANSFER, CALLUP, OPEN]
    await harness.deliver()
    assert "已由网格员受理" in harness.last_text(world.resident)

    # Progress: a note and a photo, then submit.
    await harness.press(world[W1], PROGRESS)
    assert "添加进展" in harness.last_text(world[W1])
    await harness.text(world[W1], "已联系物业，明天清理")
    await harness.feed(emu.send_photo(world[W1], queue=False))
    assert "照片：1 张" in harness.last_text(world[W1])
    await harness.press(world[W1], "提交进展")
    assert "进展已记录" in harness.last_text(world[W1])
    assert (await _appeal(sessionmaker, appeal_id)).state == State.IN_PROGRESS
    await harness.deliver()
    assert "有新进展" in harness.last_text(world.resident)
    assert "已联系物业，明天清理" in harness.last_text(world.resident)

    # Resolve: the result is required; a photo alone is not enough.
    await _press_task(harness, world[W1], appeal_id, "resolve")
    await harness.feed(emu.send_photo(world[W1], queue=False))
    assert "还需要写明办理结果" in harness.last_text(world[W1])
    assert "确认办结" not in " ".join(harness.buttons(world[W1]))
    await harness.text(world[W1], "杂物已全部清走")
    sent_before = len(emu.chat(RESIDENT).bot_messages)
    await harness.press(world[W1], "确认办结")
    assert "已办结" in harness.last_text(world[W1])
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.RESOLVED and appeal.result_note == "杂物已全部清走"
    async with sessionmaker() as session:
        photos = (
            await session.execute(
                select(func.count())
                .select_from(AppealMedia)
                .where(AppealMedia.appeal_id == appeal_id, AppealMedia.added_by == W1)
            )
        ).scalar_one()
    assert photos == 2

    new = emu.chat(RESIDENT).bot_messages[sent_before:]
    assert new[0].photo is not None  # the result photo first
    assert "已办结" in _text(new[-1]) and "杂物已全部清走" in _text(new[-1])
    assert "满意" in " ".join(_labels(new[-1]))
    assert await _events(sessionmaker, appeal_id) == [
        "submitted",
        "accepted",
        "progress",
        "resolved",
    ]
    assert emu.errors == []


async def test_reject_as_duplicate_asks_again_on_a_bad_number(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    original = await _file(harness, sessionmaker, clock, world, "路灯坏了")
    duplicate = await _file(harness, sessionmaker, clock, world, "路灯又坏了")

    await _press_task(harness, world[W1], duplicate, "reject")
    assert "请选择退回的原因" in harness.last_text(world[W1])
    await harness.press(world[W1], "重复诉求")
    await harness.text(world[W1], "<b>上一条</b>")
    assert "“<b>上一条</b>” 不是诉求编号" in harness.last_text(world[W1])
    await harness.text(world[W1], "#99999")
    assert "找不到诉求 #099999" in harness.last_text(world[W1])
    await harness.text(world[W1], str(duplicate))
    assert "另一条" in harness.last_text(world[W1])
    assert (await _appeal(sessionmaker, duplicate)).state == State.SUBMITTED

    await harness.text(world[W1], f"#{original}")
    assert "已退回" in harness.last_text(world[W1])
    rejected = await _appeal(sessionmaker, duplicate)
    assert rejected.state == State.REJECTED
    async with sessionmaker() as session:
        event = (
            await session.execute(
                select(AppealEvent).where(
                    AppealEvent.appeal_id == duplicate, AppealEvent.kind == "rejected"
                )
            )
        ).scalar_one()
    assert event.data == {"duplicate_of": original}
    assert (await _appeal(sessionmaker, original)).state == State.SUBMITTED
    await harness.deliver()
    told = harness.last_text(world.resident)
    assert f"#{duplicate:06d} 未被受理" in told and f"与诉求 #{original:06d} 重复" in told
    assert emu.errors == []


async def test_reject_out_of_scope_keeps_text_typed_before_choosing(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world, "想咨询个税")

    await _press_task(harness, world[W1], appeal_id, "reject")
    await harness.text(world[W1], "请拨打12366 <税务热线>")
    shown = harness.last_text(world[W1])
    assert "请先点下面的按钮选择退回原因" in shown and "12366 <税务热线>" in shown
    assert (await _appeal(sessionmaker, appeal_id)).state == State.SUBMITTED
    await harness.press(world[W1], "不属于受理范围")
    assert "12366 <税务热线>" in harness.last_text(world[W1])
    await harness.press(world[W1], "用上面的内容退回")
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.REJECTED
    await harness.deliver()
    assert "原因：请拨打12366 <税务热线>" in harness.last_text(world.resident)
    assert emu.errors == []


async def test_call_up_reaches_the_community_which_sees_it_in_tasks(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world, "小区围墙开裂")
    await harness.command(world[COMMUNITY_STAFF], "tasks")
    assert "暂时没有待办" in harness.last_text(world[COMMUNITY_STAFF])

    await _press_task(harness, world[W1], appeal_id, "accept")
    # Changing one's mind: cancel gives the card back with its buttons, nothing changed.
    await _press_task(harness, world[W1], appeal_id, "callup")
    await harness.press(world[W1], "取消")
    assert "已取消" in harness.last_text(world[W1])
    assert _labels(harness.last(world[W1])) == [PROGRESS, RESOLVE, REJECT, TRANSFER, CALLUP, OPEN]
    assert (await _appeal(sessionmaker, appeal_id)).level == Level.GRID

    await _press_task(harness, world[W1], appeal_id, "callup")
    assert "上报到社区" in harness.last_text(world[W1])
    await harness.feed(emu.send_voice(world[W1], queue=False))
    assert "请打字发送" in harness.last_text(world[W1])
    await harness.text(world[W1], "需要住建部门鉴定")
    assert "已把诉求" in harness.last_text(world[W1])
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.COMMUNITY and appeal.state == State.SUBMITTED
    await harness.deliver()

    push = _task_message(emu, COMMUNITY_STAFF, appeal_id)
    assert "下级上报" in _text(push) and "小区围墙开裂" in _text(push)
    assert "已上报到社区" in harness.last_text(world.resident)
    await harness.press_data(world[COMMUNITY_STAFF], push.message_id, _data("open", appeal_id))
    assert "需要住建部门鉴定" in _text(_task_message(emu, COMMUNITY_STAFF, appeal_id))
    await harness.command(world[COMMUNITY_STAFF], "tasks")
    assert f"#{appeal_id:06d}" in " ".join(harness.buttons(world[COMMUNITY_STAFF]))
    await _press_task(harness, world[COMMUNITY_STAFF], appeal_id, "accept")
    assert (await _appeal(sessionmaker, appeal_id)).owner_id == COMMUNITY_STAFF
    assert emu.errors == []


async def test_transfer_to_the_other_grid_pushes_its_worker(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world, "3号楼下水道堵了")
    await _press_task(harness, world[W1], appeal_id, "accept")
    await _press_task(harness, world[W1], appeal_id, "transfer")
    assert "请选择社区" in harness.last_text(world[W1])
    assert {"通海社区", "正阳社区"} <= set(harness.buttons(world[W1]))
    await harness.press(world[W1], "通海社区")
    # The appeal's own grid is not offered.
    assert "第二网格" in harness.buttons(world[W1])
    assert "第一网格" not in harness.buttons(world[W1])
    await harness.press(world[W1], "第二网格")
    assert "转给 第二网格" in harness.last_text(world[W1])

    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.grid_id == world.tree.grid2.id and appeal.owner_id is None
    assert appeal.state == State.SUBMITTED
    await harness.deliver()
    assert "转来的诉求" in _text(_task_message(emu, GRID2_WORKER, appeal_id))
    assert "转给更合适的网格" in harness.last_text(world.resident)
    # The first grid no longer handles it.
    await _press_task(harness, world[W2], appeal_id, "accept")
    assert _alerts(emu, W2)[-1] == "这条诉求不归您处理。"
    await _press_task(harness, world[GRID2_WORKER], appeal_id, "accept")
    assert (await _appeal(sessionmaker, appeal_id)).owner_id == GRID2_WORKER
    assert emu.errors == []


async def test_unaccepted_appeal_escalates_grid_community_street(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world, "垃圾站三天没清运")
    assert not any("超时上报" in t for t in harness.texts(world[COMMUNITY_STAFF]))

    clock.advance(timedelta(hours=24, minutes=1))
    assert await harness.tick() == 1
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.COMMUNITY and appeal.escalations == 1
    push = _task_message(emu, COMMUNITY_STAFF, appeal_id)
    assert "超时上报" in _text(push) and "垃圾站三天没清运" in _text(push)
    assert "已自动上报到社区督办" in harness.last_text(world.resident)
    assert not any("超时上报" in t for t in harness.texts(world[STREET_STAFF]))
    # The history comes with the push's details button.
    await harness.press_data(world[COMMUNITY_STAFF], push.message_id, _data("open", appeal_id))
    history = _text(_task_message(emu, COMMUNITY_STAFF, appeal_id))
    assert "办理记录" in history and "超时，自动上报 → 社区" in history

    clock.advance(timedelta(hours=24, minutes=1))
    assert await harness.tick() == 1
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.STREET and appeal.escalations == 2
    assert "超时上报" in _text(_task_message(emu, STREET_STAFF, appeal_id))
    assert "已自动上报到街道督办" in harness.last_text(world.resident)
    assert (await _events(sessionmaker, appeal_id)).count("escalated") == 2
    # Overdue and escalated: the street sees it in its tasks, marked.
    clock.advance(timedelta(hours=25))
    await harness.command(world[STREET_STAFF], "tasks")
    assert any(b.startswith("⚠️ 超时 2 天") for b in harness.buttons(world[STREET_STAFF]))
    assert emu.errors == []


async def test_restart_between_deadline_and_escalation_escalates_once(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    settings: Settings,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world)
    clock.advance(timedelta(hours=30))  # the bot was down when the deadline passed

    restarted = bootstrap(
        settings, sessionmaker, clock=clock, storage=MemoryStorage(), bot=harness.bot
    )
    fired = await asyncio.gather(
        sweep(harness.app.sessionmaker, harness.app.config.get(AppealPolicy), clock.now()),
        sweep(restarted.sessionmaker, restarted.config.get(AppealPolicy), clock.now()),
    )
    # Delivery one after the other: on SQLite (one process by design) the outbox has no
    # row claiming, only PostgreSQL's SKIP LOCKED lets two processes deliver at once.
    await restarted.delivery.deliver_pending()
    await harness.deliver()
    assert [f for fs in fired for f in fs] == [(appeal_id, "escalate_accept")]
    assert await harness.tick() == 0

    assert (await _events(sessionmaker, appeal_id)).count("escalated") == 1
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.user_id, OutboxMessage.kind).where(
                    OutboxMessage.subject_id == appeal_id,
                    OutboxMessage.created_at == clock.now(),
                )
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        (RESIDENT, "appeal.status"),
        (W1, "appeal.reminder"),  # told it left their grid
        (W2, "appeal.reminder"),
        (COMMUNITY_STAFF, "appeal.task"),
    ]
    pushes = [t for t in harness.texts(world[COMMUNITY_STAFF]) if "超时上报" in t]
    assert len(pushes) == 1
    assert [t for t in harness.texts(world.resident) if "自动上报" in t] != []
    assert len([t for t in harness.texts(world.resident) if "自动上报" in t]) == 1
    assert emu.errors == []


async def test_two_workers_accept_at_once_one_owns_it(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world)
    m1 = _task_message(emu, W1, appeal_id)
    m2 = _task_message(emu, W2, appeal_id)

    await asyncio.gather(
        harness.press_data(world[W1], m1.message_id, _data("accept", appeal_id)),
        harness.press_data(world[W2], m2.message_id, _data("accept", appeal_id)),
    )

    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.ACCEPTED and appeal.owner_id in (W1, W2)
    assert (await _events(sessionmaker, appeal_id)).count("accepted") == 1
    winner, loser = (W1, W2) if appeal.owner_id == W1 else (W2, W1)
    loser_message = m2 if loser == W2 else m1
    assert _alerts(emu, loser)[-1] == "这条诉求已由网格员受理。"
    refreshed = emu.chat(loser).find(loser_message.message_id)
    assert refreshed is not None and "已经有人受理了" in _text(refreshed)
    assert _labels(refreshed) == [OPEN]
    assert _alerts(emu, winner)[-1].startswith("✅ 已受理")
    await harness.deliver()
    assert [t for t in harness.texts(world.resident) if "已由网格员受理" in t] != []
    assert len([t for t in harness.texts(world.resident) if "已由网格员受理" in t]) == 1
    assert emu.errors == []


async def test_forged_and_stale_buttons_change_nothing(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(
        harness, sessionmaker, clock, world, text="井盖丢了", contact_phone=PHONE
    )

    # Another grid's worker, and the resident, forge an accept.
    other = world[OTHER_GRID_WORKER]
    last = harness.last(other)
    await harness.press_data(other, last.message_id, _data("accept", appeal_id), forged=True)
    assert _alerts(emu, OTHER_GRID_WORKER)[-1] == "这条诉求不归您处理。"
    assert emu.chat(OTHER_GRID_WORKER).find(last.message_id) == last  # left as it was
    resident_last = harness.last(world.resident)
    await harness.press_data(
        world.resident, resident_last.message_id, _data("accept", appeal_id), forged=True
    )
    assert _alerts(emu, RESIDENT)[-1] == "这条诉求不归您处理。"
    await harness.press_data(
        world.resident, 999_999, _data("resolve", appeal_id), forged=True
    )  # a message the bot never sent
    assert _alerts(emu, RESIDENT)[-1] == "这条诉求不归您处理。"
    assert (await _appeal(sessionmaker, appeal_id)).state == State.SUBMITTED

    # An appeal id that does not exist, and an unknown action.
    push = _task_message(emu, W1, appeal_id)
    await harness.press_data(world[W1], push.message_id, _data("accept", 987_654), forged=True)
    assert _alerts(emu, W1)[-1] == "找不到这条诉求。"
    await harness.press_data(world[W1], push.message_id, _data("accept", 2**40), forged=True)
    assert _alerts(emu, W1)[-1] == "找不到这条诉求。"
    await harness.press_data(world[W1], push.message_id, "task:accept:abc", forged=True)
    assert _alerts(emu, W1)[-1] == "这个按钮已经过期了，请重新打开菜单。"
    await harness.press_data(world[W1], push.message_id, _data("delete", appeal_id), forged=True)
    assert _alerts(emu, W1)[-1] == "这条诉求不归您处理。"
    assert _labels(emu.chat(W1).find(push.message_id) or push) == [
        ACCEPT,
        REJECT,
        TRANSFER,
        CALLUP,
        OPEN,
    ]

    # Progress before anyone accepted: refused, no form opened.
    await harness.press_data(world[W1], push.message_id, _data("progress", appeal_id), forged=True)
    assert _alerts(emu, W1)[-1] == "这条诉求的状态已经变了，这个操作不能再做了。"
    assert "添加进展" not in harness.last_text(world[W1])

    # Accept, then the same accept again on the old message.
    await harness.press_data(world[W1], push.message_id, _data("accept", appeal_id))
    await harness.press_data(world[W1], push.message_id, _data("accept", appeal_id), forged=True)
    assert _alerts(emu, W1)[-1] == "您已经受理了这条诉求。"
    # The second worker's push still shows accept: pressing it is refused and refreshes it.
    m2 = _task_message(emu, W2, appeal_id)
    await harness.press_data(world[W2], m2.message_id, _data("accept", appeal_id))
    assert _alerts(emu, W2)[-1] == "这条诉求已由网格员受理。"
    assert _labels(emu.chat(W2).find(m2.message_id) or m2) == [OPEN]
    # ... and W2 cannot report progress or reject on someone else's task either.
    await harness.press_data(world[W2], m2.message_id, _data("progress", appeal_id), forged=True)
    assert _alerts(emu, W2)[-1] == "这条诉求已由网格员受理。"
    await harness.press_data(world[W2], m2.message_id, _data("reject", appeal_id), forged=True)
    assert _alerts(emu, W2)[-1] == "这条诉求已由网格员受理。"

    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.ACCEPTED and appeal.owner_id == W1
    assert await _events(sessionmaker, appeal_id) == ["submitted", "accepted"]

    # A form opened from an old message is checked again when submitted.
    await _press_task(harness, world[W1], appeal_id, "resolve")
    await harness.text(world[W1], "已处理")
    async with sessionmaker() as session:  # meanwhile the community calls it up
        community = await StaffRepo(session).staffing(COMMUNITY_STAFF)
        service = AppealService(session, harness.app.config.get(AppealPolicy), clock.now())
        await service.call_up(appeal_id, community, "社区统一处理")
        await session.commit()
    await harness.press(world[W1], "确认办结")
    assert _alerts(emu, W1)[-1] == "这条诉求的状态已经变了，这个操作不能再做了。"
    assert any("状态已经变了" in t for t in harness.texts(world[W1]))
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.SUBMITTED and appeal.level == Level.COMMUNITY
    assert emu.errors == []


async def test_tasks_sorted_by_deadline_with_overdue_marked_and_paged(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    first = await _file(harness, sessionmaker, clock, world, "第一条")  # due 11-03 09:00
    clock.advance(timedelta(hours=1))
    later = [await _file(harness, sessionmaker, clock, world, f"第{i}条") for i in range(7)]
    urgent = await _file(
        harness, sessionmaker, clock, world, "老人摔倒了", category="urgent", urgent=True
    )  # due 10:30 the same day
    clock.advance(timedelta(minutes=40))  # the urgent one is now overdue
    last = await _file(harness, sessionmaker, clock, world, "最后一条")

    await harness.command(world[W1], "tasks")
    page1 = [b for b in harness.buttons(world[W1]) if "#" in b]
    assert "共 10 条" in harness.last_text(world[W1]) and "第 1/2 页" in harness.last_text(
        world[W1]
    )
    # Overdue first, saying by how long.
    assert page1[0] == f"⚠️ 超时 10 分钟 · 🆘 #{urgent:06d} 一键呼叫 · 1号楼"
    assert page1[1] == f"#{first:06d} 环境卫生 · 1号楼 · ⏰ 11-03 09:00"
    assert [b.split(" ")[0] for b in page1[2:]] == [f"#{i:06d}" for i in later[:6]]
    assert len(page1) == 8 and "下一页 »" in harness.buttons(world[W1])
    assert "« 上一页" not in harness.buttons(world[W1])
    await harness.press(world[W1], "下一页")
    page2 = [b for b in harness.buttons(world[W1]) if "#" in b]
    assert [b.split(" ")[0] for b in page2] == [f"#{later[6]:06d}", f"#{last:06d}"]
    assert "第 2/2 页" in harness.last_text(world[W1])
    await harness.press(world[W1], "上一页")
    assert "第 1/2 页" in harness.last_text(world[W1])

    # Open a task from the list and accept it there.
    await harness.press(world[W1], f"#{first:06d}")
    assert "第一条" in harness.last_text(world[W1])
    await harness.press(world[W1], ACCEPT)
    assert (await _appeal(sessionmaker, first)).owner_id == W1
    assert PROGRESS in harness.buttons(world[W1])
    await harness.press(world[W1], "返回任务列表")
    assert "共 10 条" in harness.last_text(world[W1])

    # Not staff: not allowed.
    await harness.command(world.resident, "tasks")
    assert harness.last_text(world.resident) == "抱歉，您没有权限做这件事。"
    assert emu.errors == []


async def test_only_the_owner_sees_the_residents_name_and_phone(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    appeal_id = await _file(harness, sessionmaker, clock, world, contact_phone=PHONE)
    for user_id in (W1, W2):
        assert PHONE not in _text(_task_message(emu, user_id, appeal_id))

    await _press_task(harness, world[W1], appeal_id, "accept")
    owner_card = _text(_task_message(emu, W1, appeal_id))
    assert PHONE in owner_card and "老张" in owner_card
    await _press_task(harness, world[W2], appeal_id, "open")
    other_card = _text(_task_message(emu, W2, appeal_id))
    assert "楼道里堆满了杂物" in other_card
    assert PHONE not in other_card and "老张" not in other_card

    # The same in /tasks.
    for user_id, sees in ((W1, True), (W2, False), (COMMUNITY_STAFF, False)):
        await _escalate_view(harness, world, user_id, appeal_id)
        assert (PHONE in harness.last_text(world[user_id])) is sees, user_id
    assert emu.errors == []


async def _escalate_view(harness: Harness, world: World, user_id: int, appeal_id: int) -> None:
    """Open the appeal's detail from /tasks (community staff only see it once escalated)."""
    user = world[user_id]
    if user_id == COMMUNITY_STAFF:
        message = _task_message(harness.emu, W1, appeal_id)
        await harness.press_data(world[W1], message.message_id, _data("callup", appeal_id))
        await harness.text(world[W1], "需要社区协调")
        await harness.deliver()
    await harness.command(user, "tasks")
    await harness.press(user, f"#{appeal_id:06d}")


async def test_html_in_the_residents_text_arrives_escaped(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    world = await _world(harness, emu, sessionmaker, clock)
    raw = "<b>楼道</b> & <script>alert(1)</script> 灯坏了"
    appeal_id = await _file(harness, sessionmaker, clock, world, raw)
    assert raw in _text(_task_message(emu, W1, appeal_id))
    await _press_task(harness, world[W1], appeal_id, "open")
    assert raw in _text(_task_message(emu, W1, appeal_id))
    await _press_task(harness, world[W1], appeal_id, "accept")
    await _press_task(harness, world[W1], appeal_id, "progress")
    await harness.text(world[W1], "<i>已报修</i> & 等待")
    await harness.press(world[W1], "提交进展")
    await harness.command(world[W1], "tasks")
    await harness.press(world[W1], f"#{appeal_id:06d}")
    detail = harness.last_text(world[W1])
    assert raw in detail and "<i>已报修</i> & 等待" in detail
    await harness.deliver()
    assert "<i>已报修</i> & 等待" in harness.last_text(world.resident)
    assert emu.errors == []
