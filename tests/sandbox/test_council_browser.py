"""民情议事会 on the sandbox page, in real headless Chromium (as tests/sandbox/test_browser.py):
the demo seeds 正阳社区's council a few days ahead, with three topics (one on the agenda,
+1'd twice). The clock is moved with the page's hours field to each
reminder in turn, and the residents' panes receive the call for topics (with 提议题),
the agenda listing the accepted topic, and the venue (the map pin, then time and place).
A resident answers 参加 under the call for topics and her copy marks it. Then the
community staff opens a vote from 🛠 议事会管理, the residents vote 同意 / 反对 in their
panes, he closes it from 📊 表决情况 (asked first), and the result reaches the residents'
panes, their ballot cards turned into it with nothing left to press.

Once the meeting has begun, 冯伟 records a decision on the accepted topic and names
张桂兰 to carry it out with the chat's user picker (the page's contact chooser); she
gets it, reports 50% and marks it done, and the neighbours who voted hear 你说我办.

The default panes (通海社区) are switched to 正阳社区's people: 张桂兰 (who proposed the
accepted topic), 曲卫东 and 于美华 (partners, residents all the same), and the community
staff 冯伟. The final page is saved as artifacts/sandbox-council.png."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select

from bot.formatting import local_time
from sandbox import Sandbox
from storage.council import Meeting, Reminder, ReminderKind
from storage.demo import DEMO_COUNCIL_PIN, DEMO_COUNCIL_PLACE, DEMO_PERSONAS, DEMO_TOPICS
from storage.hierarchy import HierarchyRepo
from tests.sandbox.browsing import ARTIFACTS, pane, press

RESIDENT = 9_000_003  # 张桂兰, 正阳社区 第一网格 2号楼: proposed the topic on the agenda
FIXER = 9_000_019  # 曲卫东, 正阳社区 第一网格 3号楼: +1'd it
BARBER = 9_000_020  # 于美华, 正阳社区 第二网格 5号楼: +1'd it
COMMUNITY_STAFF = 9_000_012  # 冯伟, 正阳社区
COMMUNITY = "MP-NH-ZY"  # 正阳社区
HEADER = "🏛 正阳社区民情议事会"
CALL, AGENDA, VENUE = (f"{HEADER} · {kind}" for kind in ("征集议题", "议程", "即将开始"))
QUESTION = "是否同意由物业本月内修好2号楼和3号楼之间的路灯？"
DECISION = "请物业一周内修好2号楼和3号楼之间的路灯"
CARD = "请点下方按钮投票"  # only the ballot card says so
RESULT = "🗳 正阳社区民情议事会 · 表决结果"
# Everyone living in 正阳社区 (staff and partners too) may vote.
ELIGIBLE = sum(1 for p in DEMO_PERSONAS if (p.building_code or "").startswith(COMMUNITY + "-"))


@dataclass(frozen=True)
class Seeded:
    starts_at: datetime
    due: dict[str, datetime]  # reminder kind → when it falls due


async def type_in(chat: Locator, text: str) -> None:
    await chat.locator(".composer-input").fill(text)
    await chat.locator(".composer-input").press("Enter")
    await expect(chat.locator(".msg.out", has_text=text).last).to_be_visible()


async def test_reminders_rsvp_and_a_vote_reach_the_residents_panes(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await browser.new_page(viewport={"width": 1600, "height": 900})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        try:
            await _play(page, sandbox)
            assert page_errors == []
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(
                path=str(ARTIFACTS / "sandbox-council.png"), animations="disabled"
            )
            await page.close()


async def _seeded(sandbox: Sandbox) -> Seeded:
    """The demo's meeting in 正阳社区: a few days ahead, no reminder sent yet."""
    app = sandbox.app
    async with app.sessionmaker() as session:
        community = await HierarchyRepo(session).by_code(COMMUNITY)
        assert community is not None
        meeting = await session.scalar(select(Meeting).where(Meeting.community_id == community.id))
        assert meeting is not None
        reminders = (
            (await session.execute(select(Reminder).where(Reminder.meeting_id == meeting.id)))
            .scalars()
            .all()
        )
        assert all(r.fired_at is None for r in reminders)
        seeded = Seeded(meeting.starts_at, {r.kind: r.due_at for r in reminders})
    ahead = seeded.starts_at - sandbox.clock.now()
    assert timedelta(days=3) < ahead < timedelta(days=8), ahead
    assert set(seeded.due) == {k.value for k in ReminderKind}
    return seeded


