"""Notices through the emulator: an officer writes once and everyone chosen gets it once,
as written under the sender's header; progress, pause, resume and cancel; 已收到, the one
reminder and the grid worker's door-visit list; and the rules against forged presses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from emulator import BotAPIEmulator
from emulator.world import EmulatedUser, StoredMessage
from storage.clock import ManualClock
from storage.notices import Notice, NoticeAck, NoticeState
from storage.roles import Role
from tests.harness import Harness, World

BODY = "周六上午 9:00-12:00 停水，请提前储水。"


def _bold(text: str, part: str) -> dict[str, Any]:
    before = text.index(part)
    return {
        "type": "bold",
        "offset": len(text[:before].encode("utf-16-le")) // 2,
        "length": len(part.encode("utf-16-le")) // 2,
    }


async def _write(harness: Harness, officer: EmulatedUser, text: str = BODY) -> None:
    """The officer opens /notice and sends the text with one bold span, as a client would."""
    await harness.command(officer, "notice")
    content = {"text": text, "entities": [_bold(text, "停水")]}
    await harness.feed(harness.emu._user_message(officer, content, False))


async def _send(harness: Harness, officer: EmulatedUser, *, ack: bool = False) -> None:
    if ack:
        await harness.press_key(officer, "notice.option.ack_off")
    await harness.press_key(officer, "notice.button.review")
    await harness.press_key(officer, "notice.button.send")


def _notices(harness: Harness, user: EmulatedUser) -> list[StoredMessage]:
    return [
        m
        for m in harness.emu.chat(user.id).bot_messages
        if (m.text or m.caption or "").split("\n")[0].startswith(("📢 ", "🚨 "))
        and (m.text or m.caption or "").split("\n")[0].endswith("通知")
    ]


async def _count(harness: Harness, model: type, *where: Any) -> int:
    async with harness.app.services() as s:
        stmt = select(func.count()).select_from(model)
        if where:
            stmt = stmt.where(*where)
        return int((await s.session.execute(stmt)).scalar_one())


async def test_a_community_notice_reaches_its_residents_once_as_written(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国", world.tree.building3)
    elsewhere = await world.resident("陈淑珍", world.tree.other_building)
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    await _write(harness, officer)
    screen = harness.last_text(officer)
    assert "将发送给 2 人" in screen and "王秀英" in screen
    await _send(harness, officer)

    for person in (wang, li):
        [got] = _notices(harness, person)
        assert got.text == f"📢 通海社区通知\n\n{BODY}"
        # The officer's bold is on the same words, moved below the header.
        bold = [e for e in got.raw.get("entities", []) if e["type"] == "bold"]
        assert _bold(got.text, "停水") in bold and _bold(got.text, "📢 通海社区通知") in bold
    assert _notices(harness, elsewhere) == [] and _notices(harness, worker) == []

    await harness.tick()
    progress = harness.last_text(officer)
    assert "发送完成" in progress and "已送达 2" in progress and "失败 0" in progress
    await harness.tick()  # nothing changed: the progress message is not edited again
    assert harness.emu.errors == []


async def test_overlapping_roles_get_it_once_and_blocked_people_are_counted_apart(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.STREET_STAFF, world.tree.street, "马国庆")
    wang = await world.resident("王秀英")
    gone = await world.resident("走了的人")
    async with harness.app.services() as s:
        user = await s.users.get(gone.id)
        assert user is not None
        user.blocked_at = s.now()
        await s.commit()
    # A grid worker who lives in her grid is a resident and a worker: one copy.
    worker = await world.resident("赵丽娟", world.tree.building2)
    async with harness.app.services() as s:
        await s.staff.grant(
            user_id=worker.id,
            role=Role.WORKER,
            node=world.tree.grid,
            granted_by=None,
            now=s.now(),
        )
        await s.commit()
    await _write(harness, officer)
    await harness.press(officer, "网格员")
    screen = harness.last_text(officer)
    assert "将发送给 2 人" in screen and "不会收到的 1 人" in screen
    await _send(harness, officer)
    assert len(_notices(harness, wang)) == 1 and len(_notices(harness, worker)) == 1
    assert _notices(harness, gone) == []
    assert harness.emu.errors == []


async def test_received_is_counted_once_and_a_forged_press_counts_nothing(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国")
    stranger = await world.resident("陈淑珍", world.tree.other_building)
    await _write(harness, officer)
    await _send(harness, officer, ack=True)
    [got] = _notices(harness, wang)
    ack = harness.label(wang, "notice.button.ack")
    await harness.press(wang, ack)
    assert harness.emu.chat(wang.id).callback_answers[-1]["text"] == harness.label(
        wang, "notice.ack_thanks"
    )
    assert harness.buttons(wang) == [harness.label(wang, "notice.button.acked")]
    await harness.press(wang, harness.label(wang, "notice.button.acked"))  # again
    assert "已经确认过" in harness.emu.chat(wang.id).callback_answers[-1]["text"]
    # Someone the notice never reached presses its button's data: nothing is recorded.
    data = got.raw["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await harness.press_data(stranger, 0, data, forged=True)
    assert "不是发给您的" in harness.emu.chat(stranger.id).callback_answers[-1]["text"]
    assert await _count(harness, NoticeAck) == 1
    await harness.tick()
    assert "已确认收到：1 / 2" in harness.last_text(officer)
    assert li.id != wang.id and harness.emu.errors == []


async def test_one_reminder_then_the_grid_worker_gets_the_doors_to_knock_on(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    other_worker = await world.staff(Role.WORKER, world.tree.grid2, "孙海涛")
    wang = await world.resident("王秀英", phone="+8613800000001")
    li = await world.resident("李建国", world.tree.building2)
    zhou = await world.resident("周晓燕", world.tree.building3)
    await _write(harness, officer)
    await _send(harness, officer, ack=True)
    await harness.press_key(zhou, "notice.button.ack")

    clock.advance(timedelta(hours=23))
    await harness.tick()
    assert not any("提醒" in t for t in harness.texts(wang))
    clock.advance(timedelta(hours=2))
    await harness.tick()
    for person in (wang, li):
        reminder = harness.last(person)
        assert "还没有确认收到" in (reminder.text or "")
        assert (
            reminder.raw.get("reply_to_message", {}).get("message_id")
            == _notices(harness, person)[0].message_id
        )
    assert not any("还没有确认收到" in t for t in harness.texts(zhou))
    await harness.press_key(li, "notice.button.ack")  # 李建国 reads it after the reminder

    clock.advance(timedelta(hours=25))
    await harness.tick()
    visits = harness.last_text(worker)
    assert "还有 1 户没有确认收到" in visits
    assert "1号楼 · 王秀英 · +8613800000001" in visits and "李建国" not in visits
    assert harness.texts(other_worker) == []  # everyone in her grid confirmed
    before = len(harness.texts(worker))
    clock.advance(timedelta(days=3))
    await harness.tick()
    assert len(harness.texts(worker)) == before  # once
    assert sum("还没有确认收到" in t for t in harness.texts(wang)) == 1
    assert harness.emu.errors == []


async def test_pause_holds_the_rest_resume_sends_it_and_cancel_stops_it(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    people = [await world.resident(f"居民{i}") for i in range(4)]
    await _write(harness, officer)
    await harness.press_key(officer, "notice.button.review")
    send = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.send"), queue=False
    )
    await harness.feed(send, deliver=False)
    # The first progress message goes out before any copy: it is in a faster lane.
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()
    assert "发送中" in harness.last_text(officer) and "待发送 4" in harness.last_text(officer)
    await harness.feed(
        harness.emu.press_button(
            officer, harness.label(officer, "notice.button.pause"), queue=False
        ),
        deliver=False,
    )
    await harness.tick()
    assert all(_notices(harness, p) == [] for p in people)
    assert "已暂停" in harness.last_text(officer)
    await harness.press_key(officer, "notice.button.resume")
    await harness.tick()
    assert all(len(_notices(harness, p)) == 1 for p in people)
    assert "发送完成" in harness.last_text(officer)

    # A second notice, cancelled before anything went out.
    await _write(harness, officer, "第二条通知：明天也停水")
    await harness.press_key(officer, "notice.button.review")
    await harness.feed(
        harness.emu.press_button(
            officer, harness.label(officer, "notice.button.send"), queue=False
        ),
        deliver=False,
    )
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()
    cancel = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.cancel"), queue=False
    )
    await harness.feed(cancel, deliver=False)
    await harness.feed(cancel, deliver=False)  # a double tap asks once
    await harness.feed(
        harness.emu.press_button(
            officer, harness.label(officer, "notice.button.cancel_yes"), queue=False
        ),
        deliver=False,
    )
    await harness.tick()
    assert all(len(_notices(harness, p)) == 1 for p in people)
    assert "已取消" in harness.last_text(officer)
    async with harness.app.services() as s:
        states = (await s.session.execute(select(Notice.state).order_by(Notice.id))).scalars().all()
    assert states == [NoticeState.DONE, NoticeState.CANCELLED]
    assert harness.emu.errors == []


async def test_who_may_send_and_manage(harness: Harness, world: World, emu: BotAPIEmulator) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    for person in (worker, resident):
        await harness.command(person, "notice")
        assert "只有社区、街道、区的工作人员" in harness.last_text(person)
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    neighbour = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "冯伟")
    await _write(harness, officer)
    screen = harness.last(officer)
    # The officer cannot go above her community: no "up" button, and a forged press of a
    # node outside it is refused and changes nothing.
    assert harness.label(officer, "notice.button.up") not in harness.buttons(officer)
    data = next(
        d
        for row in harness.emu.chat(officer.id).inline_buttons()
        for text, d in row
        if text == "第一网格"
    )
    forged = data.replace(str(world.tree.grid.id), str(world.tree.other_grid.id))
    await harness.press_data(officer, screen.message_id, forged, forged=True)
    assert "将发送给 1 人" in harness.last_text(officer)
    assert "通海社区" in harness.last_text(officer)
    await harness.press_key(officer, "notice.button.review")
    send = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.send"), queue=False
    )
    await harness.feed(send, deliver=False)
    await harness.app.scheduler.run("notices-progress")
    assert await harness.app.delivery.deliver_one()  # the progress message, still sending
    progress = harness.last(officer)
    pause = next(
        d
        for row in harness.emu.chat(officer.id).inline_buttons()
        for text, d in row
        if text == harness.label(officer, "notice.button.pause")
    )
    await harness.press_data(neighbour, progress.message_id, pause, forged=True)
    assert "只有发送人" in harness.emu.chat(neighbour.id).callback_answers[-1]["text"]
    await harness.tick()
    assert len(_notices(harness, resident)) == 1  # not paused: it went out
    assert emu.errors == []


async def test_too_long_is_said_not_cut_and_a_photo_keeps_its_media(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await harness.command(officer, "notice")
    await harness.text(officer, "长" * 4090)
    assert "请删减约" in harness.last_text(officer)
    assert await _count(harness, Notice) == 0
    await harness.feed(harness.emu.send_photo(officer, caption="施工区域见图", queue=False))
    await _send(harness, officer)
    [got] = _notices(harness, wang)
    assert got.raw.get("photo") and got.caption == "📢 通海社区通知\n\n施工区域见图"
    assert harness.emu.errors == []


async def test_failed_ones_are_resent_and_a_notice_is_recalled_from_every_chat(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    li = await world.resident("李建国")
    # Five refusals: the outbox's tries run out and the notice counts one failure.
    harness.emu.fail(li.id, 400, None, times=5, description="Bad Request: chat not found")
    await _write(harness, officer)
    await _send(harness, officer)
    for _ in range(6):  # the retries back off; each tick moves past the wait
        clock.advance(timedelta(minutes=20))
        await harness.tick()
    assert "失败 1" in harness.last_text(officer)
    assert harness.has_button(officer, "notice.button.resend")
    harness.emu.clear_records()  # the refusals above were injected on purpose
    await harness.press_key(officer, "notice.button.resend")
    await harness.tick()
    assert len(_notices(harness, li)) == 1 and len(_notices(harness, wang)) == 1
    assert "失败 0" in harness.last_text(officer)

    await harness.press_key(officer, "notice.button.recall")
    assert harness.buttons(officer) == [
        harness.label(officer, "notice.button.recall_yes"),
        harness.label(officer, "notice.button.recall_no"),
    ]
    await harness.press_key(officer, "notice.button.recall_yes")
    await harness.tick()
    assert _notices(harness, wang) == [] and _notices(harness, li) == []
    assert "已撤回" in harness.last_text(officer)
    assert harness.buttons(officer) == []
    assert harness.emu.errors == []


async def test_a_recall_is_refused_after_48_hours(
    harness: Harness, world: World, clock: ManualClock
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    wang = await world.resident("王秀英")
    await _write(harness, officer)
    await _send(harness, officer)
    await harness.tick()
    recall = harness.emu.press_button(
        officer, harness.label(officer, "notice.button.recall"), queue=False
    )
    clock.advance(timedelta(hours=49))
    await harness.feed(recall)
    assert "48 小时" in harness.emu.chat(officer.id).callback_answers[-1]["text"]
    assert len(_notices(harness, wang)) == 1
    assert harness.emu.errors == []


async def test_in_a_grid_some_buildings_only_and_a_forged_building_is_ignored(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    first = await world.resident("王秀英", world.tree.building)
    second = await world.resident("李建国", world.tree.building2)
    await _write(harness, officer)
    await harness.press(officer, "第一网格")
    assert "将发送给 2 人" in harness.last_text(officer)
    await harness.press(officer, "⬜ 2号楼")
    assert "将发送给 1 人" in harness.last_text(officer)
    screen = harness.last(officer)
    data = next(
        d
        for row in harness.emu.chat(officer.id).inline_buttons()
        for text, d in row
        if text == "☑️ 2号楼"
    )
    # A building of another community, ticked by a forged press: nothing changes.
    forged = data.replace(f"{world.tree.building2.id}:0", f"{world.tree.other_building.id}:1")
    await harness.press_data(officer, screen.message_id, forged, forged=True)
    assert "将发送给 1 人" in harness.last_text(officer)
    await _send(harness, officer)
    assert len(_notices(harness, second)) == 1 and _notices(harness, first) == []
    assert harness.emu.errors == []


async def test_the_sender_is_not_sent_her_own_notice(harness: Harness, world: World) -> None:
    officer = await world.resident("郑红梅")  # she lives in the community she serves
    async with harness.app.services() as s:
        await s.staff.grant(
            user_id=officer.id,
            role=Role.COMMUNITY_STAFF,
            node=world.tree.community,
            granted_by=None,
            now=s.now(),
        )
        await s.commit()
    wang = await world.resident("王秀英")
    await _write(harness, officer)
    assert "将发送给 1 人" in harness.last_text(officer)
    await _send(harness, officer, ack=True)
    assert len(_notices(harness, wang)) == 1
    # The preview is hers (its 已收到 belongs to no notice); no copy with a 已收到 button
    # to confirm her own notice.
    [preview] = [m for m in _notices(harness, officer) if BODY in (m.text or "")]
    assert [d for row in preview.inline_buttons() for _, d in row] == ["nack:0"], (
        "the author was sent her own notice"
    )


def test_grids_and_buildings_sort_as_people_count() -> None:
    from storage.notices.service import natural

    names = ["10号楼", "2号楼", "第十网格", "1号楼"]
    assert sorted(names, key=natural)[:3] == ["1号楼", "2号楼", "10号楼"]
