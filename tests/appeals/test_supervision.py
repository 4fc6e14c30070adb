"""What the command centre, the community and the grid see once an appeal is late or
escalated: the promise never moves, overdue stays overdue everywhere (/tasks, /stats, the
workbook), the level holding it takes it or assigns it, lower cards say where it is, and
what people wrote is readable in full."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from emulator.world import EmulatedUser
from storage.appeals import Appeal, Level, State
from storage.roles import Role
from storage.staff.profiles import ProfileRepo
from tests.harness import Harness, World


def _cards(harness: Harness, user: EmulatedUser, number: str) -> list[str]:
    return [t for t in harness.texts(user) if f"#{number}" in t]


async def _appeal(harness: Harness, appeal_id: int) -> Appeal:
    async with harness.app.services() as s:
        appeal = await s.session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def test_an_appeal_left_alone_stays_overdue_up_to_the_command_centre(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    district = await world.staff(Role.DISTRICT_STAFF, world.tree.district, "指挥中心")
    appeal_id = await world.appeal(resident, "垃圾站满了没人清")
    number = f"{appeal_id:06d}"

    for _ in range(3):  # "+1 天" three times: grid → community → street → district
        harness.app.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
        await harness.tick()
    appeal = await _appeal(harness, appeal_id)
    assert appeal.level == Level.DISTRICT and appeal.state == State.SUBMITTED

    # The grid worker was told it left her grid; the community got it with a window.
    assert any("已离开本网格" in t for t in _cards(harness, worker, number))
    escalated = next(t for t in _cards(harness, community, number) if "超时上报" in t)
    assert "承诺受理：2026-11-03 09:00 已超时" in escalated
    assert "社区办理时限：2026-11-04 09:" in escalated

    # /tasks: overdue first, marked, with how long.
    await harness.command(district, "tasks")
    row = next(b for b in harness.buttons(district) if number in b)
    assert row.startswith("⚠️ 超时 2 天")

    # /stats: overdue now and late this month, not "0".
    await harness.command(district, "stats")
    caption = harness.last_text(district)
    assert "超时 1 件 · 当前超期 1 件" in caption

    # The workbook agrees.
    await harness.press(district, "导出 Excel")
    document = next(m for m in reversed(harness.emu.chat(district.id).bot_messages) if m.document)
    assert document.document is not None
    stored = harness.emu.files.get(document.document["file_id"])
    assert stored is not None
    sheet = load_workbook(io.BytesIO(stored.data))["汇总"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = next(r for r in rows if r and r[0] == "编码")
    values = next(r for r in rows if r and r[0] == world.tree.district.code)
    figures = dict(zip(header, values, strict=False))
    assert (figures["当前超期"], figures["超时（未兑现承诺）"]) == (1, 1)
    assert harness.emu.errors == []


async def test_once_called_up_the_grid_cannot_accept_and_the_community_assigns(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    other = await world.staff(Role.WORKER, world.tree.grid, "钱小梅")
    secretary = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    deputy = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区副书记")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    stale_card = harness.last(worker)

    harness.app.clock.advance(timedelta(hours=24, minutes=1))  # type: ignore[attr-defined]
    await harness.tick()

    # The old card's accept is refused with where the appeal is, and the card says so.
    accept = harness.label(worker, "appeal.button.accept")
    data = next(
        d
        for row in harness.emu.chat(worker.id).find(stale_card.message_id).inline_buttons()  # type: ignore[union-attr]
        for text, d in row
        if text == accept
    )
    await harness.press_data(worker, stale_card.message_id, data)
    answer = harness.emu.chat(worker.id).callback_answers[-1]["text"]
    assert "已上报至上级督办" in answer
    card = harness.emu.chat(worker.id).find(stale_card.message_id)
    assert card is not None and "已上报至通海社区督办" in (card.text or "")
    assert accept not in [t for row in card.inline_buttons() for t, _ in row]

    # The community assigns it to a named worker with a window; the worker owns it.
    push = next(
        m
        for m in reversed(harness.emu.chat(secretary.id).bot_messages)
        if "超时上报" in (m.text or "")
    )
    assert harness.label(secretary, "appeal.button.assign") in [
        t for row in push.inline_buttons() for t, _ in row
    ]
    await harness.press_key(secretary, "appeal.button.assign")
    await harness.press(secretary, "钱小梅")
    await harness.press(secretary, "4 小时")
    appeal = await _appeal(harness, appeal_id)
    assert appeal.owner_id == other.id and appeal.level == Level.COMMUNITY
    assigned = harness.last_text(other)
    assert "通海社区指派给您办理" in assigned
    assert "办理人：钱小梅（网格员） · 督办：通海社区" in assigned
    assert "已由通海社区指派给钱小梅（网格员）办理" in harness.last_text(resident)
    assert deputy.id != secretary.id
    assert harness.emu.errors == []


async def test_the_rest_of_the_level_hears_who_took_it(harness: Harness, world: World) -> None:
    resident = await world.resident()
    await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    secretary = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    deputy = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区副书记")
    await world.appeal(resident, "下水道堵了")
    harness.app.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    await harness.tick()
    deputy_card = harness.last(deputy)
    await harness.press_key(secretary, "appeal.button.accept")
    assert "已由社区书记（社区工作者）受理" in harness.last_text(deputy)
    # A late press on the deputy's card is told who took it, not just "someone".
    accept = harness.label(deputy, "appeal.button.accept")
    data = next(d for row in deputy_card.inline_buttons() for t, d in row if t == accept)
    assert data is not None
    await harness.press_data(deputy, deputy_card.message_id, data)
    answer = harness.emu.chat(deputy.id).callback_answers[-1]["text"]
    assert answer == "这条诉求已由社区书记（社区工作者）受理。"
    assert harness.emu.errors == []


async def test_long_texts_are_previewed_and_readable_in_full(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    text = "".join(f"第{i}句话，说明楼道的情况。" for i in range(200))[:2000]
    appeal_id = await world.appeal(resident, text)
    card = harness.last_text(worker)
    assert "全文共 2000 字" in card and text not in card

    await harness.press_key(worker, "appeal.button.open")
    pages = [t for t in harness.texts(worker) if "诉求详情" in t or "第" in t]
    shown = "".join(harness.texts(worker)[-3:])
    assert text[:1500] in shown and text[-300:] in shown  # nothing cut
    assert all(len(t) <= 4096 for t in harness.texts(worker))
    assert pages

    # The resident's own view: a preview with the way to the whole text.
    await harness.command(resident, "appeals")
    await harness.press(resident, f"#{appeal_id:06d}")
    assert "全文共 2000 字" in harness.last_text(resident)
    await harness.press_key(resident, "appeal.button.open")
    assert text[-300:] in "".join(harness.texts(resident)[-3:])
    assert harness.emu.errors == []


async def test_acceptance_names_who_and_the_work_phone_they_chose_to_share(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    async with harness.app.services() as s:
        await s.get(ProfileRepo).update(worker.id, s.now(), work_phone="0535-4211234", public=True)
    await world.appeal(resident)
    await harness.press_key(worker, "appeal.button.accept")
    told = harness.last_text(resident)
    assert "已由赵丽娟（网格员）受理" in told and "0535-4211234" in told
    assert harness.emu.errors == []


async def test_a_second_unsatisfied_closes_and_tells_the_supervising_level(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    appeal_id = await world.appeal(resident)
    await harness.press_key(worker, "appeal.button.accept")
    for round_ in range(2):
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            from storage.appeals import AppealService

            await s.get(AppealService).resolve(appeal_id, staffing, f"第{round_ + 1}次处理")
        await harness.deliver()
        await harness.press(resident, "不满意")
        await harness.text(resident, "还是不行")
    appeal = await _appeal(harness, appeal_id)
    assert appeal.state == State.CLOSED and appeal.rating == "unsatisfied"
    assert any("已结案" in t and "通海社区" in t for t in harness.texts(resident))
    assert "居民第二次评价不满意" in harness.last_text(community)
    await harness.command(community, "stats")
    assert "两次不满意结案 1 件" in harness.last_text(community)
    assert harness.emu.errors == []


async def test_the_level_holding_an_appeal_supervises_its_owner_with_a_note(
    harness: Harness, world: World
) -> None:
    resident = await world.resident()
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    secretary = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "社区书记")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    number = f"{appeal_id:06d}"
    # Before anyone owns it there is nobody to supervise.
    assert not harness.has_button(secretary, "appeal.button.supervise")
    harness.app.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    await harness.tick()
    await harness.press_key(secretary, "appeal.button.assign")
    await harness.press(secretary, "赵丽娟")
    await harness.press(secretary, "24 小时")
    # Owned by her and held by the community: the community supervises (督办).
    assert harness.has_button(secretary, "appeal.button.supervise")
    assert not harness.has_button(worker, "appeal.button.supervise")
    await harness.press_key(secretary, "appeal.button.supervise")
    assert "督办意见" in harness.last_text(secretary)
    await harness.text(secretary, "请今天下班前联系居民")
    assert f"已督办诉求 #{number}" in harness.last_text(secretary)
    pushed = harness.last_text(worker)
    assert "社区书记（社区工作者）督办" in pushed and "请今天下班前联系居民" in pushed
    assert f"#{number}" in pushed
    appeal = await _appeal(harness, appeal_id)
    assert appeal.owner_id == worker.id and appeal.level == Level.COMMUNITY
    # Her forged press of the same button is refused and changes nothing.
    card = harness.last(worker)
    await harness.press_data(worker, card.message_id, f"task:supervise:{appeal_id}", forged=True)
    assert "不归您处理" in harness.emu.chat(worker.id).callback_answers[-1]["text"]
    assert harness.emu.errors == []
