"""The web faces mounted on the bot's aiohttp application: each feature's routes under
its face's prefix, the headers each face needs, the shipped static files, and the public
page only when PUBLIC_PAGE is on."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings, load_settings
from bot.features import FEATURES
from bot.registry import Face, Feature, Registry, WebRoutes
from storage.clock import ManualClock
from web.server import build_web_app


def _probe_feature() -> Feature:
    routes: dict[Face, web.RouteTableDef] = {face: web.RouteTableDef() for face in Face}
    for face, table in routes.items():

        async def hello(request: web.Request, face: Face = face) -> web.Response:
            return web.Response(text=f"hello from {face.value}")

        table.get("/hello")(hello)
    return Feature(
        name="probe", web=lambda: [WebRoutes(face, table) for face, table in routes.items()]
    )


async def _client(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    *,
    public: bool,
) -> TestClient[web.Request, web.Application]:
    configured = load_settings(**{**settings.model_dump(), "public_page": public})
    registry = Registry([*FEATURES, _probe_feature()])
    app = bootstrap(configured, sessionmaker, clock=clock, registry=registry)
    client = TestClient(TestServer(build_web_app(app)))
    await client.start_server()
    return client


async def test_each_face_serves_under_its_prefix_with_its_headers(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    client = await _client(settings, sessionmaker, clock, public=True)
    try:
        desk = await client.get("/desk/hello")
        assert desk.status == 200 and await desk.text() == "hello from desk"
        assert desk.headers["Cache-Control"] == "no-store"
        csp = desk.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors https://web.telegram.org" in csp
        assert desk.headers["X-Content-Type-Options"] == "nosniff"

        public = await client.get("/public/hello")
        assert await public.text() == "hello from public"
        assert "frame-ancestors 'none'" in public.headers["Content-Security-Policy"]

        api = await client.get("/open311/v2/hello")
        assert await api.text() == "hello from open311"
        assert "Content-Security-Policy" not in api.headers

        missing = await client.get("/desk/nothing-here")
        assert missing.status == 404
        assert missing.headers["Cache-Control"] == "no-store"

        htmx = await client.get("/assets/vendor/htmx-2.0.11.min.js")
        assert htmx.status == 200
        assert "htmx" in (await htmx.text())[:2000]
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_the_public_face_is_off_unless_asked_for(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    client = await _client(settings, sessionmaker, clock, public=False)
    try:
        assert (await client.get("/public/hello")).status == 404
        assert (await client.get("/desk/hello")).status == 200
    finally:
        await client.close()
