"""The public page: the district's ranking of its streets (a street's of its
communities) with the figures the desk and /stats show for the month, the appeals filed
and resolved, and resolved appeals as examples that name no person, phone, building or
chat id; 404 when PUBLIC_PAGE is off; residents opening a desk link land on it."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from emulator import BotAPIEmulator
from sandbox import Sandbox
from storage.appeals.kpi import node_kpis
from storage.appeals.models import Draft
from storage.appeals.policy import AppealPolicy
from storage.appeals.public import mask
from storage.appeals.service import AppealService
from storage.clock import ManualClock
from storage.demo import DEMO_PERSONAS, seed_demo
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.roles import Role, StaffRepo
from tests.appeals.test_kpi import NOW, build_appeals
from tests.conftest import ADMIN_ID, BOT_USERNAME, TOKEN
from tests.desk.client import DeskBrowser, Page, init_data, link_for, signed_in
from tests.desk.test_ranking import expected
from tests.desk.test_ranking import table as desk_table
from tests.harness import Harness, World
from web.server import build_web_app

_ROW = re.compile(r'<tr data-node="(\d+)"[^>]*>(.*?)</tr>', re.S)
_CELL = re.compile(r'<td class="fig ?\w*" data-measure="(\w+)" data-value="([^"]*)"')
_COUNT = re.compile(r'<td class="num" data-count="(\w+)">(\d+)</td>')


@pytest.fixture
def settings(emu: BotAPIEmulator) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        telegram_api_url=emu.base_url,
        admin_ids=[ADMIN_ID],
        bot_username=BOT_USERNAME,
        public_page=True,
    )


def rows(page: Page) -> dict[int, tuple[dict[str, str], dict[str, int]]]:
    """Each row's figures and counts by node id (the total under the node's own id)."""
    return {
        int(node_id): (dict(_CELL.findall(body)), {k: int(v) for k, v in _COUNT.findall(body)})
        for node_id, body in _ROW.findall(page.text)
    }


async def test_the_public_ranking_has_the_desks_and_stats_figures(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    public = DeskBrowser(server)
    district = await public.get("/public?month=2026-11")
    assert district.status == 200, district.text[:500]
    assert district.has("牟平区 · 2026年11月 诉求办理情况")
    assert district.headers["Cache-Control"] == "public, max-age=60"
    assert "frame-ancestors 'none'" in district.headers["Content-Security-Policy"]
    assert "<script>" not in district.text and "style=" not in district.text
    street = await public.get(f"/public?node={tree.street.id}&month=2026-11")
    assert street.status == 200
    # A street opens its communities' ranking from the district's page.
    assert f'href="/public?node={tree.street.id}&amp;month=2026-11&amp;lang=zh"' in district.text

    async with harness.app.services() as s:
        for page, node in ((district, tree.district), (street, tree.street)):
            fresh = await HierarchyRepo(s.session).get(node.id)
            assert fresh is not None
            kpis = await node_kpis(s.session, fresh, "2026-11", now=NOW, zone="Asia/Shanghai")
            shown = rows(page)
            assert set(shown) == {f.node_id for f in (*kpis.children, kpis.node)}
            for f in (*kpis.children, kpis.node):
                figures, counts = shown[f.node_id]
                assert figures == expected(f), f.name
                assert counts == {"filed": f.filed, "resolved": f.resolved}, f.name
            assert kpis.node.filed > 0 and kpis.node.resolved > 0

    # The desk's ranking of the same street and month shows the same figures.
    world = World(harness, tree)
    staff = await world.staff(Role.DISTRICT_STAFF, tree.district, "林慧")
    desk = await signed_in(harness, server, staff)
    desk_page = await desk.get(f"/desk/ranking?node={tree.street.id}&month=2026-11")
    on_desk = {r.node_id: {m: c.value for m, c in r.cells.items()} for r in desk_table(desk_page)}
    shown = rows(street)
    for community in (tree.community, tree.other_community):
        assert shown[community.id][0] == on_desk[community.id]

    # The chat's /stats of the district for the month, read from its caption.
    await harness.command(staff, "stats")
    await harness.press(staff, "◀ 2026年11月")
    caption = harness.last(staff).caption or ""
    total, counts = rows(district)[tree.district.id]
    assert f"响应率 {total['response']}（" in caption, caption
    assert f"办结率 {total['resolution']}（" in caption
    assert f"按时办结率 {total['on_time']}（" in caption
    assert f"满意率 {total['satisfaction']}（" in caption
    assert f"重办率 {total['reopen']}（" in caption
    assert f"超时 {total['late']} 件" in caption

    # Communities, grids, buildings and junk are not public areas.
    for junk in (tree.community.id, tree.grid.id, tree.building.id, "x", "²", 0, 2**40):
        assert (await public.get(f"/public?node={junk}")).status == 404


async def test_no_public_page_when_public_page_is_off(
    harness: Harness, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await build_appeals(sessionmaker, clock)
    harness.app.settings = load_settings(
        **{**harness.app.settings.model_dump(), "public_page": False}
    )
    served = TestServer(build_web_app(harness.app))
    await served.start_server()
    browser = DeskBrowser(served)
    try:
        assert (await browser.get("/public")).status == 404
        assert (await browser.get("/public/")).status == 404
        assert (await browser.get("/public?lang=en")).status == 404
    finally:
        await browser.close()
        await served.close()


# What the demo's residents write: their own name and phone, a neighbour's, the worker's
# name, their building and flat. (resident, text, anonymous)
WORDS = (
    ("王秀英", "我是王秀英，1号楼楼道灯坏了，电话13800000001，找赵丽娟也行", False),
    ("李建国", "5号楼3单元501室门口堆满杂物，联系 138-0000-0002 李建国", False),
    ("张桂兰", "王秀英家楼上漏水，请回电 +86 138 0000 0003", True),
    ("刘志强", "路灯不亮了，晚上很黑，孙海涛说会来看", False),
    ("陈淑珍", "6号楼下水道堵了。陈淑珍 +8613800000005", True),
    ("杨明", "垃圾桶满了没人清，杨明 13800000006", False),
)


async def _demo(harness: Harness, clock: ManualClock) -> dict[str, Node]:
    """The demo district, each resident of ``WORDS`` filing, their grid's staff resolving
    all but the last one. Returns the demo's nodes by code."""
    async with harness.app.services() as s:
        await seed_demo(s.session, clock.now())
    personas = {p.name: p for p in DEMO_PERSONAS}
    async with harness.app.services() as s:
        nodes = {n.code: n for n in await HierarchyRepo(s.session).of_kind(NodeKind.BUILDING)}
        nodes |= {n.code: n for n in await HierarchyRepo(s.session).of_kind(NodeKind.DISTRICT)}
        nodes |= {n.code: n for n in await HierarchyRepo(s.session).of_kind(NodeKind.STREET)}
    policy = AppealPolicy()
    for i, (name, text, anonymous) in enumerate(WORDS):
        persona = personas[name]
        assert persona.building_code is not None
        building = nodes[persona.building_code]
        async with harness.app.services() as s:
            now = clock.now()
            appeal = await AppealService(s.session, policy, now).file(
                persona.user_id,
                building,
                Draft(category="sanitation", text=text, anonymous=anonymous),
            )
            # Resolved by a community's staff: the demo has workers in two communities only.
            community_id = appeal.community_id
            staff_id = 9_500_000 + community_id
            await StaffRepo(s.session).grant(
                user_id=staff_id,
                role=Role.COMMUNITY_STAFF,
                node=await HierarchyRepo(s.session).get(community_id),
                granted_by=None,
                now=now,
            )
        if i == len(WORDS) - 1:
            continue
        async with harness.app.services() as s:
            staffing = await StaffRepo(s.session).staffing(staff_id)
            service = AppealService(s.session, policy, clock.now() + timedelta(hours=1))
            await service.accept(appeal.id, staffing)
            await service.resolve(appeal.id, staffing, "已处理")
    return nodes


