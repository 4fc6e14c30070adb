"""A notice on the sandbox page, in real headless Chromium (as tests/sandbox/test_browser.py):
the community staff composes one in her pane and asks for 已收到; the residents' panes
receive it under her community's header; one resident presses 已收到 (a toast, and the
button becomes 已确认); the staff's progress message is edited to the final figures. Then
the clock goes a day on: the resident who did not press gets the one reminder; a day
more: his grid's worker gets the door-visit list naming him, and the worker of the grid
where everyone confirmed gets none.

In the demo, 通海社区 第一网格 has one household (王秀英, who confirms here); its second
grid has 李建国, so the door-visit list goes to that grid's worker, 孙海涛, in a pane
added for him. The final page is saved as artifacts/sandbox-notices.png."""

from __future__ import annotations

import math
from datetime import time, timedelta

from playwright.async_api import Browser, Locator, Page, expect

from sandbox import Sandbox
from tests.sandbox.browsing import ARTIFACTS, pane, press

RESIDENT = 9_000_001  # 王秀英, 通海社区 第一网格 1号楼: confirms
NEIGHBOUR = 9_000_002  # 李建国, 通海社区 第二网格 5号楼: does not
WORKER = 9_000_007  # 赵丽娟, 第一网格's worker
OTHER_WORKER = 9_000_008  # 孙海涛, 第二网格's worker
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区
BODY = "周六上午 9:00-12:00 停水，请提前储水。"
HEADER = "📢 通海社区通知"
PROGRESS = "通知 #1（通海社区）"
# Ordinary notices wait out quiet hours (22:00-07:00); the play starts at 09:00 local.
MORNING = time(9, 0)
# The progress job runs every 5 s of real time; a figure shows within one run and a send.
PROGRESS_TIMEOUT = 20_000


async def type_in(chat: Locator, text: str) -> None:
    await chat.locator(".composer-input").fill(text)
    await chat.locator(".composer-input").press("Enter")
    await expect(chat.locator(".msg.out", has_text=text).last).to_be_visible()


async def test_a_notice_travels_from_the_staff_pane_to_residents_and_grid_workers(
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
                path=str(ARTIFACTS / "sandbox-notices.png"), animations="disabled"
            )
            await page.close()


