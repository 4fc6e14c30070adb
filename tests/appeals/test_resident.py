"""The resident side of appeals through the real dispatcher and the emulator: filing
(text, voice, photos, media groups, location, anonymity, wrong inputs, editing), similar
appeals, the urgent call, cancelling, adding details, rating and the paged list. Asserts on
what the resident and the grid worker see and on the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs.appeals.callbacks import AppealOpen, RateAction
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.appeals import (
    Appeal,
    AppealEvent,
    AppealFollower,
    AppealMedia,
    AppealPolicy,
    AppealService,
    Draft,
    Level,
    State,
)
from storage.clock import ManualClock
from storage.hierarchy import Node
from storage.outbox import OutboxMessage
from storage.roles import Role, StaffRepo
from storage.users import User
from tests.factories import Tree, build_tree
from tests.harness import Harness

WORKER = 3001
WORKER2 = 3002
COMMUNITY = 3003
OTHER_WORKER = 3004


@dataclass
class World:
    tree: Tree
    resident: EmulatedUser
    worker: EmulatedUser


async def _grant(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    user_id: int,
    role: Role,
    node: Node,
    name: str,
) -> EmulatedUser:
    person = emu.add_user(user_id=user_id, first_name=name)
    async with sessionmaker() as session:
        await StaffRepo(session).grant(
            user_id=user_id, role=role, node=node, granted_by=None, now=clock.now()
        )
        await session.commit()
    await harness.command(person, "start")  # Telegram now knows the chat
    return person


async def _resident(
    harness: Harness,
    emu: BotAPIEmulator,
    tree: Tree,
    user_id: int = 1101,
    name: str = "王阿姨",
    language: str | None = "zh-hans",
    building: Node | None = None,
) -> EmulatedUser:
    person = emu.add_user(user_id=user_id, first_name=name, language_code=language)
    token = (building or tree.building).qr_token
    await harness.command(person, "start", f"b_{token}")
    await harness.press(person, "同意并继续" if language != "en" else "Agree")
    return person


async def _world(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> World:
    tree = await build_tree(sessionmaker, clock)
    worker = await _grant(
        harness, emu, sessionmaker, clock, WORKER, Role.WORKER, tree.grid, "网格员小李"
    )
    resident = await _resident(harness, emu, tree)
    return World(tree, resident, worker)


async def _appeals(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Appeal]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Appeal).order_by(Appeal.id))).scalars().all())


async def _media(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(AppealMedia.kind).where(AppealMedia.appeal_id == appeal_id)
        )
        return sorted(rows.scalars().all())


async def test_file_with_text_photos_location_anonymous_reaches_the_worker(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident

    await harness.command(r, "new")
    assert "类别" in harness.last_text(r)
    assert {"环境卫生", "物业服务", "其他"} <= set(harness.buttons(r))
    rows = emu.chat(r.id).inline_buttons()
    assert len(rows[0]) == 2  # two categories a row
    await harness.press(r, "环境卫生")
    assert "文字" in harness.last_text(r) and "语音" in harness.last_text(r)

    # Described: straight to the summary, where photos and the location are optional.
    await harness.text(r, "<b>漏水</b> & <script> 三楼楼道")
    assert "请核对" in harness.last_text(r)
    await harness.press(r, "📷 加照片")
    await harness.feed(emu.send_photo(r, queue=False))
    await harness.feed(emu.send_photo(r, queue=False))
    assert "已收到 2 张" in harness.last_text(r)
    await harness.press(r, "好了")

    await harness.press(r, "📍 加位置")
    keyboard = emu.chat(r.id).reply_keyboard
    assert keyboard is not None
    assert keyboard[0][0].get("request_location") is True
    # One prompt and one way out: no second "skip" among the inline buttons.
    assert "跳过" not in " ".join(harness.buttons(r))
    await harness.feed(emu.send_location(r, 37.38912, 121.60041, queue=False))
    assert emu.chat(r.id).reply_keyboard is None  # ReplyKeyboardRemove was sent
    assert "邻居能看到您的名字" in harness.last_text(r)
    await harness.press(r, "不让邻居看到我的名字")

    summary = harness.last_text(r)
    assert "请核对" in summary
    assert "环境卫生" in summary
    assert "<b>漏水</b> & <script> 三楼楼道" in summary  # shown as typed: it was escaped
    assert "2 张" in summary and "37.38912" in summary
    assert "邻居看不到您的名字" in summary
    await harness.press(r, "确认提交")

    done = harness.last_text(r)
    assert "#000001" in done
    # Filed at 09:00 Shanghai on 2 Nov: accepted within 24 h, resolved within 48 h.
    assert "2026-11-03 09:00" in done and "2026-11-04 09:00" in done

    [appeal] = await _appeals(sessionmaker)
    assert appeal.resident_id == r.id and appeal.building_id == w.tree.building.id
    assert appeal.grid_id == w.tree.grid.id and appeal.category == "sanitation"
    assert appeal.text == "<b>漏水</b> & <script> 三楼楼道"
    assert appeal.anonymous is True and appeal.state == State.SUBMITTED
    assert (appeal.latitude, appeal.longitude) == (37.38912, 121.60041)
    assert await _media(sessionmaker, appeal.id) == ["photo", "photo"]

    sent = emu.sent_to(WORKER)
    assert [r.method for r in sent][-2:] == ["sendMediaGroup", "sendMessage"]
    assert len(sent[-2].params["media"]) == 2
    card = harness.last(w.worker)
    text = card.text or ""
    assert "新诉求" in text and "#000001" in text and "环境卫生" in text
    assert "1号楼" in text and "2026-11-03 09:00" in text
    assert "<b>漏水</b> & <script> 三楼楼道" in text  # arrived as text, not markup
    assert "&lt;b&gt;漏水&lt;/b&gt; &amp; &lt;script&gt;" in (card.html or "")
    assert emu.errors == []


async def test_the_common_path_is_three_steps(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    presses_before = len(emu.chat(r.id).callback_answers)
    await harness.press(r, "环境卫生")
    await harness.text(r, "垃圾桶满了")
    await harness.press(r, "确认提交")
    assert len(emu.chat(r.id).callback_answers) - presses_before == 2  # and one message
    assert "#000001" in harness.last_text(r)
    assert len(await _appeals(sessionmaker)) == 1
    assert emu.errors == []


async def test_confirm_says_filed_in_the_form_without_waiting_for_the_outbox(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """After a crash the outbox can be slow to deliver; the resident learns that the
    appeal was filed from the form itself, and the outbox does not say it again."""
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "环境卫生")
    await harness.text(r, "垃圾桶满了")
    form = harness.last(r)
    assert "请核对" in (form.text or "")
    messages = len(emu.chat(r.id).bot_messages)

    mark = len(emu.requests)
    await harness.feed(emu.press_button(r, "确认提交", queue=False), deliver=False)
    # One edit turns the form into the answer (its buttons go with it), then the press is
    # answered: no separate call taking the buttons off first.
    assert [q.method for q in emu.requests[mark:]] == ["editMessageText", "answerCallbackQuery"]
    said = harness.last(r)
    assert said.message_id == form.message_id
    assert "✅ 诉求 #000001 已提交（环境卫生）" in (said.text or "")
    assert "2026-11-03 09:00" in (said.text or "")
    assert harness.buttons(r) == []

    await harness.deliver()
    assert len(emu.chat(r.id).bot_messages) == messages
    assert sum("已提交" in t for t in harness.texts(r)) == 1
    assert "新诉求" in harness.last_text(w.worker)
    async with sessionmaker() as session:
        [owed] = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "appeal.filed"))
        ).scalars()
    assert owed.sent_at is not None and owed.message_id == form.message_id
    assert emu.errors == []


async def test_filing_the_same_words_again_asks_whether_it_is_the_same_matter(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """Someone unsure whether the first one went through starts over: the same words in
    the same category minutes later are asked about before a second appeal is filed."""
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident

    async def file_again(words: str, category: str = "环境卫生") -> None:
        await harness.command(r, "new")
        await harness.press(r, category)
        await harness.text(r, words)
        await harness.press(r, "确认提交")

    await file_again("楼道里堆满了杂物")
    clock.advance(timedelta(minutes=3))
    await file_again(" 楼道里堆满了杂物。")
    shown = harness.last_text(r)
    assert "刚提交过一样的诉求" in shown and "#000001" in shown and "楼道里堆满了杂物" in shown
    assert len(await _appeals(sessionmaker)) == 1
    await harness.press(r, "是同一件事")
    assert "没有重复提交" in harness.last_text(r) and "#000001" in harness.last_text(r)
    assert len(await _appeals(sessionmaker)) == 1

    # Asked again, it can still be filed: another matter in the same words.
    await file_again("楼道里堆满了杂物")
    await harness.press(r, "不是，另外提交")
    assert "✅ 诉求 #000002 已提交" in harness.last_text(r)

    # Other words, another category, or long after: filed without a question.
    await file_again("楼道灯坏了")
    await file_again("楼道里堆满了杂物", "物业服务")
    clock.advance(timedelta(hours=1))
    await file_again("楼道里堆满了杂物")
    assert [a.number for a in await _appeals(sessionmaker)][-3:] == [
        "000003",
        "000004",
        "000005",
    ]
    assert emu.errors == []


# --- helpers for appeals made straight through the service -------------------------------


async def _file(
    harness: Harness,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    resident_id: int,
    building: Node,
    text: str = "路灯坏了",
    category: str = "facilities",
) -> Appeal:
    async with sessionmaker() as session:
        node = await session.get(Node, building.id)
        assert node is not None
        appeal = await AppealService(
            session, harness.app.config.get(AppealPolicy), clock.now()
        ).file(resident_id, node, Draft(category=category, text=text))
        await session.commit()
    await harness.deliver()  # as the delivery loop would, right after the commit
    return appeal


async def _staff(
    harness: Harness,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    user_id: int,
    action: str,
    appeal_id: int,
    *args: str,
) -> None:
    async with sessionmaker() as session:
        staffing = await StaffRepo(session).staffing(user_id)
        svc = AppealService(session, harness.app.config.get(AppealPolicy), clock.now())
        await getattr(svc, action)(appeal_id, staffing, *args)
        await session.commit()
    await harness.deliver()


async def _get(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> Appeal:
    async with sessionmaker() as session:
        appeal = await session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def _resolved(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    w: World,
) -> Appeal:
    appeal = await _file(harness, sessionmaker, clock, w.resident.id, w.tree.building)
    await _staff(harness, sessionmaker, clock, WORKER, "accept", appeal.id)
    await _staff(harness, sessionmaker, clock, WORKER, "resolve", appeal.id, "已更换灯泡")
    await harness.deliver()
    assert "已办结" in harness.last_text(w.resident)
    return appeal


# --- filing -------------------------------------------------------------------------------


async def test_file_by_voice_only(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "设施维修")
    await harness.feed(emu.send_voice(r, duration=7, queue=False))
    summary = harness.last_text(r)
    assert "已录语音（7 秒）" in summary and "描述：无" in summary and "位置：无" in summary
    await harness.press(r, "确认提交")
    assert "#000001" in harness.last_text(r)

    [appeal] = await _appeals(sessionmaker)
    assert appeal.text == "" and appeal.latitude is None and appeal.anonymous is False
    assert await _media(sessionmaker, appeal.id) == ["voice"]
    assert "sendVoice" in [x.method for x in emu.sent_to(WORKER)]
    assert "🎤 语音" in harness.last_text(w.worker)
    assert emu.errors == []


async def test_media_group_of_three_photos_is_accepted(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "环境卫生")
    await harness.text(r, "垃圾桶满了")
    await harness.press(r, "📷 加照片")
    for _ in range(3):
        await harness.feed(emu.send_photo(r, media_group_id="album-1", queue=False))
    assert "已收到 3 张" in harness.last_text(r)
    # One photo window, not one per photo.
    assert sum("已收到" in t for t in harness.texts(r)) == 1
    await harness.press(r, "好了")
    assert "照片：3 张" in harness.last_text(r)
    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert await _media(sessionmaker, appeal.id) == ["photo"] * 3
    [group] = [x for x in emu.sent_to(WORKER) if x.method == "sendMediaGroup"]
    assert len(group.params["media"]) == 3
    assert emu.errors == []


async def test_eleventh_photo_is_refused(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "设施维修")
    await harness.text(r, "电梯坏了")
    await harness.press(r, "📷 加照片")
    for _ in range(10):
        await harness.feed(emu.send_photo(r, queue=False))
    assert "已收到 10 张" in harness.last_text(r)
    assert "没有收下" not in harness.last_text(r)
    await harness.feed(emu.send_photo(r, queue=False))
    refused = harness.last_text(r)
    assert "最多 10 张" in refused and "没有收下" in refused and "已收到 10 张" in refused
    await harness.press(r, "好了")
    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert await _media(sessionmaker, appeal.id) == ["photo"] * 10
    assert emu.errors == []


async def test_wrong_inputs_explain_and_keep_the_draft(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "矛盾纠纷")

    await harness.feed(
        emu.send_document(r, b"%PDF-1.4", "notice.pdf", "application/pdf", queue=False)
    )
    shown = harness.last_text(r)
    assert "文字或语音" in shown and "都还在" in shown
    assert "类别：矛盾纠纷" in shown  # still on the description step, category kept

    await harness.text(r, "吵" * 2001)
    shown = harness.last_text(r)
    assert "2001" in shown and "2000" in shown and "类别：矛盾纠纷" in shown
    assert await _appeals(sessionmaker) == []

    # /new in the middle of the form shows it again as it was, and an urgent call
    # opened on top returns to it.
    await harness.command(r, "new")
    assert "类别：矛盾纠纷" in harness.last_text(r)
    await harness.command(r, "sos")
    await harness.press(r, "不呼叫了")
    assert "类别：矛盾纠纷" in harness.last_text(r)

    await harness.text(r, "楼上每晚装修到十二点")
    summary = harness.last_text(r)
    assert "类别：矛盾纠纷" in summary and "楼上每晚装修到十二点" in summary
    # Words that would make the description too long are refused, not cut.
    await harness.text(r, "吵" * 1995)
    assert "太长" in harness.last_text(r) and "楼上每晚装修到十二点" in harness.last_text(r)
    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert appeal.category == "disputes" and appeal.text == "楼上每晚装修到十二点"
    assert emu.errors == []


async def test_text_sent_out_of_turn_is_kept(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.text(r, "小区门口的路灯不亮")  # typed before picking a category
    assert "已把这段话加到描述里" in harness.last_text(r)
    await harness.press(r, "设施维修")
    assert "小区门口的路灯不亮" in harness.last_text(r)  # straight to the summary
    await harness.press(r, "📷 加照片")
    await harness.text(r, "已经三天了")  # words while photos are asked for
    assert "已把这段话加到描述里" in harness.last_text(r)
    await harness.press(r, "好了")
    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert appeal.text == "小区门口的路灯不亮\n已经三天了"


async def test_edit_fields_from_the_summary(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "环境卫生")
    await harness.text(r, "第一版描述")
    await harness.feed(emu.send_photo(r, queue=False))  # a photo on the summary is kept
    await harness.press(r, "不让邻居看到我的名字")
    assert "请核对" in harness.last_text(r)

    await harness.press(r, "改描述")
    await harness.text(r, "第二版描述")
    summary = harness.last_text(r)  # straight back to the summary
    assert "请核对" in summary and "第二版描述" in summary and "第一版" not in summary
    assert "环境卫生" in summary and "照片：1 张" in summary and "邻居看不到" in summary

    await harness.press(r, "改类别")
    await harness.press(r, "物业服务")
    summary = harness.last_text(r)
    assert "物业服务" in summary and "第二版描述" in summary and "照片：1 张" in summary

    await harness.press(r, "📍 加位置")
    assert emu.chat(r.id).reply_keyboard is not None
    await harness.feed(emu.send_location(r, 37.5, 121.4, queue=False))
    assert emu.chat(r.id).reply_keyboard is None
    summary = harness.last_text(r)
    assert "请核对" in summary and "37.50000" in summary

    await harness.press(r, "让邻居看到我的名字")
    assert "邻居能看到您的名字" in harness.last_text(r)

    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert (appeal.category, appeal.text, appeal.anonymous) == ("property", "第二版描述", False)
    assert appeal.latitude == 37.5
    assert await _media(sessionmaker, appeal.id) == ["photo"]
    assert emu.errors == []


async def test_location_can_be_given_up_with_either_button(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    await harness.command(r, "new")
    await harness.press(r, "环境卫生")
    await harness.text(r, "井盖松动")
    await harness.press(r, "📍 加位置")
    await harness.text(r, "不发位置了")  # the reply keyboard's own button
    assert emu.chat(r.id).reply_keyboard is None and "请核对" in harness.last_text(r)
    await harness.press(r, "📍 加位置")
    await harness.press(r, "返回核对")
    assert emu.chat(r.id).reply_keyboard is None and "请核对" in harness.last_text(r)
    await harness.press(r, "确认提交")
    [appeal] = await _appeals(sessionmaker)
    assert appeal.latitude is None
    assert emu.errors == []


async def test_phone_is_shared_only_when_the_resident_chooses(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    r = await _resident(harness, emu, tree)
    r.phone = "+8613800001111"
    # Two matters (the same words again would be asked about first).
    for words in ("咨询一下", "再咨询一件事"):
        await harness.command(r, "new")
        await harness.press(r, "其他")
        await harness.text(r, words)
        if "留下手机号" in " ".join(harness.buttons(r)):
            await harness.press(r, "留下手机号")
            keyboard = emu.chat(r.id).reply_keyboard
            assert keyboard is not None and keyboard[0][0].get("request_contact") is True
            await harness.feed(emu.send_contact(r, queue=False))
            assert emu.chat(r.id).reply_keyboard is None
            assert "+8613800001111" in harness.last_text(r)
        else:
            # The second time the number is known: off until the resident turns it on.
            assert "电话：不留" in harness.last_text(r)
        await harness.press(r, "确认提交")
    first, second = await _appeals(sessionmaker)
    assert first.contact_phone == "+8613800001111" and second.contact_phone is None
    async with sessionmaker() as session:
        user = await session.get(User, r.id)
        assert user is not None and user.phone == "+8613800001111"


async def test_similar_open_appeal_can_be_followed_instead(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    neighbour = await _resident(harness, emu, w.tree, user_id=1102, name="邻居老张")
    first = await _file(
        harness, sessionmaker, clock, neighbour.id, w.tree.building, "楼道<堆满>杂物", "safety"
    )
    # Another building's appeal of the same kind is not offered.
    elsewhere = await _resident(
        harness, emu, w.tree, user_id=1103, name="二号楼", building=w.tree.building2
    )
    await _file(harness, sessionmaker, clock, elsewhere.id, w.tree.building2, "别的楼", "safety")
    r = w.resident

    await harness.command(r, "new")
    await harness.press(r, "安全隐患")
    shown = harness.last_text(r)
    assert "已有邻居反映了类似问题" in shown and "#000001" in shown
    assert "楼道<堆满>杂物" in shown and "#000002" not in shown
    assert "👀 关注 #000001" in harness.buttons(r) and "📝 仍然提交" in harness.buttons(r)
    await harness.press(r, "关注 #000001")
    assert "已关注诉求 #000001" in harness.last_text(r)

    assert len(await _appeals(sessionmaker)) == 2  # nothing new filed
    async with sessionmaker() as session:
        assert await session.get(AppealFollower, (first.id, r.id)) is not None

    await _staff(harness, sessionmaker, clock, WORKER, "accept", first.id)
    await harness.deliver()
    assert "#000001 已由" in harness.last_text(r)  # followers hear about progress
    assert "受理" in harness.last_text(r)

    # "File anyway" goes on to the description.
    await harness.command(r, "new")
    await harness.press(r, "安全隐患")
    await harness.press(r, "仍然提交")
    assert "请用文字描述" in harness.last_text(r)
    assert emu.errors == []


async def test_unbound_resident_is_sent_to_bind_first(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    stranger = emu.add_user(user_id=1105, first_name="新居民")
    await harness.command(stranger, "new")
    assert "保存什么" in harness.last_text(stranger)  # the privacy notice comes first

    r = await _resident(harness, emu, tree, user_id=1106)
    async with sessionmaker() as session:  # e.g. the building was removed from the map
        user = await session.get(User, r.id)
        assert user is not None
        user.building_id = None
        await session.commit()
    for command in ("new", "sos"):
        await harness.command(r, command)
        assert any("请先绑定您住的楼栋" in t for t in harness.texts(r)[-2:])
        assert "请选择您所在的社区" in harness.last_text(r)  # the building picker
    await harness.command(r, "appeals")  # the list needs no building
    assert "我的诉求" in harness.last_text(r)
    assert await _appeals(sessionmaker) == []


# --- urgent call --------------------------------------------------------------------------


async def test_urgent_call_reaches_every_grid_worker_and_the_community(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    tree = w.tree
    worker2 = await _grant(
        harness, emu, sessionmaker, clock, WORKER2, Role.WORKER, tree.grid, "网格员小赵"
    )
    community = await _grant(
        harness, emu, sessionmaker, clock, COMMUNITY, Role.COMMUNITY_STAFF, tree.community, "社区"
    )
    other = await _grant(
        harness, emu, sessionmaker, clock, OTHER_WORKER, Role.WORKER, tree.grid2, "别的网格员"
    )
    r = w.resident

    await harness.command(r, "sos")
    shown = harness.last_text(r)
    assert "一键呼叫" in shown and "1号楼" in shown and "110" in shown
    assert harness.buttons(r)[0] == "🆘 确认呼叫"
    await harness.feed(emu.send_location(r, 37.4, 121.6, queue=False))
    emu.clear_records()
    await harness.press(r, "确认呼叫")
    told = harness.last_text(r)
    # An elderly resident is told how long, not a clock time.
    assert "紧急呼叫已发出" in told and "#000001" in told and "30 分钟内" in told
    assert "2026-11-02 09:30" not in told

    [appeal] = await _appeals(sessionmaker)
    assert appeal.urgent is True and appeal.category == "urgent" and appeal.text == "一键呼叫"

    for person in (w.worker, worker2, community):
        card = harness.last_text(person)
        assert "一键呼叫" in card and "#000001" in card, person.id
        # Everyone it reaches sees at once who called, from where: no accepting first.
        assert "王阿姨" in card and "1号楼" in card and "37.40000" in card
        assert "退回" not in " ".join(harness.buttons(person))
    assert [x for x in emu.sent_to(other.id) if x.method == "sendMessage"] == []
    assert emu.errors == []


async def test_urgent_call_can_be_cancelled_before_calling(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    await harness.command(w.resident, "menu")
    await harness.press(w.resident, "一键呼叫")  # from the main menu
    assert "确认呼叫" in " ".join(harness.buttons(w.resident))
    await harness.press(w.resident, "不呼叫了")
    assert "一键呼叫" in " ".join(harness.buttons(w.resident))  # back in the menu
    assert await _appeals(sessionmaker) == []
    await harness.deliver()
    assert [x for x in emu.sent_to(WORKER) if "一键呼叫" in str(x.params.get("text"))] == []


# --- my appeals ---------------------------------------------------------------------------


async def test_cancel_only_before_acceptance(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    waiting = await _file(harness, sessionmaker, clock, r.id, w.tree.building, "第一件")
    taken = await _file(harness, sessionmaker, clock, r.id, w.tree.building, "第二件")
    await _staff(harness, sessionmaker, clock, WORKER, "accept", taken.id)
    await harness.deliver()

    await harness.command(r, "appeals")
    await harness.press(r, "#000002")
    assert "办理记录" in harness.last_text(r)
    assert not any("撤销" in b for b in harness.buttons(r))  # accepted: no cancel

    await harness.press(r, "返回列表")
    await harness.press(r, "#000001")
    await harness.press(r, "撤销诉求")
    assert "确定要撤销诉求 #000001" in harness.last_text(r)
    await harness.press(r, "不撤销")
    assert (await _get(sessionmaker, waiting.id)).state == State.SUBMITTED
    await harness.press(r, "撤销诉求")
    await harness.press(r, "确定撤销")
    assert "已撤销" in harness.last_text(r)
    assert (await _get(sessionmaker, waiting.id)).state == State.CANCELLED
    assert (await _get(sessionmaker, taken.id)).state == State.ACCEPTED

    emu.clear_records()
    await harness.deliver()
    assert "居民撤销了诉求 #000001" in harness.last_text(w.worker)
    assert emu.errors == []


async def test_cancel_refused_when_accepted_meanwhile(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    appeal = await _file(harness, sessionmaker, clock, r.id, w.tree.building)
    await harness.command(r, "appeals")
    await harness.press(r, "#000001")
    await harness.press(r, "撤销诉求")
    await _staff(harness, sessionmaker, clock, WORKER, "accept", appeal.id)  # meanwhile
    await harness.press(r, "确定撤销")
    assert any("状态已经变了" in text for text in harness.texts(r))
    assert (await _get(sessionmaker, appeal.id)).state == State.ACCEPTED


async def test_add_details_with_text_photo_and_voice(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    appeal = await _file(harness, sessionmaker, clock, r.id, w.tree.building)
    await harness.deliver()
    await harness.command(r, "appeals")
    await harness.press(r, "#000001")
    await harness.press(r, "补充信息")
    assert "发送补充" not in " ".join(harness.buttons(r))  # nothing to send yet
    await harness.text(r, "晚上<九点>以后最明显")
    await harness.feed(emu.send_photo(r, queue=False))
    await harness.feed(emu.send_voice(r, queue=False))
    await harness.feed(emu.send_document(r, b"x", "a.txt", "text/plain", queue=False))
    assert "文字、语音或照片" in harness.last_text(r)
    await harness.press(r, "发送补充")
    assert "补充信息已发给网格员" in harness.last_text(r)
    assert "补充了信息" in harness.last_text(r)  # the timeline shows it

    async with sessionmaker() as session:
        event = (
            await session.execute(
                select(AppealEvent).where(
                    AppealEvent.appeal_id == appeal.id, AppealEvent.kind == "details"
                )
            )
        ).scalar_one()
        assert event.note == "晚上<九点>以后最明显"
        kinds = (
            (
                await session.execute(
                    select(AppealMedia.kind).where(AppealMedia.event_id == event.id)
                )
            )
            .scalars()
            .all()
        )
        assert sorted(kinds) == ["photo", "voice"]

    methods = [x.method for x in emu.sent_to(WORKER)]
    assert "sendPhoto" in methods and "sendVoice" in methods
    assert "晚上<九点>以后最明显" in harness.last_text(w.worker)
    assert emu.errors == []


async def test_status_message_opens_the_timeline_only_for_its_resident(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    appeal = await _file(harness, sessionmaker, clock, r.id, w.tree.building)
    await _staff(harness, sessionmaker, clock, WORKER, "accept", appeal.id)
    await harness.deliver()
    await harness.press(r, "查看办理记录")
    shown = harness.last_text(r)
    assert "#000001" in shown and "办理记录" in shown and "已受理" in shown

    # Not the stranger's appeal: refused, nothing opens.
    stranger = await _resident(harness, emu, w.tree, user_id=1109, name="路人")
    data = AppealOpen(appeal_id=appeal.id).pack()
    await harness.press_data(stranger, 1, data, forged=True)
    answers = emu.chat(stranger.id).callback_answers
    assert answers and "不归您处理" in answers[-1].get("text", "")
    assert "办理记录" not in harness.last_text(stranger)

    # A follower gets the same button and may open it, without the owner's buttons.
    async with sessionmaker() as session:
        await AppealService(session, harness.app.config.get(AppealPolicy), clock.now()).follow(
            appeal.id, stranger.id
        )
        await session.commit()
    await _staff(harness, sessionmaker, clock, WORKER, "progress", appeal.id, "已联系电工")
    await harness.deliver()
    assert "有新进展" in harness.last_text(stranger)
    await harness.press(stranger, "查看办理记录")
    shown = harness.last_text(stranger)
    assert "办理记录" in shown and "您关注了这条诉求" in shown
    assert not any("撤销" in b or "补充" in b for b in harness.buttons(stranger))
    assert emu.errors == []


async def test_appeals_list_is_paged(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    for i in range(12):
        await _file(harness, sessionmaker, clock, r.id, w.tree.building, f"第{i + 1}件")
    await harness.command(r, "appeals")
    assert "共 12 条" in harness.last_text(r) and "第 1/3 页" in harness.last_text(r)

    def numbers() -> list[str]:
        return [b.split(" ")[0] for b in harness.buttons(r) if b.startswith("#")]

    assert numbers() == ["#000012", "#000011", "#000010", "#000009", "#000008"]
    assert "上一页" not in " ".join(harness.buttons(r))
    await harness.press(r, "下一页")
    assert numbers() == ["#000007", "#000006", "#000005", "#000004", "#000003"]
    await harness.press(r, "下一页")
    assert numbers() == ["#000002", "#000001"]
    assert "第 3/3 页" in harness.last_text(r)
    assert "下一页" not in " ".join(harness.buttons(r))
    await harness.press(r, "上一页")
    assert numbers()[0] == "#000007"
    await harness.press(r, "#000005")
    assert "第5件" in harness.last_text(r)
    await harness.press(r, "返回列表")
    assert numbers()[0] == "#000007"  # the page is kept
    assert emu.errors == []


# --- rating -------------------------------------------------------------------------------


async def test_rating_satisfied_closes_and_takes_a_comment(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    r = w.resident
    appeal = await _resolved(harness, emu, sessionmaker, clock, w)
    resolved_message = harness.last(r)
    await harness.press(r, "😊 满意")

    done = await _get(sessionmaker, appeal.id)
    assert done.state == State.CLOSED and done.rating == "satisfied"
    edited = emu.chat(r.id).find(resolved_message.message_id)
    assert edited is not None and "您的评价：😊 满意" in (edited.text or "")
    assert edited.inline_buttons() == []  # no second rating
    assert "想补充几句" in harness.last_text(r)
    await harness.text(r, "小李很负责，谢谢！")
    assert "留言已记下" in harness.last_text(r)
    assert (await _get(sessionmaker, appeal.id)).rating_comment == "小李很负责，谢谢！"

    # The same button again (a stale copy): a friendly alert, nothing changes.
    data = RateAction(appeal_id=appeal.id, rating="unsatisfied").pack()
    await harness.press_data(r, resolved_message.message_id, data, forged=True)
    assert "已经评价过了" in emu.chat(r.id).callback_answers[-1].get("text", "")
    assert (await _get(sessionmaker, appeal.id)).state == State.CLOSED

    await harness.deliver()
    assert "😊 满意" in harness.last_text(w.worker)
    assert emu.errors == []


async def test_rating_unsatisfied_reopens_one_level_up(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    community = await _grant(
        harness, emu, sessionmaker, clock, COMMUNITY, Role.COMMUNITY_STAFF, w.tree.community, "社区"
    )
    r = w.resident
    appeal = await _resolved(harness, emu, sessionmaker, clock, w)
    await harness.press(r, "☹️ 不满意")

    reopened = await _get(sessionmaker, appeal.id)
    assert reopened.state == State.REOPENED and reopened.level == Level.COMMUNITY
    assert reopened.owner_id == WORKER
    assert any("重新交给办理人" in t and "通海社区" in t for t in harness.texts(r))
    assert "哪里不满意" in harness.last_text(r)  # asked for the reason
    # The owner's card waits for the reason, so that it arrives with it.
    assert "不满意" not in harness.last_text(w.worker)
    await harness.text(r, "灯还是一闪一闪的")
    assert "留言已记下" in harness.last_text(r)

    card = harness.last_text(w.worker)
    assert "居民不满意" in card and "灯还是一闪一闪的" in card
    assert "灯还是一闪一闪的" in harness.last_text(community)

    # Resolved a second time, the resident can rate again; that closes it.
    await _staff(harness, sessionmaker, clock, WORKER, "resolve", appeal.id, "重新换了线路")
    await harness.deliver()
    assert "重新换了线路" in harness.last_text(r)
    await harness.press(r, "🙂 基本满意")
    await harness.press(r, "跳过")
    final = await _get(sessionmaker, appeal.id)
    assert final.state == State.CLOSED and final.rating == "basically"
    assert emu.errors == []


async def test_only_the_appeals_resident_may_rate(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    w = await _world(harness, emu, sessionmaker, clock)
    follower = await _resident(harness, emu, w.tree, user_id=1107, name="关注者")
    appeal = await _file(harness, sessionmaker, clock, w.resident.id, w.tree.building)
    async with sessionmaker() as session:
        await AppealService(session, harness.app.config.get(AppealPolicy), clock.now()).follow(
            appeal.id, follower.id
        )
        await session.commit()
    await _staff(harness, sessionmaker, clock, WORKER, "accept", appeal.id)
    await _staff(harness, sessionmaker, clock, WORKER, "resolve", appeal.id, "已处理")
    await harness.deliver()

    # The follower was told too, with the same buttons; pressing them changes nothing.
    assert "已办结" in harness.last_text(follower)
    await harness.press(follower, "😊 满意")
    assert "只有提交这条诉求的居民才能评价" in emu.chat(follower.id).callback_answers[-1]["text"]
    stranger = await _resident(harness, emu, w.tree, user_id=1108, name="路人")
    data = RateAction(appeal_id=appeal.id, rating="unsatisfied").pack()
    await harness.press_data(stranger, 1, data, forged=True)
    assert emu.chat(stranger.id).callback_answers[-1].get("show_alert") is True

    unchanged = await _get(sessionmaker, appeal.id)
    assert unchanged.state == State.RESOLVED and unchanged.rating is None
    assert emu.errors == []


# --- English ------------------------------------------------------------------------------


async def test_english_resident_files_in_english(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree = await build_tree(sessionmaker, clock)
    r = await _resident(harness, emu, tree, user_id=1110, name="Tom", language="en")
    await harness.command(r, "new")
    assert "What <b>kind of problem</b>" in (harness.last(r).html or "")
    assert "Sanitation" in harness.buttons(r)
    await harness.press(r, "Sanitation")
    assert "voice message" in harness.last_text(r)
    await harness.feed(emu.send_document(r, b"x", "a.txt", "text/plain", queue=False))
    assert "words or a voice message" in harness.last_text(r)
    await harness.text(r, "Rubbish left in the stairwell")
    summary = harness.last_text(r)
    assert "Please check your appeal" in summary and "Rubbish left" in summary
    await harness.press(r, "✅ Send")
    done = harness.last_text(r)
    assert "Appeal #000001 filed" in done and "accepted by 2026-11-03 09:00" in done
    assert not any("诉求" in t for t in harness.texts(r)[-6:])

    await harness.command(r, "appeals")
    # One word for one thing: the menu's "My appeals" is the list's "My appeals".
    assert "My appeals" in harness.last_text(r)
    assert not any("report" in t.lower() for t in harness.texts(r))
    await harness.command(r, "sos")
    assert "Call for help" in " ".join(harness.buttons(r))
    assert emu.errors == []