async def _switch(page: Page, index: int, user_id: int) -> Locator:
    """Pick another persona in the pane's picker, as a user would."""
    await page.locator(".pane").nth(index).locator(".persona").select_option(str(user_id))
    await expect(page.locator(".pane").nth(index)).to_have_attribute("data-user", str(user_id))
    return pane(page, user_id)


async def _advance_past(page: Page, sandbox: Sandbox, moment: datetime) -> None:
    """The page's hours field (steps of 0.1 h), to just past ``moment``; the sandbox
    answers once the due work has run."""
    tenths = max(1, math.ceil((moment - sandbox.clock.now()) / timedelta(minutes=6)))
    await page.locator("#clock-hours").fill(f"{tenths / 10:.1f}")
    async with page.expect_response(lambda r: r.url.endswith("/api/clock/advance")) as answer:
        await page.locator("#clock-custom button[type=submit]").click()
    assert (await answer.value).ok
    assert sandbox.clock.now() >= moment


async def _play(page: Page, sandbox: Sandbox) -> None:
    seeded = await _seeded(sandbox)
    zone = sandbox.app.settings.zone
    when = local_time(seeded.starts_at, zone)
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    await expect(page.locator(".pane")).to_have_count(3)
    resident = await _switch(page, 0, RESIDENT)
    fixer = await _switch(page, 1, FIXER)
    staff = await _switch(page, 2, COMMUNITY_STAFF)
    await page.locator("#add-pane").click()
    barber = await _switch(page, 3, BARBER)
    residents = (resident, fixer, barber)
    await expect(staff.locator(".sub")).to_contain_text("社区工作者")
    # Nothing of the council went out by itself: every reminder lies ahead.
    for chat in (*residents, staff):
        await expect(chat.locator(".msg.in", has_text=HEADER)).to_have_count(0)

    # --- the call for topics -------------------------------------------------------------
    await _advance_past(page, sandbox, seeded.due[ReminderKind.TOPICS])
    for chat in (*residents, staff):
        call = chat.locator(".msg.in", has_text=CALL)
        await expect(call).to_have_count(1)
        await expect(call).to_contain_text(f"本月议事会：{when}，地点：{DEMO_COUNCIL_PLACE}。")
        await expect(call.locator(".text b", has_text=CALL)).to_be_visible()  # the title
        await expect(call.locator(".ikb")).to_have_text(["参加", "不参加", "待定", "💡 提议题"])
    # 冯伟 put 张桂兰's topic on the agenda before the demo began: no news of it now.
    await expect(resident.locator(".msg.in", has_text="您提的议题")).to_have_count(0)

    # --- 张桂兰 answers 参加 under it: her copy marks the answer -------------------------
    call = resident.locator(".msg.in", has_text=CALL)
    await call.locator(".ikb", has_text=re.compile("^参加$")).click()
    await expect(resident.locator(".toast")).to_contain_text("已登记：参加")
    await expect(call.locator(".ikb")).to_have_text(["☑️ 参加", "不参加", "待定", "💡 提议题"])
    await expect(call.locator(".edited")).to_be_visible()
    # Only the pressed message changed: the neighbours' copies are as they were.
    await expect(fixer.locator(".msg.in", has_text=CALL).locator(".ikb").first).to_have_text("参加")

    # --- the agenda, a day before --------------------------------------------------------
    await _advance_past(page, sandbox, seeded.due[ReminderKind.AGENDA])
    line = f"1. {DEMO_TOPICS[0].text}（+{len(DEMO_TOPICS[0].supporters)}）"
    for chat in (*residents, staff):
        agenda = chat.locator(".msg.in", has_text=AGENDA)
        await expect(agenda).to_have_count(1)
        await expect(agenda).to_contain_text(f"时间：{when}")
        await expect(agenda).to_contain_text(line)
        # Topics staff did not accept are not on it.
        await expect(agenda).not_to_contain_text(DEMO_TOPICS[1].text)
        await expect(agenda.locator(".ikb")).to_have_text(["参加", "不参加", "待定"])

    # --- the venue, two hours before: the map pin, then time and place ----------------------
    await _advance_past(page, sandbox, seeded.due[ReminderKind.VENUE])
    latitude, longitude = DEMO_COUNCIL_PIN
    for chat in (*residents, staff):
        venue = chat.locator(".msg.in", has_text=VENUE)
        await expect(venue).to_have_count(1)
        await expect(venue).to_contain_text(f"地点：{DEMO_COUNCIL_PLACE}（见上方地图）")
        pin = chat.locator(".msg.in .location")
        await expect(pin).to_have_count(1)
        await expect(pin).to_contain_text(f"{latitude:.5f}, {longitude:.5f}")
    # Each reminder once: nothing went twice on the way.
    for chat in residents:
        await expect(chat.locator(".msg.in", has_text=CALL)).to_have_count(1)
        await expect(chat.locator(".msg.in", has_text=AGENDA)).to_have_count(1)

    # --- 冯伟 opens a vote -------------------------------------------------------------------
    await type_in(staff, "/council")
    await press(staff, "🛠 议事会管理")
    host = staff.locator(".msg.in", has_text="待审核议题").last
    await expect(host).to_contain_text("回复：参加 1 · 不参加 0 · 待定 0")
    await expect(host).to_contain_text(f"待审核议题 {len(DEMO_TOPICS) - 1} 个")
    await expect(host).to_contain_text(line)
    await press(staff, "🗳 发起表决")
    await expect(staff.locator(".msg.in", has_text="请发送要表决的问题").last).to_be_visible()
    await type_in(staff, QUESTION)
    await expect(staff.locator(".msg.in", has_text="选项用默认的").last).to_be_visible()
    await press(staff, "👍 用默认选项")
    confirm = staff.locator(".msg.in", has_text="确认表决").last
    await expect(confirm).to_contain_text(QUESTION)
    await expect(confirm).to_contain_text("同意 / 反对 / 弃权")
    await press(staff, "▶️ 发起表决")
    await expect(staff.locator(".msg.in", has_text="表决已发起").last).to_be_visible()

    # --- the residents vote in their panes ---------------------------------------------------
    for chat, choice in ((resident, "同意"), (fixer, "同意"), (barber, "反对")):
        card = chat.locator(".msg.in", has_text=CARD)
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text(QUESTION)
        await expect(card).to_contain_text("结果在表决结束后公布")
        await expect(card.locator(".ikb")).to_have_text(["同意", "反对", "弃权"])
        await card.locator(".ikb", has_text=choice).click()
        await expect(chat.locator(".toast")).to_contain_text(f"已投：{choice}")
        marked = ["☑️ " + o if o == choice else o for o in ("同意", "反对", "弃权")]
        await expect(card.locator(".ikb")).to_have_text(marked)

    # --- 冯伟 closes it from 📊 表决情况 ------------------------------------------------------
    await type_in(staff, "/council")
    await press(staff, "🛠 议事会管理")
    await press(staff, "📊 表决情况")
    await press(staff, "🗳 是否同意")
    tally = staff.locator(".msg.in", has_text="线上").last
    await expect(tally).to_contain_text(QUESTION)
    await expect(tally).to_contain_text("票数在表决结束后公布")
    await expect(tally).to_contain_text(f"线上 3 票 · 纸质 0 票 · 可投票 {ELIGIBLE} 人")
    await press(staff, "⏹ 结束表决并公布结果")
    # Asked first: closing cannot be undone.
    await expect(staff.locator(".msg.in", has_text="结束这项表决吗").last).to_be_visible()
    await press(staff, "⏹ 确认结束并公布")
    # The result goes out in his name: to everyone it reaches but him (he has it here).
    closed = staff.locator(".msg.in", has_text="表决已结束").last
    await expect(closed).to_contain_text(f"结果正在发给 {ELIGIBLE - 1} 人")
    await expect(closed).to_contain_text("同意：2 票（67%）")

    # --- the result reaches the residents' panes ------------------------------------------
    for chat in residents:
        result = chat.locator(".msg.in", has_text=RESULT)
        await expect(result).to_have_count(1)
        await expect(result.locator(".text b", has_text=RESULT)).to_be_visible()
        for figure in (
            QUESTION,
            "同意：2 票（67%）",
            "反对：1 票（33%）",
            "弃权：0 票（0%）",
            f"共 3 票（线上 3，纸质 0），可投票 {ELIGIBLE} 人",
        ):
            await expect(result).to_contain_text(figure)
    # Every ballot card now shows what the vote came to, with nothing left to press.
    for chat, choice in ((resident, "同意"), (fixer, "同意"), (barber, "反对")):
        card = chat.locator(".msg.in", has_text="表决已结束")
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text(QUESTION)
        await expect(card).to_contain_text("同意：2 票（67%）")
        await expect(card).to_contain_text(f"您投的是：{choice}")
        await expect(card.locator(".ikb")).to_have_count(0)
        await expect(chat.locator(".msg.in", has_text=CARD)).to_have_count(0)
    await expect(page.locator("#error-count")).to_have_text("0")

    # --- the meeting held: 冯伟 records a decision, 张桂兰 is picked to carry it out -------
    await _advance_past(page, sandbox, seeded.starts_at)
    await type_in(staff, "/council")
    await press(staff, "🛠 议事会管理")
    await press(staff, "📌 决议与自治小组")
    await press(staff, "➕ 记录决议")
    await type_in(staff, DECISION)
    await press(staff, DEMO_TOPICS[0].text[:10])
    await press(staff, "👤 指定一位居民")
    await staff.locator(".rkb", has_text="👤 选择居民").click()
    chooser = page.locator("#pick-users")
    await expect(chooser).to_be_visible()
    # His contacts are the sandbox's people, himself excepted; one may be chosen.
    await expect(chooser.locator(f"label[data-user='{COMMUNITY_STAFF}']")).to_have_count(0)
    await chooser.locator(f"label[data-user='{RESIDENT}']").click()
    await chooser.locator("button[type=submit]").click()
    await expect(chooser).to_be_hidden()
    # His chat shows whom he shared, as Telegram's does.
    await expect(staff.locator(".msg.out .contact").last).to_contain_text("张桂兰")
    await expect(staff.locator(".msg.in", has_text="由 张桂兰 负责落实")).to_have_count(1)
    due_day = (seeded.starts_at.astimezone(zone) + timedelta(days=7)).date().isoformat()
    await type_in(staff, due_day)
    recorded = staff.locator(".msg.in", has_text="决议已记录").last
    await expect(recorded).to_contain_text("负责：张桂兰")
    await expect(recorded).to_contain_text(f"截止：{due_day} 23:59")
    await expect(resident.locator(".msg.in", has_text="交给您落实")).to_have_count(1)

    # --- 张桂兰 reports progress, then marks it done ----------------------------------------
    await type_in(resident, "/council")
    await press(resident, "🏘 自治小组任务")
    await press(resident, DECISION[:8])
    await press(resident, "📝 汇报进展")
    await press(resident, "50%")
    await type_in(resident, "物业已经换了灯泡，还差线路")
    await expect(resident.locator(".msg.in", has_text="进展已记录").last).to_contain_text(
        "进展 50%：物业已经换了灯泡，还差线路"
    )
    await press(resident, "✅ 已完成")
    await expect(resident.locator(".msg.in", has_text="已标记完成").last).to_be_visible()
    # Those who voted hear what came of it: 你说我办.
    for chat in (fixer, barber):
        done = chat.locator(".msg.in", has_text="你说我办")
        await expect(done).to_have_count(1)
        await expect(done).to_contain_text(DECISION)
    await expect(page.locator("#error-count")).to_have_text("0")
