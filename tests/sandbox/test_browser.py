"""The sandbox page in real headless Chromium (Debian's package, driven by Playwright): a
resident files an appeal by pressing buttons and typing, the grid worker's pane receives
and accepts it, the resident's pane shows the change; then the clock is advanced past
another appeal's accept deadline and the escalation reaches the community staff's pane.
Then what users of the page ran into: a pane follows new messages or counts them while
scrolled up, button labels are never broken or cut, only real commands are tappable, a
voice note shows its real length, and a t.me link to the bot opens as a chosen persona.

The final page is saved as artifacts/sandbox.png (and as docs/sandbox.png for the README
when GRIDBOT_DOCS_SCREENSHOT=1)."""

from __future__ import annotations

import os

import pytest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bot.i18n import translator
from emulator import sample_png
from sandbox import Sandbox
from storage.appeals import AppealPolicy, AppealService, Draft
from storage.hierarchy import HierarchyRepo
from tests.sandbox.browsing import ARTIFACTS, ROOT, pane, press

RESIDENT = 9_000_001  # 王秀英, 通海社区 第一网格 1号楼
WORKER = 9_000_007  # 赵丽娟, that grid's worker
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区
ADMIN = 9_000_018  # 韩立新, global admin
NEWCOMER = 9_000_101  # 新居民 小周, not registered


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
    await expect(
        resident.locator(".msg.in", has_text="已由赵丽娟（网格员）受理").last
    ).to_be_visible()

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


# --- a pane follows new messages, or counts them while scrolled up ------------------------

AT_END = """(uid) => {
    const el = document.querySelector(`.pane[data-user="${uid}"] .messages`);
    return el.scrollHeight - el.scrollTop - el.clientHeight <= 2;
}"""


async def _open(browser: Browser, sandbox: Sandbox, width: int = 1024, height: int = 640) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    return page


async def _at_end(page: Page, user_id: int, what: str) -> None:
    try:
        await page.wait_for_function(AT_END, arg=user_id, timeout=3000)
    except PlaywrightTimeout:
        raise AssertionError(f"the pane is not at its end after {what}") from None


async def _scroll_to(page: Page, user_id: int, top: str) -> None:
    """Scroll a pane as the user would, and wait until the page has seen the scroll."""
    await page.evaluate(
        """([uid, top]) => new Promise((done) => {
            const el = document.querySelector(`.pane[data-user="${uid}"] .messages`);
            el.addEventListener("scroll", () => requestAnimationFrame(done), { once: true });
            el.scrollTop = top === "end" ? el.scrollHeight : 0;
        })""",
        [user_id, top],
    )


async def _fill_chat(page: Page, sandbox: Sandbox, user_id: int, count: int = 14) -> None:
    for n in range(1, count + 1):
        await sandbox.app.bot.send_message(user_id, f"第 {n} 条通知：楼道灯已修好。")
    await expect(pane(page, user_id).locator(".msg.in", has_text=f"第 {count} 条")).to_be_visible()


async def test_new_messages_scroll_into_view_at_the_end(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox)
        chat = pane(page, RESIDENT)
        bot = sandbox.app.bot
        await _fill_chat(page, sandbox, RESIDENT)
        await _at_end(page, RESIDENT, "a burst of messages")
        # The bot edits its last message into a long one (as dialogs do): still in view.
        sent = await bot.send_message(RESIDENT, "请稍候……")
        await bot.edit_message_text(
            "\n".join(f"第 {n} 行：办理进展" for n in range(1, 31)),
            chat_id=RESIDENT,
            message_id=sent.message_id,
        )
        await expect(chat.locator(".msg.in", has_text="第 30 行")).to_have_count(1)
        await _at_end(page, RESIDENT, "an edit made the last message longer")
        # A tall photo grows the chat only once it has loaded.
        await bot.send_photo(RESIDENT, BufferedInputFile(sample_png(300, 900), "tall.png"))
        await page.wait_for_function(
            """(uid) => [...document.querySelectorAll(`.pane[data-user="${uid}"] img.photo`)]
                .some((img) => img.complete && img.naturalHeight > 0)""",
            arg=RESIDENT,
        )
        await _at_end(page, RESIDENT, "a photo loaded")
        await bot.send_message(RESIDENT, "请为这次办理评价：")
        await expect(chat.locator(".msg.in", has_text="请为这次办理评价")).to_be_visible()
        await _at_end(page, RESIDENT, "the rating prompt")
        await expect(chat.locator(".unseen")).to_be_hidden()
        await page.close()


