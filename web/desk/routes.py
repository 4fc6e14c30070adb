"""The desk's own pages: the way in (a one-time link from ``/web``, or the Telegram Mini
App's signed data), the way out, the front door and the live stream. A feature's pages
are its own (``web/<feature>/``) and use the same machinery (``web.desk.session``)."""

from __future__ import annotations

from datetime import UTC

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from bot.registry import Face
from storage.desk import DeskAuth, Opened, SignInProblem
from storage.services import Services
from web.desk.live import live
from web.desk.session import (
    COOKIE,
    DESK,
    Desk,
    app_of,
    browser_texts,
    desk_page,
    message_page,
    resident_page,
    see_other,
    set_session_cookie,
    signed_in,
)
from web.desk.texts import texts_for
from web.templates import render

routes = web.RouteTableDef()

# Statuses of the refusal pages: a link that can never work again is gone (410).
_STATUS = {
    SignInProblem.UNKNOWN: 404,
    SignInProblem.USED: 410,
    SignInProblem.EXPIRED: 410,
    SignInProblem.STALE: 401,
    SignInProblem.FORGED: 401,
}


def home_path(request: web.Request) -> str:
    """Where a signed-in person lands: the first page of the navigation."""
    nav = app_of(request).registry.web_nav(Face.DESK)
    return DESK + nav[0].path if nav else DESK + "/"


@routes.get("/")
@desk_page
async def front_door(desk: Desk) -> web.StreamResponse:
    return see_other(home_path(desk.request))


@routes.get("/signin/{token}")
async def signin_page(request: web.Request) -> web.Response:
    """The link from the chat. Opening it changes nothing: a link preview or a scanner
    fetching it must not use it up. The page posts it (desk.js does at once; without
    scripts, a button does)."""
    t = browser_texts(request)
    return render(
        "desk/signin.html",
        {"t": t, "lang": t.language, "desk": DESK, "token": request.match_info["token"]},
    )


@routes.post("/signin")
async def signin(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = form.get("token")
    app = app_of(request)
    async with app.services() as services:
        opened = await services.get(DeskAuth).redeem_link(token if isinstance(token, str) else "")
        return await _enter(request, services, opened, "link")


@routes.get("/app")
async def miniapp_page(request: web.Request) -> web.Response:
    """The Mini App's address: Telegram opens it with its signed data after ``#``, which
    never reaches a server; desk.js posts it."""
    t = browser_texts(request)
    return render("desk/app.html", {"t": t, "lang": t.language, "desk": DESK})


@routes.post("/app/signin")
async def miniapp_signin(request: web.Request) -> web.StreamResponse:
    """The Mini App's data checked with the bot's token (aiogram compares the signature
    in constant time) and refused when Telegram signed it too long ago."""
    form = await request.post()
    raw = form.get("init_data")
    app = app_of(request)
    async with app.services() as services:
        auth = services.get(DeskAuth)
        opened: Opened | SignInProblem
        try:
            data = safe_parse_webapp_init_data(app.bot.token, raw if isinstance(raw, str) else "")
        except ValueError:
            opened = SignInProblem.FORGED
        else:
            signed = data.auth_date.astimezone(UTC)
            age = auth.now() - signed
            if data.user is None:
                opened = SignInProblem.FORGED
            elif age > auth.policy.miniapp_max_age or age.total_seconds() < -60:
                opened = SignInProblem.STALE
            else:
                opened = await auth.open(data.user.id, via="miniapp")
        return await _enter(request, services, opened, "miniapp")


async def _enter(
    request: web.Request, services: Services, opened: Opened | SignInProblem, via: str
) -> web.StreamResponse:
    app = app_of(request)
    if isinstance(opened, SignInProblem):
        return message_page(
            browser_texts(request),
            f"desk.signin.{opened.value}",
            status=_STATUS[opened],
            hint=True,
        )
    user_id = opened.session.user_id
    person = await services.users.get(user_id)
    t = texts_for(person, app.settings.default_language)
    staffing = await services.staff.staffing(user_id, config_admins=app.settings.admin_ids)
    if not staffing.is_staff:
        # Residents have no desk: nothing of theirs stays open.
        await services.get(DeskAuth).end(opened.session, "resident")
        return resident_page(app, t, framed=via == "miniapp")
    await signed_in(services, opened, via)
    response = see_other(home_path(request))
    set_session_cookie(response, app, opened)
    return response


@routes.post("/signout")
@desk_page
async def signout(desk: Desk) -> web.StreamResponse:
    await desk.services.get(DeskAuth).end(desk.row, "signout")
    await desk.audit("desk.sign_out", "user", desk.user_id)
    return message_page(desk.t, "desk.signed_out", status=200, clear_cookie=True)


routes.get("/live")(live)

__all__ = ["COOKIE", "routes"]
