"""Screenshots of the desk (指挥台) and the public page for the README, in Chinese and
English, at 1440×900 and on a phone (390×844), saved as
docs/screenshots/<page>-<zh|en>-<desktop|phone>.png.

    uv run --extra dev python docs/screenshots.py

It runs the sandbox in this process (its own temporary SQLite database, nothing else
needed but Chromium: ``apt-get install chromium`` or CHROMIUM_PATH), plays two days of
a district's work on it (a notice asking for 已收到 sent from a staff chat on the sandbox
page; appeals filed, taken, worked on, resolved, rated, some left to run past their
deadline and go up a level), then signs in to the desk as the district's staff member
林慧 and photographs each page. It stops with an error when a page answers anything but
200 or the browser reports an error on it."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from sandbox import Sandbox
from storage.appeals import AppealService, Draft, Rating
from storage.hierarchy import HierarchyRepo
from storage.partners import OrderDraft, PartnerService
from storage.partners import Rating as OrderRating
from storage.users import User

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
LANGUAGES = ("zh", "en")

# Demo people (storage/demo.py).
RESIDENTS = {
    "王秀英": 9_000_001,
    "李建国": 9_000_002,
    "张桂兰": 9_000_003,
    "刘志强": 9_000_004,
    "陈淑珍": 9_000_005,
    "杨明": 9_000_006,
}
WORKERS = {"赵丽娟": 9_000_007, "孙海涛": 9_000_008, "周晓燕": 9_000_009, "吴建军": 9_000_010}
COMMUNITY_STAFF = {"郑红梅": 9_000_011, "冯伟": 9_000_012, "何静": 9_000_013}
COMMUNITY_STAFF.update({"许文博": 9_000_014, "高玉兰": 9_000_015})
PARTNERS = {"曲卫东": 9_000_019, "于美华": 9_000_020}
JIANG = 9_000_021  # 姜海燕, a resident of 正阳社区 whose partner application waits
DISTRICT_STAFF = 9_000_017  # 林慧: the district, so every street and community
NOTICE = "周六上午 9:00-12:00 停水检修，请提前储水。"

expect.set_options(timeout=20_000)


@dataclass(frozen=True)
class Story:
    """One appeal as it goes: filed where, by whom, and how far it gets."""

    resident: str
    building: str
    category: str
    text: str
    taker: str | None = None  # who accepts it (a grid worker or community staff)
    progress: str | None = None
    resolve: str | None = None
    rating: Rating | None = None
    comment: str | None = None


# Filed on the first morning. Those nobody takes run past their accept deadline overnight
# and go up to the community; the rest are taken, worked on, resolved and rated.
MORNING = (
    Story(
        "李建国",
        "MP-NH-TH-G2-B5",
        "property",
        "地下车库的排风扇坏了，车库里味道很大",
        "孙海涛",
        "已报物业，厂家明天来修",
        "排风扇已更换，已试运行",
        Rating.BASICALLY,
    ),
    Story(
        "张桂兰",
        "MP-NH-ZY-G1-B2",
        "sanitation",
        "楼下垃圾桶满了两天没人清运",
        "周晓燕",
        None,
        "已协调环卫车当天清运，并加了一个垃圾桶",
        Rating.SATISFIED,
        "处理得很快",
    ),
    Story(
        "张桂兰",
        "MP-NH-ZY-G1-B2",
        "safety",
        "电动车在楼道里充电，电线拖了一地",
        "周晓燕",
        "已上门劝导，车主同意挪走",
        None,
    ),
    Story(
        "刘志强",
        "MP-WH-WH-G1-B3",
        "facilities",
        "单元门禁坏了，门关不上",
        "许文博",
        None,
        "门禁已修好",
        Rating.UNSATISFIED,
        "修好第二天又坏了",
    ),
    Story("陈淑珍", "MP-WH-DG-G2-B6", "disputes", "楼上装修每天早上七点就开始打电钻"),
    Story("杨明", "MP-NH-BG-G1-B1", "livelihood", "想咨询独居老人的助餐服务怎么申请"),
    Story("杨明", "MP-NH-BG-G1-B1", "facilities", "小区东门的路灯不亮了"),
    Story(
        "王秀英",
        "MP-NH-TH-G1-B2",
        "sanitation",
        "绿化带里有人倒建筑垃圾",
        "赵丽娟",
        None,
        "已清理，并在绿化带旁立了提示牌",
        Rating.SATISFIED,
    ),
    Story(
        "陈淑珍",
        "MP-WH-DG-G2-B6",
        "public_order",
        "晚上有人在小区里飙电动车，很危险",
        "高玉兰",
        "已联系派出所加强夜间巡逻",
        None,
    ),
    Story("李建国", "MP-NH-TH-G2-B6", "enquiry", "医保异地备案在哪里办理"),
    Story(
        "刘志强",
        "MP-WH-WH-G2-B5",
        "property",
        "物业收费公示栏一直没有更新",
        "许文博",
        None,
        "已督促物业更新公示",
        Rating.SATISFIED,
    ),
)
# Filed on the second day, still waiting to be taken when the pictures are taken.
LATER = (
    Story("张桂兰", "MP-NH-ZY-G2-B4", "facilities", "4号楼电梯这周停了两次"),
    Story("杨明", "MP-NH-BG-G2-B6", "sanitation", "化粪池井盖松动，有异味"),
    Story("王秀英", "MP-NH-TH-G1-B3", "other", "建议在小区里增设几个休息长椅"),
)
# The appeal whose page is photographed: taken, worked on, urged on by the community
# (督办), still open, so the district's staff member sees what she may do with it.
SHOWN = Story(
    "王秀英",
    "MP-NH-TH-G1-B1",
    "facilities",
    "3号楼楼道灯坏了一个星期，晚上很黑，老人上下楼不安全。",
    "赵丽娟",
    "已联系物业电工，明天上午更换灯管",
)
SHOWN_URGED = "请尽快处理，注意老人夜间出行安全"
SHOWN_LATER = "电工已到场，一楼到三楼已换好，四楼以上的灯管明天补齐"


ORDER_STEP = timedelta(minutes=10)
# 幸福合伙人 orders in 正阳社区: (who orders, skill, what, who takes it; None: waiting).
ORDERS = (
    (RESIDENTS["张桂兰"], "repair", "厨房水龙头一直滴水", "曲卫东"),
    (JIANG, "haircut", "家里老人行动不便，想请人上门理发", "于美华"),
    (RESIDENTS["张桂兰"], "appliance", "电饭煲不加热了，想请人看看", None),
    (JIANG, "elderly", "周末想请人陪楼上独居的老人聊聊天", None),
)


class ShotFailed(RuntimeError):
    pass


# --- the story -------------------------------------------------------------------------


async def _with_service(
    sandbox: Sandbox, work: Callable[[AppealService, Any], Awaitable[Any]]
) -> Any:
    async with sandbox.app.services() as s:
        return await work(AppealService.from_services(s), s)


async def _file(sandbox: Sandbox, story: Story) -> int:
    async def work(service: AppealService, s: Any) -> int:
        building = await HierarchyRepo(s.session).by_code(story.building)
        assert building is not None, story.building
        draft = Draft(category=story.category, text=story.text)
        appeal = await service.file(RESIDENTS[story.resident], building, draft)
        return int(appeal.id)

    return int(await _with_service(sandbox, work))


async def _staff_act(sandbox: Sandbox, user_id: int, act: str, appeal_id: int, *args: Any) -> None:
    async def work(service: AppealService, s: Any) -> None:
        staffing = await s.staff.staffing(user_id)
        await getattr(service, act)(appeal_id, staffing, *args)

    await _with_service(sandbox, work)


async def _rate(sandbox: Sandbox, story: Story, appeal_id: int) -> None:
    rating = story.rating
    assert rating is not None

    async def work(service: AppealService, s: Any) -> None:
        await service.rate(appeal_id, RESIDENTS[story.resident], rating, story.comment)

    await _with_service(sandbox, work)


async def _orders(sandbox: Sandbox) -> None:
    """Two orders done and confirmed (the partners' points), two waiting for a taker."""
    for resident, skill, text, partner in ORDERS:
        async with sandbox.app.services() as s:
            service = s.get(PartnerService)
            user = await s.session.get(User, resident)
            assert user is not None
            order = await service.place(user, OrderDraft(skill=skill, description=text))
        if partner is None:
            continue
        for step in ("take", "visited", "done", "confirm"):
            await sandbox.advance(ORDER_STEP)
            async with sandbox.app.services() as s:
                service = s.get(PartnerService)
                if step == "take":
                    await service.take(order.id, PARTNERS[partner])
                elif step == "confirm":
                    await service.confirm(order.id, resident, OrderRating.SATISFIED)
                else:
                    await service.progress(order.id, PARTNERS[partner], step)


def _taker(story: Story) -> int:
    assert story.taker is not None
    return WORKERS.get(story.taker) or COMMUNITY_STAFF[story.taker]


async def _to_a_morning(sandbox: Sandbox) -> None:
    """On to 09:00 local time (no quiet hours hold a notice), and to the next month's
    first days when the two days played would not fit in this one."""
    zone = sandbox.app.settings.zone
    local = sandbox.clock.now().astimezone(zone)
    morning = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    if (morning + timedelta(days=3)).month != morning.month:
        while morning.day != 2:
            morning += timedelta(days=1)
    await sandbox.advance(morning - local)


async def _press(chat: Locator, label: str) -> None:
    await chat.locator(".ikb", has_text=label).last.click()


async def _notice(browser: Browser, sandbox: Sandbox) -> None:
    """郑红梅 sends a notice from her chat pane asking for 已收到; 王秀英 confirms."""
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    await page.goto(sandbox.url)
    await expect(page.locator("body")).to_have_attribute("data-live", "1")
    staff = page.locator(f'.pane[data-user="{COMMUNITY_STAFF["郑红梅"]}"]')
    resident = page.locator(f'.pane[data-user="{RESIDENTS["王秀英"]}"]')
    await staff.locator(".start-btn").click()
    await _press(staff, "📢 发通知")
    await expect(staff.locator(".msg.in", has_text="请直接发送通知内容").last).to_be_visible()
    await staff.locator(".composer-input").fill(NOTICE)
    await staff.locator(".composer-input").press("Enter")
    await expect(staff.locator(".msg.in", has_text="发给谁").last).to_be_visible()
    await _press(staff, "⬜ 要求回执")
    await expect(staff.locator(".ikb", has_text="☑️ 要求回执").last).to_be_visible()
    await _press(staff, "👁 预览并确认")
    await expect(staff.locator(".msg.in", has_text="确认发送吗").last).to_be_visible()
    await _press(staff, "✅ 确认发送")
    await expect(staff.locator(".msg.in", has_text="已开始发送").last).to_be_visible()
    got = resident.locator(".msg.in", has_text=NOTICE)
    await got.locator(".ikb", has_text="已收到").click()
    await expect(got.locator(".ikb")).to_have_text("✅ 已确认")
    await page.close()


async def play(browser: Browser, sandbox: Sandbox) -> int:
    """Two days of work; returns the id of the appeal with the fullest history."""
    await _to_a_morning(sandbox)
    await _notice(browser, sandbox)
    shown = await _file(sandbox, SHOWN)
    morning = [(story, await _file(sandbox, story)) for story in MORNING]
    await sandbox.advance(timedelta(minutes=40))
    await _staff_act(sandbox, _taker(SHOWN), "accept", shown)
    for story, appeal_id in morning:
        if story.taker:
            await _staff_act(sandbox, _taker(story), "accept", appeal_id)
    await sandbox.advance(timedelta(hours=2))
    assert SHOWN.progress is not None
    await _staff_act(sandbox, _taker(SHOWN), "progress", shown, SHOWN.progress)
    for story, appeal_id in morning:
        if story.progress:
            await _staff_act(sandbox, _taker(story), "progress", appeal_id, story.progress)
    await sandbox.advance(timedelta(hours=3))
    await _staff_act(sandbox, COMMUNITY_STAFF["郑红梅"], "supervise", shown, SHOWN_URGED)
    for story, appeal_id in morning:
        if story.resolve:
            await _staff_act(sandbox, _taker(story), "resolve", appeal_id, story.resolve)
    await sandbox.advance(timedelta(hours=1))
    for story, appeal_id in morning:
        if story.rating:
            await _rate(sandbox, story, appeal_id)
    await _orders(sandbox)
    # Overnight: what nobody took runs past its deadline and goes up a level. The
    # pictures are taken the next morning before the shown appeal's resolve promise.
    played = ORDER_STEP * 4 * sum(1 for order in ORDERS if order[3])
    await sandbox.advance(timedelta(hours=19) - played)
    await _staff_act(sandbox, _taker(SHOWN), "progress", shown, SHOWN_LATER)
    # The next day: the notice's reminder to who has not confirmed, new appeals.
    await sandbox.advance(timedelta(hours=20))
    for story in LATER:
        await _file(sandbox, story)
        await sandbox.advance(timedelta(minutes=25))
    await sandbox.app.delivery.deliver_pending()
    return shown


# --- the pictures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    name: str
    # On the web server: "{appeal}" is the shown appeal's id, "{lang}" the language,
    # "{MP-NH}" and the like a node's id by its code.
    path: str
    # Scroll this element to the top of the viewport first (what lies below the table).
    scroll_to: str | None = None
    devices: tuple[str, ...] = tuple(VIEWPORTS)


NINGHAI, ZHENGYANG = "MP-NH", "MP-NH-ZY"  # the street, and the community of the partners
SHOTS = (
    Shot("queue", "/desk/appeals"),
    Shot("appeal", "/desk/appeals/{appeal}"),
    Shot("ranking", "/desk/ranking?node={MP-NH}"),
    # On a desktop the charts are on the ranking's first screen already.
    Shot("ranking-charts", "/desk/ranking?node={MP-NH}", scroll_to=".charts", devices=("phone",)),
    Shot("heat", "/desk/heat?node={MP-NH}"),
    Shot("wall-screen", "/desk/heat?node={MP-NH}&screen=1"),
    Shot("notices", "/desk/notices"),
    Shot("partners", "/desk/partners?node={MP-NH-ZY}"),
    Shot("council", "/desk/council?node={MP-NH-ZY}"),
    Shot("public", "/public?lang={lang}"),
)


async def _node_ids(sandbox: Sandbox) -> dict[str, str]:
    async with sandbox.app.services() as s:
        found = {code: await s.hierarchy.by_code(code) for code in (NINGHAI, ZHENGYANG)}
    return {code: str(node.id) for code, node in found.items() if node is not None}


async def _set_language(sandbox: Sandbox, user_id: int, language: str) -> None:
    """The desk speaks the language the person chose in the bot."""
    async with sandbox.app.services() as s:
        user = await s.session.get(User, user_id)
        assert user is not None
        user.language = language


def _watch(context: BrowserContext, errors: list[str]) -> None:
    context.on("weberror", lambda error: errors.append(f"page error: {error.error}"))
    context.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )


