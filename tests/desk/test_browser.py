"""The desk in real headless Chromium beside the sandbox's chat panes, on the same data
and clock: a staff member signs in by the /web link from her chat; the queue changes
without a reload when a resident files in the chat, when a filter is chosen (the
page's stream follows it) and when the clock passes a deadline; she takes and assigns
appeals from the page and the pushes arrive in the chat; the pane's own desk button
opens the desk as its persona; and the Mini App path with valid, stale and forged data.
The pages are saved in artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from playwright.async_api import Browser, BrowserContext, Page, expect

from sandbox import Sandbox
from sandbox.core import TOKEN
from tests.desk.client import init_data
from tests.sandbox.browsing import ARTIFACTS, pane, press

RESIDENT = 9_000_001  # 王秀英, 通海社区 第一网格 1号楼
WORKER = 9_000_007  # 赵丽娟, that grid's worker
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区


async def _file_in_chat(resident_pane, text: str) -> None:  # type: ignore[no-untyped-def]
    await press(resident_pane, "📝 提交诉求")
    await press(resident_pane, "环境卫生")
    await resident_pane.locator(".composer-input").fill(text)
    await resident_pane.locator(".composer-input").press("Enter")
    await press(resident_pane, "✅ 确认提交")
    await expect(resident_pane.locator(".msg.in", has_text="已提交").last).to_be_visible()


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True, animations="disabled")


async def test_the_desk_beside_the_chat(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        context = await browser.new_context(viewport={"width": 1480, "height": 900})
        errors: list[str] = []
        context.on("weberror", lambda error: errors.append(str(error.error)))
        # A desk page breaking its own CSP (an inline script or style) logs an error.
        context.on(
            "console",
            lambda message: (
                errors.append(f"{message.page.url if message.page else ''}: {message.text}")
                if message.type == "error" and "/desk" in (message.page.url if message.page else "")
                else None
            ),
        )
        chats = await context.new_page()
        await chats.goto(sandbox.url)
        await expect(chats.locator("body")).to_have_attribute("data-live", "1")
        resident, worker, staff = (pane(chats, u) for u in (RESIDENT, WORKER, COMMUNITY_STAFF))
        for chat in (resident, worker, staff):
            await chat.locator(".start-btn").click()
            await expect(chat.locator(".msg.in").first).to_be_visible()

        # --- /web in her chat, the link opened: she is at the desk ----------------------
        await staff.locator(".composer-input").fill("/web")
        await staff.locator(".composer-input").press("Enter")
        link = staff.locator("a.ikb.link", has_text="打开指挥台").last
        await expect(link).to_be_visible()
        async with context.expect_page() as opened:
            await link.click()
        desk = await opened.value
        await expect(desk.locator("h1")).to_have_text("诉求队列")
        await expect(desk.locator(".person")).to_have_text("郑红梅")
        await expect(desk.locator("#live-status")).to_have_attribute("data-live", "1")
        await desk.evaluate("window.__notReloaded = true")
        before = await desk.locator("tr.appeal").count()

        # --- a resident files in the chat: the row appears without a reload --------------
        await _file_in_chat(resident, "3号楼楼道灯坏了一个星期")
        await expect(desk.locator("tr.appeal")).to_have_count(before + 1)
        row = desk.locator("tr.appeal", has_text="环境卫生").filter(has_text="待受理").last
        await expect(row).to_be_visible()
        await expect(row).not_to_have_class("appeal overdue")

        # --- a filter: the page again, its stream following what it shows -------------
        await desk.locator('select[name="category"]').select_option(label="环境卫生")
        await expect(desk).to_have_url(re.compile(r"category=sanitation"))
        await expect(desk.locator("main")).to_have_attribute(
            "sse-connect", re.compile(r"/desk/live\?view=queue&category=sanitation$")
        )
        await expect(desk.locator("#live-status")).to_have_attribute("data-live", "1")
        await expect(row).to_be_visible()
        await expect(desk.locator("tr.appeal").filter(has_not_text="环境卫生")).to_have_count(0)

        # --- the clock passes the accept promise: red, escalated here, live -------------
        await chats.locator(".clock-buttons button", has_text="+1 天").click()
        overdue = desk.locator("tr.appeal.overdue", has_text="环境卫生")
        await expect(overdue.first).to_be_visible()
        await expect(overdue.first).to_contain_text("超时")
        await expect(desk.locator('[data-count="overdue"]')).not_to_have_text("0")
        assert await desk.evaluate("window.__notReloaded") is True
        await _shot(desk, "desk-queue.png")

        # --- assign it down to the grid worker from the page; the push is in her chat ---
        number = (await overdue.first.locator("a").text_content() or "").strip()
        await overdue.first.locator("a").click()
        await expect(desk.locator("#appeal-state h1")).to_contain_text(number)
        await expect(desk.locator("#appeal-state")).to_contain_text("3号楼楼道灯坏了一个星期")
        form = desk.locator('form[data-action="assign"]')
        await form.locator('select[name="worker"]').select_option(label="赵丽娟")
        await form.locator('select[name="hours"]').select_option(label="24 小时")
        await form.locator("button").click()
        await expect(desk.locator(".notice")).to_contain_text("已指派")
        await expect(
            worker.locator(".msg.in", has_text="通海社区指派给您办理").last
        ).to_be_visible()
        await expect(resident.locator(".msg.in", has_text="指派给赵丽娟").last).to_be_visible()
        # ...and supervise her with a note.
        note = "请今天下班前联系居民"
        await desk.locator('form[data-action="supervise"] textarea').fill(note)
        await desk.locator('form[data-action="supervise"] button').click()
        await expect(desk.locator(".notice")).to_contain_text("已督办")
        await expect(worker.locator(".msg.in", has_text=note).last).to_be_visible()
        await expect(desk.locator("#appeal-state .timeline")).to_contain_text("上级督办")
        await _shot(desk, "desk-appeal.png")

        # --- another appeal, taken from the page: the resident hears who took it ---------
        await desk.locator("a.back").click()
        await _file_in_chat(resident, "小区门口的路灯不亮")
        fresh = desk.locator("tr.appeal", has_text="待受理").last
        await expect(fresh).to_be_visible()
        await fresh.locator("a").click()
        await desk.locator('form[data-action="accept"] button').click()
        await expect(desk.locator(".notice")).to_contain_text("已受理")
        await expect(
            resident.locator(".msg.in", has_text="已由郑红梅（社区工作者）受理").last
        ).to_be_visible()

        # A phone's width: the table reads as one card per appeal.
        await desk.locator("a.back").click()
        await desk.set_viewport_size({"width": 390, "height": 844})
        await expect(desk.locator("tr.appeal").first).to_be_visible()
        await _shot(desk, "desk-queue-phone.png")

        # --- the pane's own button opens the desk as its persona ------------------------
        async with context.expect_page() as opened_again:
            await worker.locator(".desk-btn").click()
        worker_desk = await opened_again.value
        await expect(worker_desk.locator(".person")).to_have_text("赵丽娟")
        await expect(resident.locator(".desk-btn")).to_be_hidden()

        # --- 退出 ----------------------------------------------------------------------
        await worker_desk.locator(".signout button").click()
        await expect(worker_desk.locator("h1")).to_have_text("您已退出指挥台")
        await expect(chats.locator("#error-count")).to_have_text("0")
        assert errors == [], errors
        await context.close()


async def _miniapp(context: BrowserContext, base: str, data: str) -> Page:
    page = await context.new_page()
    await page.goto(f"{base}/desk/app#tgWebAppData={quote(data)}&tgWebAppVersion=8.0")
    return page


async def test_the_mini_app_with_valid_stale_and_forged_data(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        base = sandbox.web_url
        me = {"id": COMMUNITY_STAFF, "first_name": "郑红梅"}
        now = datetime.now(UTC)

        valid = await browser.new_context(locale="zh-CN")
        page = await _miniapp(valid, base, init_data(TOKEN, me, now - timedelta(minutes=1)))
        await expect(page.locator("h1")).to_have_text("诉求队列")
        await expect(page.locator(".person")).to_have_text("郑红梅")
        await valid.close()

        stale = await browser.new_context(locale="zh-CN")
        page = await _miniapp(stale, base, init_data(TOKEN, me, now - timedelta(hours=2)))
        await expect(page.locator("h1")).to_have_text("登录信息已过期")
        assert await stale.cookies() == []
        await stale.close()

        forged = await browser.new_context(locale="zh-CN")
        other = init_data("100000:SOMEONE-else", me, now)
        page = await _miniapp(forged, base, other)
        await expect(page.locator("h1")).to_have_text("登录信息无法验证")
        assert await forged.cookies() == []
        # Opened outside Telegram (no data at all): it says where to open it.
        page = await forged.new_page()
        await page.goto(f"{base}/desk/app")
        await expect(page.locator("#miniapp-outside")).to_be_visible()
        await forged.close()
