"""幸福合伙人 on the sandbox page, in real headless Chromium (as tests/sandbox/test_browser.py):
a resident orders a repair in her pane (/order → 🔧 维修 → a sentence → 下一步 → 明天上午 →
提交); the seeded partner of that skill gets the offer card without her data, presses
接单 and gets her address and phone; 已上门, 已完成; she confirms 😊 满意 and agrees to
晒单; his pane shows the points, and /partner shows them too. The partner of other skills
is never offered it, and the community staff's /partners counts the seeded partners, the
waiting application and the month's points.

The demo's partners live in 正阳社区 (通海社区's households are counted by the notice
test), so the resident who orders is 张桂兰, 正阳社区 第一网格; the page's default panes
are switched to the 正阳社区 people with their persona pickers, and one pane is added for
the other partner. The final page is saved as artifacts/sandbox-partners.png."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from sandbox import Sandbox
from tests.sandbox.browsing import ARTIFACTS, pane, press

RESIDENT = 9_000_003  # 张桂兰, 正阳社区 第一网格 2号楼, +8613800000003
COMMUNITY_STAFF = 9_000_012  # 冯伟, 正阳社区
FIXER = 9_000_019  # 曲卫东, partner: 🔧 维修 and 🔌 小家电维修, 正阳社区 第一网格 3号楼
BARBER = 9_000_020  # 于美华, partner: 💇 理发 and 🧓 助老
APPLICANT = "姜海燕"  # her application waits for 冯伟
NEED = "厨房水龙头漏水，关不紧"
OFFER = "新服务订单 F00001"


async def type_in(chat: Locator, text: str) -> None:
    await chat.locator(".composer-input").fill(text)
    await chat.locator(".composer-input").press("Enter")
    await expect(chat.locator(".msg.out", has_text=text).last).to_be_visible()


async def test_a_resident_orders_a_repair_and_a_seeded_partner_takes_it_and_earns_points(
    browser: Browser,
) -> None:
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
                path=str(ARTIFACTS / "sandbox-partners.png"), animations="disabled"
            )
            await page.close()


async def _switch(page: Page, index: int, user_id: int) -> Locator:
    """Pick another persona in the pane's picker, as a user would."""
    await page.locator(".pane").nth(index).locator(".persona").select_option(str(user_id))
    await expect(page.locator(".pane").nth(index)).to_have_attribute("data-user", str(user_id))
    return pane(page, user_id)