async def _shoot(page: Page, url: str, shot: Shot, file: Path) -> int:
    answer = await page.goto(url, wait_until="load")
    if answer is None or answer.status != 200:
        raise ShotFailed(f"{url}: HTTP {answer.status if answer else 'no answer'}")
    await page.wait_for_load_state("domcontentloaded")
    if url.split("?")[0].split("/")[3:4] == ["desk"]:
        # Pages follow changes live: shown once their connection is up.
        await expect(page.locator("#live-status")).to_have_attribute("data-live", "1")
    await page.evaluate("document.fonts.ready")
    if shot.scroll_to:
        await page.locator(shot.scroll_to).first.scroll_into_view_if_needed()
        await page.evaluate(
            "(s) => window.scrollTo(0, document.querySelector(s).getBoundingClientRect().top"
            " + window.scrollY - 8)",
            shot.scroll_to,
        )
    await page.wait_for_timeout(300)
    png = await page.screenshot(animations="disabled", caret="hide")
    return _save(png, file)


def _save(png: bytes, file: Path) -> int:
    """Written again with the strongest PNG compression (lossless: a palette would turn
    small coloured marks, such as the live indicator, grey)."""
    Image.open(io.BytesIO(png)).save(file, optimize=True)
    return file.stat().st_size


async def photograph(browser: Browser, sandbox: Sandbox, appeal: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    link = await sandbox.desk_link(DISTRICT_STAFF)
    if link is None:
        raise ShotFailed("林慧 has no desk")
    errors: list[str] = []
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, device_scale_factor=1
    )
    _watch(context, errors)
    page = await context.new_page()
    entered = await page.goto(link)
    if entered is None or entered.status != 200:
        raise ShotFailed(f"the sign-in link: HTTP {entered.status if entered else '-'}")
    base = sandbox.web_url.rstrip("/")
    names = {"appeal": str(appeal), **await _node_ids(sandbox)}
    written: list[Path] = []
    total = 0
    for lang in LANGUAGES:
        await _set_language(sandbox, DISTRICT_STAFF, lang)
        for device, (width, height) in VIEWPORTS.items():
            await page.set_viewport_size({"width": width, "height": height})
            for shot in SHOTS:
                if device not in shot.devices:
                    continue
                file = OUT / f"{shot.name}-{lang}-{device}.png"
                url = base + shot.path.format_map({**names, "lang": lang})
                total += await _shoot(page, url, shot, file)
                if errors:
                    raise ShotFailed(f"{file.name}: " + "; ".join(errors))
                written.append(file)
                print(f"{file.relative_to(ROOT)}  {file.stat().st_size // 1024} KB", flush=True)
    await context.close()
    print(f"{len(written)} screenshots, {total / 1_000_000:.1f} MB in all", flush=True)
    return written


async def main() -> int:
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        print("Chromium not found: apt-get install chromium, or set CHROMIUM_PATH", file=sys.stderr)
        return 1
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            async with Sandbox() as sandbox:
                appeal = await play(browser, sandbox)
                if sandbox.hub.errors:
                    raise ShotFailed(f"the bot failed while playing: {sandbox.hub.errors}")
                await photograph(browser, sandbox, appeal)
        finally:
            await browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
