"""The sandbox itself: the real bot, unchanged, long-polling a local Bot API emulator, with
a real SQLite database (seeded with the demo on first use), the real outbox notifier and
deadline scheduler, and a clock only the sandbox can move. The page and its API are
added to the emulator's own web server (see api.py), so one port serves everything."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, bootstrap
from bot.commands import apply_chat_commands, set_default_commands
from bot.config import ConfigError, load_settings
from bot.dialogs.desk.link import signin_url
from emulator import BotAPIEmulator, EmulatedUser
from sandbox.api import add_routes
from sandbox.events import EventHub
from sandbox.people import Directory, load_directory, spot_near
from storage.channels.models import BuildingPoint
from storage.channels.service import ChannelService
from storage.clock import OffsetClock
from storage.demo import DEMO_PERSONAS, seed_demo
from storage.desk import DeskAuth
from storage.hierarchy import Node, NodeKind
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from web.server import WebServer, build_web_app, listen, start_web_server

TOKEN = "100000:SANDBOX-gridbot-offline"
BOT_USERNAME = "gridbot_sandbox_bot"
BOT_NAME = "网格通 GridBot"
DEMO_CHANNEL = "12345 热线 (演示)"

# Hosts that mean "every interface".
_ANY_HOST = ("0.0.0.0", "::", "")


class Sandbox:
    """``url = await sandbox.start()`` … ``await sandbox.stop()``, or ``async with``."""

    def __init__(self, db_path: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.db_path = db_path
        self.host = host
        self.port = port
        self.clock = OffsetClock()
        self.emu = BotAPIEmulator(TOKEN, BOT_USERNAME, BOT_NAME, host=host, port=port)
        self.hub = EventHub(self.emu, self.clock)
        self.sockets: set[web.WebSocketResponse] = set()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._app: App | None = None
        self._directory: Directory | None = None
        self._polling: asyncio.Task[None] | None = None
        self._web: WebServer | None = None
        # The demo Open311 channel: its endpoint and the key issued at this start.
        self.open311: dict[str, str] = {}
        add_routes(self)  # before the emulator's server starts: aiohttp freezes its router

    # --- what the API needs -------------------------------------------------------------

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the sandbox is not running")
        return self._app

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            raise RuntimeError("the sandbox is not running")
        return self._directory

    @property
    def url(self) -> str:
        return _local_url(self.host, self.emu.port) + "/"

    @property
    def web_url(self) -> str:
        """The desk and the public page (served beside the page, on a port of their own)."""
        return self.app.settings.web_url

    @property
    def public_url(self) -> str:
        """The public page, or "" when PUBLIC_PAGE is off."""
        if not self.app.settings.public_page:
            return ""
        return self.web_url.rstrip("/") + "/public"

    @property
    def zone_name(self) -> str:
        return self.app.settings.timezone

    def user(self, user_id: int) -> EmulatedUser | None:
        persona = self.directory.persona(user_id)
        return self.emu.users.get(user_id) if persona else None

    async def advance(self, delta: timedelta) -> int:
        """Move the clock, then do at once what the next scheduler tick and the delivery
        loop would do: run every feature's due work and send what that produced."""
        self.clock.advance(delta)
        done = await self.app.scheduler.run_all()
        self.app.kick()  # messages queued for later may be due now too
        self.hub.publish({"type": "clock", **self.clock_json()})
        return done

    async def desk_link(self, user_id: int) -> str | None:
        """A one-time link that opens the desk as ``user_id`` (what /web sends them),
        or None for someone who has no desk."""
        async with self.app.services() as s:
            if not (await s.staff.staffing(user_id)).is_staff:
                return None
            issued = await s.get(DeskAuth).issue_link(user_id)
        return signin_url(self.web_url, issued.token)

    def clock_json(self) -> dict[str, object]:
        now = self.clock.now()
        return {
            "now": now.isoformat(),
            "timestamp": now.timestamp(),
            "offset_seconds": self.clock.offset.total_seconds(),
            "zone": self.zone_name,
            "local": now.astimezone(self.app.settings.zone).strftime("%Y-%m-%d %H:%M"),
        }

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> str:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self.url

    async def _start(self) -> None:
        if self.db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gridbot-sandbox-")
            db_file = Path(self._tmp.name) / "sandbox.db"
        else:
            db_file = self.db_path.expanduser().resolve()
            db_file.parent.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{db_file}"
        self._engine = create_engine(database_url)
        await upgrade(self._engine)
        self._sessionmaker = create_sessionmaker(self._engine)
        async with self._sessionmaker() as session:
            if not await session.scalar(select(func.count()).select_from(Node)):
                # Only a fresh database: seeding again would undo what was played.
                await seed_demo(session, self.clock.now())
                await session.commit()
            self._directory = await load_directory(session, BOT_USERNAME)

        try:
            await self.emu.start()
        except OSError as exc:
            raise ConfigError(
                f"--host {self.host} --port {self.port}: cannot listen there ({exc.strerror}); "
                "pick another --port, or --port 0 for any free one"
            ) from None
        # The desk and the public page on a port of their own, as `gridbot run` serves them
        # when polling; taken first so the bot's links can name it.
        web_socket = listen(self.host, 0, "--host")
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=_local_url(self.host, self.emu.port),
            database_url=database_url,
            redis_url=None,  # one process: in-memory FSM, whatever the environment says
            webhook_url=None,
            admin_ids=[],
            bot_username=BOT_USERNAME,
            web_base_url=_local_url(self.host, int(web_socket.getsockname()[1])),
            public_page=True,
        )
        self._app = bootstrap(settings, self._sessionmaker, clock=self.clock)
        self._web = await start_web_server(
            build_web_app(self._app), self.host, 0, "--host", sock=web_socket
        )
        await self._prepare_chats()
        await self._demo_channel()
        await self._app.start()
        self._polling = asyncio.create_task(
            self._app.dispatcher.start_polling(
                self._app.bot, handle_signals=False, close_bot_session=False
            ),
            name="sandbox-polling",
        )

    async def _demo_channel(self) -> None:
        """The demo district's 12345 hotline as an Open311 channel, with a key made now
        (keys are never kept, so every start issues a new one, shown on the page)."""
        assert self._app is not None
        async with self._app.services() as s:
            [district, *_] = await s.hierarchy.of_kind(NodeKind.DISTRICT)
            channel, key = await s.get(ChannelService).provision(DEMO_CHANNEL, district)
            # The buildings stand where the page puts them: a point files at the nearest.
            known = set((await s.session.execute(select(BuildingPoint.building_id))).scalars())
            for building in await s.hierarchy.of_kind(NodeKind.BUILDING, district):
                if building.id not in known:
                    lat, lon = spot_near(building.code)
                    s.session.add(
                        BuildingPoint(building_id=building.id, latitude=lat, longitude=lon)
                    )
            worker = next(p for p in DEMO_PERSONAS if p.role == Role.WORKER)
            self.open311 = {
                "channel": channel.name,
                "district": district.name,
                "url": self.web_url.rstrip("/") + "/open311/v2/",
                "key": key,
                "address_id": worker.building_code or "",
                "worker": worker.name,
            }

    async def _prepare_chats(self) -> None:
        """The demo people have used the bot before (the seed gave them consent and
        roles): Telegram knows their chats, and staff have their role's command menu."""
        assert self._app is not None and self._sessionmaker is not None
        bot, registry = self._app.bot, self._app.registry
        for persona in self.directory.personas:
            self.emu.add_user(
                persona.id,
                persona.name,
                language_code="en" if persona.language == "en" else "zh-hans",
                phone=persona.phone,
            )
            if persona.role != "newcomer":
                self.emu.world.chats[persona.id].opened = True
        await set_default_commands(bot, registry)
        async with self._sessionmaker() as session:
            repo = StaffRepo(session)
            for persona in self.directory.personas:
                if persona.role not in ("resident", "newcomer"):
                    staffing = await repo.staffing(persona.id)
                    await apply_chat_commands(bot, registry, persona.id, staffing, persona.language)

    async def stop(self) -> None:
        """Stops in dependency order: nothing may still talk to the emulator when it
        goes, and open pages are told to go before the web server waits for them."""
        if self._polling is not None:
            if not self._polling.done() and self._app is not None:
                with contextlib.suppress(RuntimeError):  # polling had not begun yet
                    await self._app.dispatcher.stop_polling()
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._polling
            self._polling = None
        if self._web is not None:
            await self._web.stop()
            self._web = None
        if self._app is not None:
            await self._app.stop()
        self.hub.close()
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        await self.emu.stop()
        if self._app is not None:
            await self._app.bot.session.close()
            self._app = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _local_url(host: str, port: int) -> str:
    """Where this machine reaches a server listening on ``host``: a server on every
    interface is dialled (and shown) as the loopback address."""
    shown = "127.0.0.1" if host in _ANY_HOST else host
    if ":" in shown:
        shown = f"[{shown}]"  # IPv6
    return f"http://{shown}:{port}"
