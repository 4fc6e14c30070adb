"""Mounting the web faces on an aiohttp application.

One root application serves everything a process exposes over HTTP: Telegram's webhook
(when set), the static files, and one sub-application per face (``Face``), each under its
prefix with the headers that face needs. The same function mounts them on the webhook's
application, on the polling server (``WEB_PORT``) and on the sandbox's own server, so all
three serve the same pages. Nothing here keeps state another process would need."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.app import App
from bot.config import ConfigError
from bot.registry import Face

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ASSETS_PREFIX = "/assets"

APP_KEY = web.AppKey("gridbot.app", App)

PREFIXES: dict[Face, str] = {
    Face.DESK: "/desk",
    Face.PUBLIC: "/public",
    Face.OPEN311: "/open311/v2",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Pages load scripts and styles from this server only (htmx is shipped in web/static):
# no inline script, no CDN. The desk opens inside Telegram as a Mini App, so Telegram's
# web clients may frame it; nobody else may.
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)
_TELEGRAM_FRAMES = "https://web.telegram.org https://*.telegram.org"


@dataclass(frozen=True)
class FaceHeaders:
    csp_ancestors: str | None  # None: not a page (an API answering JSON or XML)
    cache: str


FACE_HEADERS: dict[Face, FaceHeaders] = {
    # Every desk page may carry personal data: never stored by a browser or a proxy.
    Face.DESK: FaceHeaders(_TELEGRAM_FRAMES, "no-store"),
    Face.PUBLIC: FaceHeaders("'none'", "public, max-age=60"),
    Face.OPEN311: FaceHeaders(None, "no-store"),
}


def _headers_middleware(headers: FaceHeaders) -> Middleware:
    @web.middleware
    async def add_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
            _apply(response, headers)
            raise
        _apply(response, headers)
        return response

    return add_headers


def _apply(response: web.StreamResponse, headers: FaceHeaders) -> None:
    if response.prepared:  # a stream (server-sent events) set its own before starting
        return
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", headers.cache)
    if headers.csp_ancestors is not None:
        response.headers.setdefault(
            "Content-Security-Policy", _PAGE_CSP.format(ancestors=headers.csp_ancestors)
        )


def face_app(app: App, face: Face) -> web.Application:
    """The sub-application of one face with every feature's routes on it."""
    sub = web.Application(middlewares=[_headers_middleware(FACE_HEADERS[face])])
    sub[APP_KEY] = app
    for part in app.registry.web_routes():
        if part.face is face:
            sub.add_routes(part.routes)
            if part.setup is not None:
                part.setup(sub)
    return sub


def mount_web(root: web.Application, app: App) -> None:
    """Adds the static files and every face to ``root`` (the webhook's application, the
    polling server's, or the sandbox's). The public page only when PUBLIC_PAGE is on."""
    root[APP_KEY] = app
    root.router.add_static(ASSETS_PREFIX + "/", STATIC, name="assets", append_version=True)
    root.router.add_get("/healthz", _healthz)
    for face, prefix in PREFIXES.items():
        if face is Face.PUBLIC and not app.settings.public_page:
            continue
        root.add_subapp(prefix, face_app(app, face))


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers={"Cache-Control": "no-store"})


def build_web_app(app: App) -> web.Application:
    root = web.Application()
    mount_web(root, app)
    return root


@dataclass
class WebServer:
    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


def listen(host: str, port: int, setting: str) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port), taken before the application
    is built so its address can go into the settings; a port in use stops start-up with
    one line naming ``setting``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"{setting}: cannot listen on {host}:{port} ({exc.strerror}); pick another port"
        ) from None
    sock.setblocking(False)
    return sock


async def start_web_server(
    root: web.Application, host: str, port: int, setting: str, *, sock: socket.socket | None = None
) -> WebServer:
    """Serves ``root`` on ``sock``, or on ``host:port`` (see ``listen``)."""
    sock = sock or listen(host, port, setting)
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    bound = int(sock.getsockname()[1])
    log.info("web server listening on %s:%s", host, bound)
    return WebServer(runner, bound)
