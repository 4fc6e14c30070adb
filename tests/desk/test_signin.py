"""Signing in to the desk without passwords: /web gives a one-time link valid five
minutes; opening it sets an HttpOnly, SameSite=Lax session cookie for twelve hours,
kept in the database; a used, expired or forged link gets a page saying what to do;
退出 ends the session; revoking the role ends every session at once; residents have no
desk; the Mini App's data is checked with the bot's token and refused when stale."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings, load_settings
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.desk import DeskPolicy, DeskSession
from storage.roles import Role, RoleAssignment
from tests.conftest import TOKEN
from tests.desk.client import DeskBrowser, init_data, link_for, signed_in
from tests.harness import Harness, World
from web.server import build_web_app


def _link_in_chat(harness: Harness, person: EmulatedUser) -> str:
    buttons = [b for row in harness.emu.chat(person.id).inline_buttons() for b in row]
    urls = [url for text, url in buttons if url and "/desk/signin/" in url]
    assert urls, harness.emu.chat(person.id).transcript()
    return urls[-1]


async def _audit(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.app.services() as s:
        rows = await s.session.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.scalars())


async def test_web_gives_a_link_that_signs_in_once(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    await harness.command(staff, "web")
    assert "5 分钟" in harness.last_text(staff)
    link = _link_in_chat(harness, staff)
    assert link.startswith(harness.app.settings.web_url + "/desk/signin/")
    assert harness.emu.errors == []

    browser = DeskBrowser(server)
    # Opening the page uses nothing up: a link preview fetching it signs nobody in.
    assert (await browser.get(urlsplit(link).path)).status == 200
    entered = await browser.open_link(link)
    assert entered.status == 303 and entered.location == "/desk/appeals"
    cookie = entered.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/desk" in cookie
    assert "Max-Age=43200" in cookie and "Secure" not in cookie  # http here
    queue = await browser.get("/desk/appeals")
    assert queue.status == 200 and queue.has("郑红梅")
    assert [e.details["via"] for e in await _audit(harness, "desk.sign_in")] == ["link"]

    again = DeskBrowser(server)
    used = await again.open_link(link)
    assert used.status == 410 and used.has("只能用一次") and used.has("/web")
    assert again.cookie() is None
    await browser.close()
    await again.close()


async def test_an_expired_a_retired_and_a_forged_link_say_what_to_do(
    harness: Harness, world: World, server: TestServer, wall: ManualClock
) -> None:
    staff = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    browser = DeskBrowser(server)
    old = await link_for(harness, staff)
    wall.advance(timedelta(minutes=5, seconds=1))
    expired = await browser.open_link(old)
    assert expired.status == 410 and expired.has("5 分钟") and expired.has("/web")

    first = await link_for(harness, staff)
    newer = await link_for(harness, staff)  # 🔄: only the newest link works
    assert (await browser.open_link(first)).status == 410
    forged = await browser.open_link(newer[:-4] + "AAAA")
    assert forged.status == 404 and forged.has("不正确")
    assert browser.cookie() is None
    assert (await browser.open_link(newer)).status == 303
    await browser.close()


async def test_the_menu_entry_gives_the_link_and_renewing_retires_the_previous_one(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    await harness.command(resident, "menu")
    assert not harness.has_button(resident, "desk.menu")
    await harness.command(staff, "menu")
    await harness.press_key(staff, "desk.menu")  # 🖥 指挥台 in the main menu
    first = _link_in_chat(harness, staff)
    await harness.press_key(staff, "desk.link.renew")
    second = _link_in_chat(harness, staff)
    assert second != first
    browser = DeskBrowser(server)
    assert (await browser.open_link(first)).status == 410
    assert (await browser.open_link(second)).status == 303
    assert harness.emu.errors == []
    await browser.close()


async def test_residents_have_no_desk(harness: Harness, world: World, server: TestServer) -> None:
    resident = await world.resident("王秀英")
    await harness.command(resident, "web")
    assert harness.last_text(resident) == harness.label(resident, "desk.link.residents")
    assert not [b for row in harness.emu.chat(resident.id).inline_buttons() for b in row]
    # A link made for them anyway opens nothing.
    browser = DeskBrowser(server)
    refused = await browser.open_link(await link_for(harness, resident))
    assert refused.status == 403 and refused.has("居民没有指挥台")
    assert browser.cookie() is None
    assert (await browser.get("/desk/appeals")).status == 401
    await browser.close()


async def test_signing_out_ends_the_session_and_needs_the_csrf_token(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    browser = await signed_in(harness, server, staff)
    forged = await browser.post("/desk/signout", csrf=False)
    assert forged.status == 403 and forged.has("页面已过期")
    assert (await browser.get("/desk/appeals")).status == 200  # still signed in
    wrong = await browser.post("/desk/signout", {"csrf": "not-the-token"})
    assert wrong.status == 403
    out = await browser.post("/desk/signout")
    assert out.status == 200 and out.has("已退出")
    assert browser.cookie() is None
    back = await browser.get("/desk/appeals")
    assert back.status == 401 and back.has("/web")
    async with harness.app.services() as s:
        row = (await s.session.execute(select(DeskSession))).scalar_one()
        assert row.ended_why == "signout"
    await browser.close()


async def test_the_session_is_in_the_database_and_lasts_twelve_hours(
    harness: Harness, world: World, server: TestServer, wall: ManualClock
) -> None:
    staff = await world.staff(Role.STREET_STAFF, world.tree.street)
    browser = await signed_in(harness, server, staff)
    cookie = browser.cookie()
    assert cookie is not None
    async with harness.app.services() as s:
        stored = (await s.session.execute(select(DeskSession))).scalar_one()
        assert cookie not in (stored.token_hash, stored.csrf)  # only its hash is kept
    wall.advance(timedelta(hours=11, minutes=59))
    assert (await browser.get("/desk/appeals")).status == 200
    wall.advance(timedelta(minutes=2))
    assert (await browser.get("/desk/appeals")).status == 401
    await browser.close()


async def test_revoking_the_role_ends_every_session_at_once(
    harness: Harness, world: World, server: TestServer
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    laptop = await signed_in(harness, server, staff)
    phone = await signed_in(harness, server, staff)
    async with harness.app.services() as s:
        assignment = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == staff.id)
            )
        ).scalar_one()
        assert await s.staff.revoke(assignment, by=1, now=s.now())
    refused = await laptop.get("/desk/appeals")
    assert refused.status == 403 and refused.has("已被撤销")
    assert (await phone.get("/desk/appeals")).status == 401  # ended with the other
    async with harness.app.services() as s:
        rows = (await s.session.execute(select(DeskSession))).scalars().all()
        assert [r.ended_why for r in rows] == ["revoked", "revoked"]
    await laptop.close()
    await phone.close()


async def test_the_mini_app_signs_in_with_fresh_data_signed_for_this_bot(
    harness: Harness, world: World, server: TestServer, wall: ManualClock
) -> None:
    staff = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    resident = await world.resident("王秀英")
    me = {"id": staff.id, "first_name": "郑红梅"}
    page = DeskBrowser(server)
    assert (await page.get("/desk/app")).status == 200

    fresh = init_data(TOKEN, me, wall.now() - timedelta(minutes=59))
    entered = await page.post("/desk/app/signin", {"init_data": fresh}, csrf=False)
    assert entered.status == 303 and entered.location == "/desk/appeals"
    assert (await page.get("/desk/appeals")).status == 200
    assert [e.details["via"] for e in await _audit(harness, "desk.sign_in")] == ["miniapp"]

    stale = DeskBrowser(server)
    old = init_data(TOKEN, me, wall.now() - timedelta(hours=1, seconds=1))
    refused = await stale.post("/desk/app/signin", {"init_data": old}, csrf=False)
    assert refused.status == 401 and refused.has("超过 1 小时")
    assert stale.cookie() is None

    forged = DeskBrowser(server)
    other_bot = init_data("654321:OTHER-bot", me, wall.now())
    tampered = fresh.replace(str(staff.id), str(staff.id + 1))
    for data in (other_bot, tampered, "", "user=%7B%7D&hash=00"):
        answer = await forged.post("/desk/app/signin", {"init_data": data}, csrf=False)
        assert answer.status == 401 and answer.has("无法验证"), data
    assert forged.cookie() is None

    residents = DeskBrowser(server)
    theirs = init_data(TOKEN, {"id": resident.id, "first_name": "王秀英"}, wall.now())
    answer = await residents.post("/desk/app/signin", {"init_data": theirs}, csrf=False)
    assert answer.status == 403 and residents.cookie() is None
    for browser in (page, stale, forged, residents):
        await browser.close()


async def test_over_https_the_cookie_is_secure_and_the_chat_offers_the_mini_app(
    emu: BotAPIEmulator,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    wall: ManualClock,
) -> None:
    https = load_settings(**{**settings.model_dump(), "web_base_url": "https://desk.example.org"})
    app = bootstrap(https, sessionmaker, clock=clock, config=[DeskPolicy(clock=wall)])
    harness = Harness(emu, app)
    world = await World.build(harness)
    served = TestServer(build_web_app(app))
    await served.start_server()
    try:
        staff = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
        await harness.command(staff, "web")
        message = harness.last(staff)
        rows = message.raw["reply_markup"]["inline_keyboard"]
        web_apps = [b["web_app"]["url"] for row in rows for b in row if "web_app" in b]
        assert web_apps == ["https://desk.example.org/desk/app"]
        assert harness.emu.errors == []

        browser = DeskBrowser(served)
        entered = await browser.open_link(_link_in_chat(harness, staff))
        assert "Secure" in entered.headers["Set-Cookie"]
        assert "SameSite=Lax" in entered.headers["Set-Cookie"]
        await browser.close()
        # In the Mini App (framed by Telegram's web client) a Lax cookie would never be
        # sent: there it is SameSite=None, partitioned.
        framed = DeskBrowser(served)
        data = init_data(TOKEN, {"id": staff.id, "first_name": "赵丽娟"}, wall.now())
        answer = await framed.post("/desk/app/signin", {"init_data": data}, csrf=False)
        cookie = answer.headers["Set-Cookie"]
        assert answer.status == 303
        assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
        await framed.close()
    finally:
        await served.close()
        await app.bot.session.close()


async def test_over_http_the_chat_has_no_mini_app_button(harness: Harness, world: World) -> None:
    staff = await world.staff(Role.WORKER, world.tree.grid)
    await harness.command(staff, "web")
    rows = harness.last(staff).raw["reply_markup"]["inline_keyboard"]
    assert not [b for row in rows for b in row if "web_app" in b]
    # Telegram opens Mini Apps only from https: the emulator refuses anything else.
    assert harness.emu.errors == []