async def _play(page: Page, sandbox: Sandbox) -> None:
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    await _to_the_morning(page, sandbox)

    # Two more panes: 李建国 (the next demo person) and 孙海涛, picked by hand.
    await page.locator("#add-pane").click()
    await expect(page.locator(".pane").last).to_have_attribute("data-user", str(NEIGHBOUR))
    await page.locator("#add-pane").click()
    await page.locator(".pane").last.locator(".persona").select_option(str(OTHER_WORKER))
    await expect(page.locator(".pane").last).to_have_attribute("data-user", str(OTHER_WORKER))
    resident, neighbour, worker, other_worker, staff = (
        pane(page, u) for u in (RESIDENT, NEIGHBOUR, WORKER, OTHER_WORKER, COMMUNITY_STAFF)
    )
    await expect(staff.locator(".sub")).to_contain_text("社区工作者")
    await expect(other_worker.locator(".sub")).to_contain_text("网格员")

    # --- the community staff writes the notice and sends it -----------------------------
    await staff.locator(".start-btn").click()
    await press(staff, "📢 发通知")
    await expect(staff.locator(".msg.in", has_text="请直接发送通知内容").last).to_be_visible()
    await type_in(staff, BODY)
    audience = staff.locator(".msg.in", has_text="发给谁").last
    await expect(audience).to_be_visible()
    await expect(audience).to_contain_text("王秀英")
    await expect(audience.locator(".ikb", has_text="☑️ 居民")).to_be_visible()
    await press(staff, "⬜ 要求回执")
    await expect(staff.locator(".ikb", has_text="☑️ 要求回执").last).to_be_visible()
    await press(staff, "👁 预览并确认")
    # The preview: the notice as residents will get it, in her own chat, then the question.
    preview = staff.locator(".msg.in", has_text=BODY).first
    await expect(preview).to_contain_text(HEADER)
    await expect(staff.locator(".msg.in", has_text="确认发送吗").last).to_be_visible()
    await press(staff, "✅ 确认发送")
    await expect(staff.locator(".msg.in", has_text="通知 #1 已开始发送").last).to_be_visible()

    # --- the residents' panes receive it, with 已收到 -----------------------------------
    got = resident.locator(".msg.in", has_text=HEADER)
    await expect(got).to_have_count(1)
    await expect(got.locator(".text")).to_have_text(f"{HEADER}\n\n{BODY}")
    await expect(got.locator(".text b", has_text=HEADER)).to_be_visible()  # the header is bold
    await expect(got.locator(".ikb")).to_have_text("✅ 已收到")
    neighbours_copy = neighbour.locator(".msg.in", has_text=HEADER)
    await expect(neighbours_copy).to_have_count(1)
    await expect(neighbours_copy.locator(".ikb")).to_have_text("✅ 已收到")

    # --- the progress message: done, nobody has confirmed yet ---------------------------
    progress = staff.locator(".msg.in", has_text=PROGRESS)
    await expect(progress.locator(".text")).to_contain_text("发送完成", timeout=PROGRESS_TIMEOUT)
    await expect(progress.locator(".text")).to_contain_text(
        "已确认收到：0 / ", timeout=PROGRESS_TIMEOUT
    )
    reached = _reached(await progress.locator(".text").inner_text())

    # --- 王秀英 presses 已收到 ----------------------------------------------------------
    await got.locator(".ikb", has_text="✅ 已收到").click()
    await expect(resident.locator(".toast")).to_contain_text("已确认收到，谢谢")
    await expect(got.locator(".ikb")).to_have_text("✅ 已确认")
    await expect(resident.locator(".ikb", has_text="✅ 已收到")).to_have_count(0)

    # The same progress message (edited, not a new one) counts her.
    await expect(progress.locator(".text")).to_contain_text(
        f"已确认收到：1 / {reached}", timeout=PROGRESS_TIMEOUT
    )
    await expect(progress).to_have_count(1)
    await expect(progress.locator(".edited")).to_be_visible()
    await expect(progress.locator(".text")).to_contain_text("发送完成")

    # --- a day on: one reminder for who has not confirmed --------------------------------
    await _advance_a_day(page)
    reminder = neighbour.locator(".msg.in", has_text="⏰ 提醒")
    await expect(reminder).to_have_count(1)
    await expect(reminder).to_contain_text("通海社区")
    await expect(reminder).to_contain_text("还没有确认收到")
    await expect(reminder.locator(".reply-quote")).to_contain_text(HEADER)  # replies to it
    await expect(reminder.locator(".ikb")).to_have_text("✅ 已收到")
    await expect(resident.locator(".msg.in", has_text="⏰ 提醒")).to_have_count(0)

    # --- a day more: the door-visit list reaches the worker of his grid ------------------
    await _advance_a_day(page)
    visits = other_worker.locator(".msg.in", has_text="🚪 通知 #1")
    await expect(visits).to_have_count(1)
    await expect(visits).to_contain_text("通海社区")
    await expect(visits).to_contain_text("还有 1 户没有确认收到")
    await expect(visits).to_contain_text("5号楼 · 李建国 · +8613800000002")
    await expect(visits).not_to_contain_text("王秀英")
    # Everyone in 赵丽娟's grid confirmed: she has no doors to knock on.
    await expect(worker.locator(".msg.in", has_text="🚪")).to_have_count(0)
    await expect(page.locator("#error-count")).to_have_text("0")


async def _to_the_morning(page: Page, sandbox: Sandbox) -> None:
    """Advance the sandbox clock with the page's hours field to just after 09:00 local
    time, whatever time of day the test runs at, so no quiet hours hold anything."""
    zone = sandbox.app.settings.zone
    local = sandbox.clock.now().astimezone(zone)
    morning = local.replace(hour=MORNING.hour, minute=MORNING.minute, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    hours = math.ceil((morning - local) / timedelta(hours=1) * 10) / 10  # the field's step
    await page.locator("#clock-hours").fill(f"{hours:.1f}")
    await page.locator("#clock-custom button[type=submit]").click()
    await expect(page.locator("#clock-offset")).to_contain_text("已快进")
    now = sandbox.clock.now().astimezone(zone)
    assert MORNING <= now.time() < time(MORNING.hour + 1), now


async def _advance_a_day(page: Page) -> None:
    """The "+1 天" button; the sandbox answers once the day's due work has run."""
    async with page.expect_response(lambda r: r.url.endswith("/api/clock/advance")) as answer:
        await page.locator(".clock-buttons button", has_text="+1 天").click()
    assert (await answer.value).ok


def _reached(progress: str) -> int:
    """The n of "已确认收到：a / n" in the progress message."""
    line = next(x for x in progress.splitlines() if x.startswith("已确认收到："))
    return int(line.split("/")[1])
