"""Who is at the desk. Every request reads the session cookie, then the person's grants
afresh (revoking a role ends their sessions on their next request, whichever process
serves it), and every state-changing request must carry the session's CSRF token. Pages
are rendered in the desk's layout in the person's language."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import hdrs, web
from multidict import MultiDictProxy

from bot.app import App
from bot.kit.roles import role_name
from bot.registry import Face
from storage.desk import DeskAuth, DeskSession, Opened
from storage.roles import Staffing
from storage.services import Services
from storage.users import User
from web.desk.texts import PageTexts, texts_for, texts_for_browser
from web.server import APP_KEY, PREFIXES
from web.templates import render

COOKIE = "gridbot_desk"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
DESK = PREFIXES[Face.DESK]
PUBLIC = PREFIXES[Face.PUBLIC]

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


@dataclass
class Desk:
    """One request of a signed-in staff member: their row, grants and language, the
    unit of work (committed when the handler returns), and the page helpers."""

    request: web.Request
    app: App
    services: Services
    person: User | None
    staffing: Staffing
    row: DeskSession
    t: PageTexts
    form: Form | None = field(default=None)

    @property
    def user_id(self) -> int:
        return self.row.user_id

    def now(self) -> datetime:
        """The domain's clock (promises, deadlines), as the chat reads it."""
        return self.services.now()

    @property
    def zone(self) -> ZoneInfo:
        return self.app.settings.zone

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def layout(self) -> dict[str, Any]:
        t = self.t
        path = self.request.path
        nav = [
            {
                "href": DESK + entry.path,
                "label": t(entry.label),
                "active": path == DESK + entry.path or path.startswith(DESK + entry.path + "/"),
            }
            for entry in self.app.registry.web_nav(Face.DESK)
        ]
        roles = [
            t(
                "roles.line",
                role=role_name(g.role, t.translator),
                where=g.node.name if g.node else t.plain("roles.everywhere"),
            )
            for g in self.staffing.grants
        ]
        return {
            "t": t,
            "lang": t.language,
            "csrf": self.row.csrf,
            "desk": DESK,
            "nav": nav,
            "person": self.person.display_name if self.person else str(self.user_id),
            "roles": roles,
            "live": "",  # the stream's query: what of the page it pushes (``web.desk.live``)
        }

    def render(self, template: str, *, status: int = 200, **context: Any) -> web.Response:
        return render(template, {**self.layout(), **context}, status=status)

    async def audit(
        self, action: str, object_type: str, object_id: int | str, **details: Any
    ) -> None:
        await self.services.audit.record(
            actor_id=self.user_id,
            action=action,
            at=self.services.now(),
            object_type=object_type,
            object_id=object_id,
            via="desk",
            **details,
        )


def app_of(request: web.Request) -> App:
    return request.config_dict[APP_KEY]


def message_page(
    t: PageTexts,
    key: str,
    *,
    status: int,
    clear_cookie: bool = False,
    hint: bool = False,
    public: str | None = None,
    **values: Any,
) -> web.Response:
    """A page of its own with no navigation: signed out, refused, a link that failed.
    ``key`` names ``<key>.title`` and ``<key>.body``; ``hint`` adds how to sign in,
    ``public`` a link to the public page."""
    response = render(
        "desk/message.html",
        {
            "t": t,
            "lang": t.language,
            "key": key,
            "values": values,
            "desk": DESK,
            "hint": hint,
            "public": public,
        },
        status=status,
    )
    if clear_cookie:
        response.del_cookie(COOKIE, path=DESK)
    return response


def resident_page(
    app: App, t: PageTexts, *, clear_cookie: bool = False, framed: bool = False
) -> web.Response:
    """Residents have no desk: the public page when it is served, else a page saying so.
    Inside Telegram's web client (``framed``, the Mini App) the public page may not be
    framed: the refusal links it for a tab of its own."""
    public = f"{PUBLIC}?lang={t.language}"
    if not app.settings.public_page or framed:
        return message_page(
            t,
            "desk.refused.resident",
            status=403,
            clear_cookie=clear_cookie,
            public=public if app.settings.public_page else None,
        )
    response = see_other(public)
    if clear_cookie:
        response.del_cookie(COOKIE, path=DESK)
    return response