def forbidden() -> list[str]:
    """Every demo person's name, phone (as stored and as dialled at home), building
    (name and code) and Telegram id."""
    out: list[str] = []
    for p in DEMO_PERSONAS:
        out += [p.name, str(p.user_id)]
        if p.phone:
            out += [p.phone, p.phone.removeprefix("+86")]
        if p.building_code:
            out.append(p.building_code)
            number = p.building_code.rsplit("-B", 1)[1]
            out.append(f"{number}号楼")
    return out


async def test_the_examples_name_no_demo_person_phone_building_or_id(
    harness: Harness, server: TestServer, clock: ManualClock
) -> None:
    nodes = await _demo(harness, clock)
    public = DeskBrowser(server)
    pages = []
    for node in ("MP", "MP-NH", "MP-WH"):
        for lang in ("zh", "en"):
            page = await public.get(f"/public?node={nodes[node].id}&lang={lang}")
            assert page.status == 200, page.text[:300]
            pages.append(page)
    for page in pages:
        for word in forbidden():
            assert not page.has(word), word
    district = pages[0]
    # The resident's words, masked; an anonymous resident's never.
    assert district.has("我是***，***楼道灯坏了，电话***，找***也行")
    assert district.has("***门口堆满杂物，联系 *** ***")
    assert district.has("路灯不亮了，晚上很黑，***说会来看")
    assert not district.has("漏水") and not district.has("下水道")
    assert district.text.count('class="hint words-withheld"') == 2
    # Five resolved of six filed; the unresolved one is no example.
    figures = rows(district)[nodes["MP"].id][1]
    assert figures == {"filed": 6, "resolved": 5}
    assert not district.has("垃圾桶")
    assert district.text.count('<li class="example">') == 5
    assert district.has("宁海街道 · 通海社区") and district.has("文化街道 · 文化社区")


