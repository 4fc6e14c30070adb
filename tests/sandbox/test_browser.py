"""The sandbox page in real headless Chromium (Debian's package, driven by Playwright): a
resident files an appeal by pressing buttons and typing, the grid worker's pane receives
and accepts it, the resident's pane shows the change; then the clock is advanced past
another appeal's accept deadline and the escalation reaches the community staff's pane.

The final page is saved as artifacts/sandbox.png (and as docs/sandbox.png for the README
when GRIDBOT_DOCS_SCREENSHOT=1)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from emulator import sample_png
from sandbox import Sandbox
from storage.appeals import AppealPolicy, AppealService, Draft
from storage.hierarchy import HierarchyRepo
from tests.system import chromium

RESIDENT = 9_000_001  # 王秀英, 通海社区 第一网格 1号楼
WORKER = 9_000_007  # 赵丽娟, that grid's worker
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Bot round trips take milliseconds; this only bounds a failure.
expect.set_options(timeout=10_000)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()  # skipped on a bare machine, a failure on CI
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


def pane(page: Page, user_id: int) -> Locator:
    return page.locator(f'.pane[data-user="{user_id}"]')


async def press(chat: Locator, label: str) -> None:
    """Press the newest inline button with this label, as a user would."""
    await chat.locator(".ikb", has_text=label).last.click()


async def test_an_appeal_travels_between_the_panes(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await browser.new_page(viewport={"width": 1480, "height": 900})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        try:
            await _play(page, sandbox)
            assert page_errors == []
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = await page.screenshot(path=str(ARTIFACTS / "sandbox.png"), animations="disabled")
            if os.environ.get("GRIDBOT_DOCS_SCREENSHOT") == "1":
                (ROOT / "docs").mkdir(exist_ok=True)
                (ROOT / "docs" / "sandbox.png").write_bytes(shot)
            await page.close()


async def test_entities_render_as_elements_never_as_markup(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await browser.new_page()
        await page.goto(sandbox.url)
        rendered = await page.evaluate(
            """async () => {
                const { renderEntities } = await import("/static/render.js");
                const render = (text, entities) => {
                    const box = document.createElement("div");
                    box.append(renderEntities(text, entities, "gridbot_sandbox_bot"));
                    return box.innerHTML;
                };
                return [
                    // Offsets count UTF-16 units: the emoji before takes two.
                    render("👋 bold italic tail", [
                        {type: "bold", offset: 3, length: 11},
                        {type: "italic", offset: 8, length: 6},
                    ]),
                    render("<b>x</b> & go", [
                        {type: "text_link", offset: 11, length: 2, url: "javascript:alert(1)"},
                    ]),
                    render("open link", [{
                        type: "text_link", offset: 5, length: 4,
                        url: "https://t.me/gridbot_sandbox_bot?start=b_abc",
                    }]),
                    render("/tasks now", [{type: "bot_command", offset: 0, length: 6}]),
                ];
            }"""
        )
        await page.close()
    bold, unsafe, deep_link, command = rendered
    assert bold == "👋 <b>bold <i>italic</i></b> tail"
    assert unsafe == (
        '&lt;b&gt;x&lt;/b&gt; &amp; <span class="link-blocked" '
        'title="不安全的链接 unsafe link">go</span>'
    )
    assert deep_link == 'open <a href="#" class="deep-link" data-start="b_abc">link</a>'
    assert command == '<span class="command" role="button" data-command="/tasks">/tasks</span> now'


async def _play(page: Page, sandbox: Sandbox) -> None:
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    resident, worker, staff = (pane(page, u) for u in (RESIDENT, WORKER, COMMUNITY_STAFF))
    await expect(resident.locator(".sub")).to_contain_text("居民")
    await expect(worker.locator(".sub")).to_contain_text("网格员")
    await expect(staff.locator(".sub")).to_contain_text("社区工作者")
    for chat in (resident, worker, staff):
        await chat.locator(".start-btn").click()
        await expect(chat.locator(".msg.in").first).to_be_visible()

    await _typed_markup_stays_text(page)

    # --- the resident files an appeal --------------------------------------------------
    await press(resident, "📝 提交诉求")
    await press(resident, "环境卫生")
    description = "3号楼楼道灯坏了一个星期，晚上很黑，老人上下楼不安全。"
    await resident.locator(".composer-input").fill(description)
    await resident.locator(".composer-input").press("Enter")
    await expect(resident.locator(".msg.out", has_text=description)).to_be_visible()
    # Described: the summary, where a photo and the location are optional extras.
    # Telegram HTML arrives as entities and is rendered as elements: <b> stays bold.
    await expect(resident.locator(".msg.in .text b", has_text="请核对您的诉求")).to_be_visible()
    await press(resident, "📷 加照片")
    await resident.locator(".file-photo").set_input_files(
        {"name": "lamp.png", "mimeType": "image/png", "buffer": sample_png(120, 80)}
    )
    await expect(resident.locator(".msg.out img.photo")).to_be_visible()
    await expect(resident.locator(".msg.in", has_text="已收到 1 张").last).to_be_visible()
    await press(resident, "✅ 好了")
    # The location asks through the reply keyboard's "share location" button.
    await press(resident, "📍 加位置")
    await resident.locator(".rkb", has_text="发送位置").click()
    await expect(resident.locator(".msg.out .location")).to_be_visible()
    await expect(resident.locator(".msg.in", has_text="位置：已附上").last).to_be_visible()
    await press(resident, "✅ 确认提交")
    await expect(resident.locator(".msg.in", has_text="已提交").last).to_be_visible()

    # --- the worker receives the push and accepts -----------------------------------------
    task = worker.locator(".msg.in", has_text="楼道灯坏了一个星期")
    await expect(task.last).to_be_visible()
    await press(worker, "✅ 受理（我来负责）")
    await expect(worker.locator(".toast")).to_contain_text("已受理")  # the callback answer
    await expect(resident.locator(".msg.in", has_text="已由赵丽娟（网格员）受理").last).to_be_visible()

    # --- another appeal nobody accepts: past its deadline it goes up a level ---------------
    await _file_quietly(sandbox, "facilities", "单元门禁坏了，门关不上")
    await expect(worker.locator(".msg.in", has_text="单元门禁坏了").last).to_be_visible()
    await expect(staff.locator(".msg.in", has_text="超时上报")).to_have_count(0)
    before = await page.locator("#clock-now").text_content()
    await page.locator(".clock-buttons button", has_text="+1 天").click()
    await expect(page.locator("#clock-offset")).to_contain_text("1 天")
    assert await page.locator("#clock-now").text_content() != before
    escalation = staff.locator(".msg.in", has_text="超时上报")
    await expect(escalation.last).to_be_visible()
    await expect(escalation.last).to_contain_text("单元门禁坏了")
    await expect(page.locator("#error-count")).to_have_text("0")


async def _typed_markup_stays_text(page: Page) -> None:
    """In an extra pane (added, then closed again): what a user types is shown as text
    and never runs, however it looks."""
    await page.locator("#add-pane").click()
    await expect(page.locator(".pane")).to_have_count(4)
    extra = page.locator(".pane").last
    await expect(extra).to_have_attribute("data-user", "9000002")  # the next demo person
    markup = "<img src=x onerror=window.__xss=1><b>不是粗体</b>"
    await extra.locator(".composer-input").fill(markup)
    await extra.locator(".composer-input").press("Enter")
    await expect(extra.locator(".msg.out .text", has_text=markup)).to_be_visible()
    await expect(extra.locator(".msg.out img, .msg.out .text b")).to_have_count(0)
    assert await page.evaluate("window.__xss") is None
    await extra.locator(".close").click()
    await expect(page.locator(".pane")).to_have_count(3)


async def _file_quietly(sandbox: Sandbox, category: str, text: str) -> None:
    """A second appeal from the same resident, straight through the storage service
    (the UI path is covered above); the real notifier pushes it."""
    app = sandbox.app
    async with app.sessionmaker() as session:
        building = await HierarchyRepo(session).by_code("MP-NH-TH-G1-B1")
        assert building is not None
        service = AppealService(session, app.config.get(AppealPolicy), app.clock.now())
        await service.file(RESIDENT, building, Draft(category=category, text=text))
        await session.commit()
    app.kick()
