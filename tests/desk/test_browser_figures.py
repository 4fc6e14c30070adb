"""The ranking and the heat grid in headless Chromium beside the sandbox's chat: the
ranking's total equals what /stats says in the chat, a column sorts, the XLSX
downloads and holds the rows on show; the wall screen (大屏) follows a resident's
filing without a reload, and no page breaks its CSP. Screenshots in artifacts/."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from openpyxl import load_workbook
from playwright.async_api import Browser, expect

from sandbox import Sandbox
from tests.desk.test_browser import COMMUNITY_STAFF, RESIDENT, _file_in_chat, _shot
from tests.sandbox.browsing import pane


async def test_the_ranking_and_the_wall_screen_in_a_browser(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        context = await browser.new_context(
            viewport={"width": 1440, "height": 900}, accept_downloads=True
        )
        errors: list[str] = []
        context.on("weberror", lambda error: errors.append(str(error.error)))
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
        resident, staff = pane(chats, RESIDENT), pane(chats, COMMUNITY_STAFF)
        for chat in (resident, staff):
            await chat.locator(".start-btn").click()
            await expect(chat.locator(".msg.in").first).to_be_visible()

        # An appeal this month, then /stats in her chat: this month's figures of 通海社区.
        await _file_in_chat(resident, "楼下的垃圾桶满了两天没人收")
        await staff.locator(".composer-input").fill("/stats")
        await staff.locator(".composer-input").press("Enter")
        stats = staff.locator(".msg.in", has_text="响应率").last
        await expect(stats).to_be_visible()
        said = await stats.inner_text()

        async with context.expect_page() as opened:
            await staff.locator(".desk-btn").click()
        desk = await opened.value
        await expect(desk.locator(".person")).to_have_text("郑红梅")
        await desk.locator(".nav a", has_text="红黑榜").click()
        await expect(desk.locator("h1")).to_contain_text("红黑榜")
        total = desk.locator("tr[data-total]")
        for measure, label in (
            ("response", "响应率"),
            ("resolution", "办结率"),
            ("satisfaction", "满意率"),
            ("on_time", "按时办结率"),
            ("reopen", "重办率"),
        ):
            shown = await total.locator(f'td[data-measure="{measure}"]').get_attribute("data-value")
            found = re.search(rf"(?:^|[\s·]){label} ([\d.]+%|—)", said)
            assert found is not None, (label, said)
            assert shown == found.group(1), (label, shown, said)
        assert (
            await total.locator('td[data-measure="response"]').get_attribute("data-value") == "0.0%"
        )  # one appeal, not accepted yet: a figure, not "—"
        await _shot(desk, "desk-ranking.png")

        # Sorted by satisfaction: its header is marked and the order follows it.
        await desk.locator("th a", has_text="满意率").click()
        await expect(desk.locator("th.sorted")).to_have_text("满意率")
        assert "sort=satisfaction" in desk.url

        # The XLSX of what is on show.
        names = await desk.locator("tbody td.name").all_inner_texts()
        async with desk.expect_download() as downloading:
            await desk.locator("a", has_text="导出 Excel").click()
        download = await downloading.value
        assert download.suggested_filename.endswith(".xlsx")
        data = await asyncio.to_thread(Path(await download.path()).read_bytes)
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert [r[1] for r in rows[3 : 3 + len(names)]] == [n.strip() for n in names]

        # A phone's width: the table scrolls sideways, the charts stack.
        await desk.set_viewport_size({"width": 390, "height": 844})
        await _shot(desk, "desk-ranking-phone.png")
        await desk.set_viewport_size({"width": 1440, "height": 900})

        # The heat grid, then the wall screen: a filing in the chat shows by itself.
        await desk.locator(".nav a", has_text="热力图").click()
        await expect(desk.locator(".tile").first).to_be_visible()
        await desk.locator("a", has_text="大屏模式").click()
        await expect(desk.locator("main.wall")).to_be_visible()
        await expect(desk.locator(".nav")).to_have_count(0)
        await expect(desk.locator("#live-status")).to_have_attribute("data-live", "1")
        await desk.evaluate("window.__notReloaded = true")
        count = desk.locator('[data-count="total"]')
        before = int(await count.inner_text())
        await _file_in_chat(resident, "3号楼楼道灯坏了一个星期")
        await expect(count).to_have_text(str(before + 1))
        assert await desk.evaluate("window.__notReloaded") is True
        await _shot(desk, "desk-heat-wall.png")

        await expect(chats.locator("#error-count")).to_have_text("0")
        assert errors == [], errors
        await context.close()