def test_mask_hides_phones_names_and_house_numbers() -> None:
    assert mask("call 010-8888 6666 or (0535)1234567", []) == "call *** or ***"
    assert mask("Zhang San lives at 3号楼2单元", ["Zhang San", "Zhang"]) == "*** lives at ***"
    assert mask("12月3日修好了，花了 200 元", ["王"]) == "12月3日修好了，花了 200 元"


_CJK_PUNCTUATION = re.compile(r"[，。：；！？（）【】「」、“”‘’《》]")


async def test_english_page_has_ascii_punctuation(
    harness: Harness, server: TestServer, clock: ManualClock
) -> None:
    clock_nodes = await _demo(harness, clock)
    public = DeskBrowser(server)
    for query in ("?lang=en", f"?node={clock_nodes['MP-NH'].id}&lang=en"):
        page = await public.get("/public" + query)
        assert page.status == 200
        assert page.has("appeals in") and page.has("Resolved appeals (personal details removed)")
        # Residents' words stay as they wrote them; every text of the page is English.
        ours = re.sub(r"<blockquote.*?</blockquote>", "", page.text, flags=re.S)
        assert not _CJK_PUNCTUATION.search(ours), _CJK_PUNCTUATION.findall(ours)
    # The browser's language chooses when the link does not.
    english = await public.get("/public", **{"Accept-Language": "en-GB,en;q=0.9"})
    assert english.has("Resolved appeals")
    chinese = await public.get("/public")
    assert chinese.has("已办结的诉求")


async def test_a_resident_opening_a_desk_link_gets_the_public_page(
    harness: Harness, world: World, server: TestServer, wall: ManualClock
) -> None:
    resident = await world.resident("王秀英")
    browser = DeskBrowser(server)
    entered = await browser.open_link(await link_for(harness, resident))
    assert entered.status == 303 and entered.location == "/public?lang=zh"
    assert browser.cookie() is None
    landed = await browser.get(entered.location)
    assert landed.status == 200 and landed.has("诉求办理情况")

    # In the Mini App (framed by Telegram's web client, where the public page may not
    # be) the refusal links it for a tab of its own.
    framed = DeskBrowser(server)
    data = init_data(TOKEN, {"id": resident.id, "first_name": "王秀英"}, wall.now())
    answer = await framed.post("/desk/app/signin", {"init_data": data}, csrf=False)
    assert answer.status == 403 and answer.has("居民没有指挥台")
    assert '<a href="/public?lang=zh" target="_blank"' in answer.text
    assert framed.cookie() is None


async def test_the_sandbox_links_its_public_page() -> None:
    async with Sandbox() as sandbox, aiohttp.ClientSession(base_url=sandbox.url) as http:
        async with http.get("/api/state") as answer:
            url = (await answer.json())["public_url"]
        assert url == sandbox.web_url.rstrip("/") + "/public"
        browser = DeskBrowser(sandbox.web_url)
        try:
            page = await browser.get("/public")
            assert page.status == 200 and page.has("烟台市牟平区")
            for word in forbidden():
                assert not page.has(word), word
        finally:
            await browser.close()


async def test_a_callers_words_from_another_channel_stay_with_the_staff(
    harness: Harness, server: TestServer, clock: ManualClock
) -> None:
    nodes = await _demo(harness, clock)
    policy = AppealPolicy()
    async with harness.app.services() as s:
        building = nodes["MP-NH-TH-G1-B1"]
        appeal = await AppealService(s.session, policy, clock.now()).file(
            None, building, Draft(category="sanitation", text="热线来电：井盖丢了"), channel="12345"
        )
    async with harness.app.services() as s:
        staffing = await StaffRepo(s.session).staffing(9_500_000 + appeal.community_id)
        service = AppealService(s.session, policy, clock.now() + timedelta(hours=1))
        await service.accept(appeal.id, staffing)
        await service.resolve(appeal.id, staffing, "已处理")
    page = await DeskBrowser(server).get("/public")
    assert page.text.count('<li class="example">') == 6
    assert not page.has("井盖") and page.text.count('class="hint words-withheld"') == 3


async def test_in_a_browser_the_public_page_shows_no_personal_data(
    harness: Harness, server: TestServer, clock: ManualClock, browser: Browser
) -> None:
    await _demo(harness, clock)
    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    # Breaking the page's CSP (an inline script or style) logs an error.
    context.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page = await context.new_page()
    await page.goto(str(server.make_url("/public")))
    await expect(page.locator("h1")).to_contain_text("诉求办理情况")
    await expect(page.locator("li.example")).to_have_count(5)
    for text in (await page.locator("body").inner_text(), await page.content()):
        for word in forbidden():
            assert word not in text, word
    await page.locator("td.name a", has_text="宁海街道").click()
    await expect(page.locator("h1")).to_contain_text("宁海街道")
    await expect(page.locator("td.name", has_text="通海社区")).to_be_visible()
    await page.locator("a.lang").click()
    await expect(page.locator("h1")).to_contain_text("appeals in 11/2026")
    assert errors == [], errors
    await context.close()