async def test_unseen_messages_are_counted_while_scrolled_up(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox)
        chat = pane(page, RESIDENT)
        badge = chat.locator(".unseen")
        bot = sandbox.app.bot
        await _fill_chat(page, sandbox, RESIDENT)
        await _scroll_to(page, RESIDENT, "top")
        await bot.send_message(RESIDENT, "您的诉求已办结。")
        await bot.send_message(RESIDENT, "请为这次办理评价：")
        await expect(chat.locator(".msg.in", has_text="请为这次办理评价")).to_have_count(1)
        await expect(badge).to_be_visible()
        await expect(badge).to_have_text("↓ 2 条新消息")
        # The pane stayed where the user was reading.
        assert await chat.locator(".messages").evaluate("(el) => el.scrollTop") == 0
        await badge.click()
        await _at_end(page, RESIDENT, "clicking the badge")
        await expect(badge).to_be_hidden()
        await expect(chat.locator(".msg.in", has_text="请为这次办理评价")).to_be_in_viewport()

        # Scrolling down by hand clears it too.
        await _scroll_to(page, RESIDENT, "top")
        await bot.send_message(RESIDENT, "还有一条。")
        await expect(badge).to_have_text("↓ 1 条新消息")
        await _scroll_to(page, RESIDENT, "end")
        await expect(badge).to_be_hidden()
        # Back at the end, the pane follows again.
        await bot.send_message(RESIDENT, "最后一条。")
        await expect(chat.locator(".msg.in", has_text="最后一条")).to_be_visible()
        await _at_end(page, RESIDENT, "a message after scrolling back down")
        await expect(badge).to_be_hidden()
        await page.close()


# --- labels are never broken or cut -----------------------------------------------------