def browser_texts(request: web.Request) -> PageTexts:
    return texts_for_browser(
        request.headers.get("Accept-Language"), app_of(request).settings.default_language
    )


async def open_desk(request: web.Request, services: Services) -> Desk | web.Response:
    """The desk of whoever sent ``request``, or the page refusing them."""
    app = app_of(request)
    token = request.cookies.get(COOKIE)
    auth = services.get(DeskAuth)
    row = await auth.session_of(token)
    if row is None:
        return message_page(
            browser_texts(request),
            "desk.refused.signed_out",
            status=401,
            clear_cookie=bool(token),
            hint=True,
        )
    staffing = await services.staff.staffing(row.user_id, config_admins=app.settings.admin_ids)
    person = await services.users.get(row.user_id)
    t = texts_for(person, app.settings.default_language)
    if not staffing.is_staff:
        # Not (or no longer) staff: this session and every other of theirs ends now.
        await auth.end_all(row.user_id, "revoked")
        await services.audit.record(
            actor_id=row.user_id,
            action="desk.session_revoked",
            at=services.now(),
            object_type="user",
            object_id=row.user_id,
        )
        if await auth.was_staff(row.user_id):
            return message_page(t, "desk.refused.revoked", status=403, clear_cookie=True)
        return resident_page(app, t, clear_cookie=True)
    return Desk(request, app, services, person, staffing, row, t)


def _csrf_ok(desk: Desk, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), desk.row.csrf.encode())


Page = Callable[[Desk], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def desk_unit(request: web.Request) -> AsyncIterator[Desk | web.Response]:
    """The signed-in desk of ``request`` (or the page refusing it) inside one unit of
    work, committed when the block ends; a state-changing request without the session's
    CSRF token is refused here."""
    async with app_of(request).services() as services:
        desk = await open_desk(request, services)
        if isinstance(desk, Desk) and request.method not in ("GET", "HEAD"):
            form = desk.form = await request.post()
            sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
            if not _csrf_ok(desk, sent if isinstance(sent, str) else None):
                yield message_page(desk.t, "desk.refused.csrf", status=403)
                return
        yield desk


def desk_page(handler: Page) -> Handler:
    """A desk page or action: ``handler`` runs only for a signed-in staff member (and,
    for a POST, with a valid CSRF token); its unit of work is committed after it."""

    async def page(request: web.Request) -> web.StreamResponse:
        async with desk_unit(request) as desk:
            if not isinstance(desk, Desk):
                return desk
            return await handler(desk)

    return page


def see_other(location: str) -> web.Response:
    """The answer to a form: go and GET ``location`` (the back button never re-posts)."""
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(response: web.StreamResponse, app: App, opened: Opened) -> None:
    """HttpOnly, only sent to the desk's paths, Secure when the desk is served over
    https. A Mini App opened in Telegram's web client runs in a frame, where a Lax
    cookie is never sent: there (https only) it is SameSite=None and partitioned.
    Written by hand: Python's cookie module knows no Partitioned before 3.14."""
    secure = app.settings.web_url.startswith("https://")
    framed = opened.session.via == "miniapp" and secure
    lifetime = int((opened.session.expires_at - opened.session.created_at).total_seconds())
    parts = [f"{COOKIE}={opened.token}", f"Path={DESK}", f"Max-Age={lifetime}", "HttpOnly"]
    parts += ["SameSite=None", "Secure", "Partitioned"] if framed else ["SameSite=Lax"]
    if secure and not framed:
        parts.append("Secure")
    response.headers.add(hdrs.SET_COOKIE, "; ".join(parts))


async def signed_in(services: Services, opened: Opened, via: str) -> None:
    await services.audit.record(
        actor_id=opened.session.user_id,
        action="desk.sign_in",
        at=services.now(),
        object_type="user",
        object_id=opened.session.user_id,
        via=via,
    )