async def _play(page: Page, sandbox: Sandbox) -> None:
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    await expect(page.locator(".pane")).to_have_count(3)

    # The default panes (通海社区) become 正阳社区's resident, partner and staff; one more
    # pane for the partner of other skills.
    resident = await _switch(page, 0, RESIDENT)
    fixer = await _switch(page, 1, FIXER)
    staff = await _switch(page, 2, COMMUNITY_STAFF)
    await page.locator("#add-pane").click()
    barber = await _switch(page, 3, BARBER)
    # A partner is a resident: the picker shows where they live.
    await expect(fixer.locator(".sub")).to_contain_text("居民 · 正阳社区 · 第一网格 · 3号楼")
    await expect(barber.locator(".sub")).to_contain_text("居民 · 正阳社区")
    await expect(staff.locator(".sub")).to_contain_text("社区工作者")

    # --- 张桂兰 orders a repair ----------------------------------------------------------
    await type_in(resident, "/order")
    await expect(resident.locator(".msg.in", has_text="需要什么帮助").last).to_be_visible()
    await press(resident, "🔧 维修")
    await expect(resident.locator(".msg.in", has_text="请说说具体情况").last).to_be_visible()
    await type_in(resident, NEED)
    await expect(resident.locator(".msg.in", has_text=NEED).last).to_be_visible()
    await press(resident, "下一步 ›")
    await expect(resident.locator(".msg.in", has_text="希望什么时候上门").last).to_be_visible()
    await press(resident, "明天上午")
    # Her phone is known (the demo has it): straight to the summary.
    summary = resident.locator(".msg.in", has_text="请核对订单").last
    await expect(summary).to_contain_text("🔧 维修")
    await expect(summary).to_contain_text(NEED)
    await expect(summary).to_contain_text("+8613800000003")
    await press(resident, "✅ 提交订单")
    await expect(resident.locator(".msg.in", has_text="订单 F00001 已提交").last).to_be_visible()

    # --- the partner of that skill gets the offer, without her data ------------------------
    offer = fixer.locator(".msg.in", has_text=OFFER)
    await expect(offer).to_have_count(1)
    await expect(offer).to_contain_text(NEED)
    await expect(offer).to_contain_text("地点：正阳社区 第一网格")  # her grid, no more
    for secret in ("张桂兰", "+8613800000003", "2号楼"):
        await expect(offer).not_to_contain_text(secret)
    await expect(offer.locator(".ikb")).to_have_text("✋ 接单")
    await offer.locator(".ikb", has_text="✋ 接单").click()
    await expect(fixer.locator(".toast")).to_contain_text("接单成功")
    taken = fixer.locator(".msg.in", has_text="订单 F00001 由您负责").last
    await expect(taken).to_contain_text("2号楼")
    await expect(taken).to_contain_text("张桂兰")
    await expect(taken).to_contain_text("+8613800000003")
    await expect(taken.locator(".ikb", has_text="🚪 已上门")).to_be_visible()
    await expect(taken.locator(".ikb", has_text="✅ 已完成")).to_be_visible()
    await expect(fixer.locator(".ikb", has_text="✋ 接单")).to_have_count(0)
    news = resident.locator(".msg.in", has_text="幸福合伙人 曲卫东 接单")
    await expect(news).to_have_count(1)
    await expect(news).to_contain_text("F00001")

    # --- visit, done ----------------------------------------------------------------------
    await press(fixer, "🚪 已上门")
    await expect(fixer.locator(".toast")).to_contain_text("已记录上门")
    await expect(resident.locator(".msg.in", has_text="已上门服务").last).to_be_visible()
    await press(fixer, "✅ 已完成")
    await expect(fixer.locator(".toast")).to_contain_text("等居民确认")

    # --- 张桂兰 confirms and agrees to 晒单 -----------------------------------------------
    ask = resident.locator(".msg.in", has_text="请确认并评价").last
    await expect(ask).to_contain_text("曲卫东")
    for label in ("😊 满意", "🙂 基本满意", "🙁 不满意"):
        await expect(ask.locator(".ikb", has_text=label)).to_be_visible()
    await ask.locator(".ikb", has_text="😊 满意").click()
    await expect(resident.locator(".toast")).to_contain_text("谢谢您的评价")
    show = resident.locator(".ikb", has_text="🌟 同意晒单（不含您的信息）")
    await expect(show).to_have_count(1)
    await expect(resident.locator(".ikb", has_text="不用了")).to_have_count(1)
    await show.click()
    await expect(resident.locator(".toast")).to_contain_text("已加入社区晒单")
    await expect(resident.locator(".ikb", has_text="同意晒单")).to_have_count(0)

    # --- the partner's points ---------------------------------------------------------------
    credited = fixer.locator(".msg.in", has_text="订单 F00001 已由居民确认")
    await expect(credited).to_have_count(1)
    await expect(credited.locator(".text")).to_have_text(
        "🎉 订单 F00001 已由居民确认（😊 满意），获得 3 积分，现在共 3 分。"
    )
    await type_in(fixer, "/partner")
    home = fixer.locator(".msg.in", has_text="您是幸福合伙人").last
    await expect(home).to_contain_text("积分：3 分")
    await expect(home).to_contain_text("已完成 1 单")

    # The other partner repairs nothing: she was never offered it.
    await expect(barber.locator(".msg.in", has_text="新服务订单")).to_have_count(0)

    # --- 冯伟's /partners: the seeded partners, the waiting application, the points -------
    await type_in(staff, "/partners")
    admin = staff.locator(".msg.in", has_text="合伙人管理").last
    await expect(admin).to_contain_text("待审核报名 1 份 · 合伙人 2 人")
    await expect(admin).to_contain_text("曲卫东 3 分 · 1 单")
    await press(staff, "🙋 审核报名（1）")
    await expect(staff.locator(".ikb", has_text=APPLICANT).last).to_be_visible()
    await expect(page.locator("#error-count")).to_have_text("0")