LINE_COUNTS = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()]
        .filter((r) => r.width > 0)
        .map((r) => Math.round(r.top)));
    const box = el.getBoundingClientRect();
    const scroller = el.closest(".messages, .topbar").getBoundingClientRect();
    return {
        text: el.textContent.trim(),
        lines: tops.size,
        cut: el.scrollWidth > el.clientWidth + 1,
        outside: box.left < scroller.left - 1 || box.right > scroller.right + 1,
    };
})"""


def _zh(key: str) -> str:
    return translator("zh")(key)


async def test_button_labels_stay_whole_at_1024_px(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox, 1024, 768)
        bot = sandbox.app.bot

        def row(*keys: str) -> list[InlineKeyboardButton]:
            return [InlineKeyboardButton(text=_zh(k), callback_data=k) for k in keys]

        rating = [
            row("appeal.rating.satisfied", "appeal.rating.basically", "appeal.rating.unsatisfied")
        ]
        await bot.send_message(
            RESIDENT, "请评价：", reply_markup=InlineKeyboardMarkup(inline_keyboard=rating)
        )
        task = [
            row("appeal.button.accept", "appeal.button.assign"),
            row("appeal.button.progress", "appeal.button.resolve"),
            row("appeal.button.reject", "appeal.button.transfer", "appeal.button.callup"),
            row("appeal.button.open"),
        ]
        await bot.send_message(
            WORKER, "新诉求 #12", reply_markup=InlineKeyboardMarkup(inline_keyboard=task)
        )
        await expect(page.locator(".ikb", has_text="不满意")).to_be_visible()
        await expect(page.locator(".ikb", has_text="转其他网格")).to_be_visible()

        buttons = await page.evaluate(LINE_COUNTS, ".ikb")
        assert len(buttons) == 11
        for button in buttons:
            assert button == {**button, "lines": 1, "cut": False, "outside": False}, button
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "sandbox-1024.png"), animations="disabled")
        await page.close()


@pytest.mark.parametrize("width", [1024, 1280])
async def test_the_clock_bar_fits(browser: Browser, width: int) -> None:
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox, width, 768)
        await expect(page.locator("#clock-now")).not_to_have_text("—")
        header = await page.evaluate(
            LINE_COUNTS, ".topbar button, .clock time, .clock .label, .clock .offset"
        )
        assert len(header) >= 9
        for part in header:
            assert part == {**part, "lines": 1, "cut": False, "outside": False}, part
        # The clock's buttons stay inside the clock bar, and the bar inside the page.
        assert await page.evaluate(
            """() => {
                const bar = document.querySelector(".clock").getBoundingClientRect();
                return [...document.querySelectorAll(".clock-buttons > *")].every((el) => {
                    const r = el.getBoundingClientRect();
                    return r.left >= bar.left && r.right <= bar.right
                        && r.top >= bar.top && r.bottom <= bar.bottom;
                }) && bar.right <= document.documentElement.clientWidth;
            }"""
        )
        await page.close()


# --- commands, voice notes and deep links -------------------------------------------------


async def test_only_a_real_command_is_tappable(browser: Browser) -> None:
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox)
        chat = pane(page, RESIDENT)
        text = "粗体写成 <b>字</b>，命令是 /help"
        await chat.locator(".composer-input").fill(text)
        await chat.locator(".composer-input").press("Enter")
        sent = chat.locator(".msg.out .text", has_text=text)
        await expect(sent).to_be_visible()
        commands = sent.locator(".command")
        await expect(commands).to_have_count(1)
        await expect(commands).to_have_attribute("data-command", "/help")
        await page.close()


async def test_a_command_entity_is_tappable_only_where_telegram_makes_one(
    browser: Browser,
) -> None:
    """Whatever entities arrive: a command starts the text or follows whitespace."""
    async with Sandbox() as sandbox:
        page = await browser.new_page()
        await page.goto(sandbox.url)
        tappable = await page.evaluate(
            """async () => {
                const { renderEntities } = await import("/static/render.js");
                const commands = (text, offset, length) => {
                    const box = document.createElement("div");
                    box.append(renderEntities(
                        text, [{type: "bot_command", offset, length}], "gridbot_sandbox_bot"));
                    return [...box.querySelectorAll(".command")].map((c) => c.dataset.command)
                        .concat(box.textContent === text ? [] : ["(text changed)"]);
                };
                return [
                    commands("</b>", 1, 2),
                    commands("a/b", 1, 2),
                    commands("(/help)", 1, 5),
                    commands("/" + "x".repeat(33), 0, 34),
                    commands("/help", 0, 5),
                    commands("发送\\n/new_appeal", 3, 11),
                    commands("/start@gridbot_sandbox_bot", 0, 26),
                ];
            }"""
        )
        await page.close()
    assert tappable == [[], [], [], [], ["/help"], ["/new_appeal"], ["/start@gridbot_sandbox_bot"]]


RECORD = """async (ms) => {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const out = audio.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    const recorder = new MediaRecorder(out.stream, { mimeType: "audio/webm;codecs=opus" });
    const chunks = [];
    recorder.ondataavailable = (event) => chunks.push(event.data);
    const stopped = new Promise((done) => { recorder.onstop = done; });
    recorder.start();
    await new Promise((done) => setTimeout(done, ms));
    recorder.stop();
    await stopped;
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    return Array.from(bytes);
}"""


async def test_a_recorded_voice_note_shows_its_real_length(browser: Browser) -> None:
    """A 4 s recording (WebM from MediaRecorder, whose header gives no length) shows as
    4″ where it was sent, in the bot's summary, and in the grid worker's pane, where the
    bot sends it on by file_id."""
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox, 1480, 900)
        recording = bytes(await page.evaluate(RECORD, 4000))
        resident, worker = pane(page, RESIDENT), pane(page, WORKER)
        for chat in (resident, worker):
            await chat.locator(".start-btn").click()
            await expect(chat.locator(".msg.in").first).to_be_visible()
        await press(resident, "📝 提交诉求")
        await press(resident, "环境卫生")
        await resident.locator(".file-voice").set_input_files(
            {"name": "note.webm", "mimeType": "audio/webm", "buffer": recording}
        )
        await expect(resident.locator(".msg.out .voice")).to_contain_text("4″")
        await expect(resident.locator(".msg.in", has_text="4 秒").last).to_be_visible()
        await press(resident, "✅ 确认提交")
        await expect(worker.locator(".msg.in .voice")).to_contain_text("4″")
        await page.close()


async def test_a_bot_link_in_a_message_opens_as_a_chosen_persona(browser: Browser) -> None:
    """The admin makes an invite in their pane; its t.me link opens as whoever the user
    picks: here a newcomer in a new pane, who becomes community staff by it."""
    async with Sandbox() as sandbox:
        page = await _open(browser, sandbox, 1480, 900)
        await page.locator("#add-pane").click()
        await page.locator(".pane").last.locator(".persona").select_option(str(ADMIN))
        admin = pane(page, ADMIN)
        await expect(admin.locator(".sub")).to_contain_text("管理员")
        await admin.locator(".composer-input").fill("/invite")
        await admin.locator(".composer-input").press("Enter")
        for label in ("社区工作者", "烟台市牟平区", "宁海街道", "通海社区", "✅ 选择这里"):
            await press(admin, label)
        link = admin.locator(".msg.in .deep-link", has_text="?start=i_")
        await expect(link).to_be_visible()
        href = await link.text_content()
        assert href is not None
        payload = href.split("?start=")[1]

        await link.click()
        chooser = page.locator("#open-as")
        await expect(chooser).to_be_visible()
        await expect(chooser.locator("#open-as-link")).to_have_text(href)
        # Every open pane is offered, and a new one (a newcomer not on screen by default).
        await expect(chooser.locator(".open-as-pane")).to_have_count(4)
        await expect(chooser.locator("#open-as-persona")).to_have_value(str(NEWCOMER))
        await chooser.locator("#open-as-new button[type=submit]").click()
        await expect(chooser).to_be_hidden()
        newcomer = pane(page, NEWCOMER)
        await expect(newcomer.locator(".msg.out", has_text=f"/start {payload}")).to_be_visible()
        await expect(newcomer.locator(".msg.in", has_text="社区工作者").last).to_be_visible()
        await expect(admin.locator(".msg.out", has_text="/start")).to_have_count(0)

        # The same link again, now as the resident in her pane: it is used up.
        await link.click()
        await chooser.locator(f'.open-as-pane[data-user="{RESIDENT}"]').click()
        resident = pane(page, RESIDENT)
        await expect(resident.locator(".msg.out", has_text=f"/start {payload}")).to_be_visible()
        await expect(resident.locator(".msg.in", has_text="已经被使用过了")).to_be_visible()
        await page.close()
