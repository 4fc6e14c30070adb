"""What a feature contributes to the bot, and the registry that assembles them.

A feature is one sub-package in each of ``bot/handlers``, ``bot/dialogs``, ``storage``
and ``tests``; its ``Feature`` record (in ``bot/handlers/<feature>/__init__.py``) lists
its routers, dialogs, outbox renderers, scheduled jobs, main-menu entries, commands,
configuration and the hook that forgets a person. ``bot/features.py`` holds the one list
of features; the dispatcher, the main menu, the command menus, /help, the scheduler, the
outbox delivery and data deletion all read it here instead of naming features."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiogram import Router
from aiogram.fsm.state import State
from sqlalchemy.ext.asyncio import AsyncSession

from storage.privacy.kept import Kept
from storage.roles import Role, Staffing
from storage.users import User

if TYPE_CHECKING:
    from aiohttp.web import Application, RouteTableDef

    from bot.delivery import Renderer
    from bot.quick import QuickPress
    from bot.scheduling import JobContext

ForgetHook = Callable[[AsyncSession, int], Awaitable[None]]


class Face(StrEnum):
    """The web faces a feature can add routes to (web/server.py mounts each under its
    prefix with its own middlewares): the staff's command-centre desk, the public page,
    and the Open311 service for other channels."""

    DESK = "desk"
    PUBLIC = "public"
    OPEN311 = "open311"


@dataclass(frozen=True)
class WebNav:
    """An entry of a face's navigation (the desk's top bar): a page of a feature."""

    path: str  # relative to the face's prefix
    label: str  # locale key
    rank: int = 50  # lower comes first


@dataclass(frozen=True)
class WebRoutes:
    """A feature's routes on one web face; paths are relative to the face's prefix."""

    face: Face
    routes: RouteTableDef
    nav: Sequence[WebNav] = ()
    # Called with the face's sub-application when it is built: start-up and clean-up
    # work of its own (the desk's live hub).
    setup: Callable[[Application], None] | None = None


class Audience(StrEnum):
    """Who a menu entry is for."""

    EVERYONE = "everyone"
    RESIDENT = "resident"  # consented and bound to a building
    STAFF = "staff"  # any staff role
    SUPERVISOR = "supervisor"  # community staff and up, or an admin: not grid workers
    ADMIN = "admin"


def admits(audience: Audience, user: User | None, staffing: Staffing) -> bool:
    if audience is Audience.EVERYONE:
        return True
    if audience is Audience.RESIDENT:
        return user is not None and user.has_consented and user.building_id is not None
    if audience is Audience.STAFF:
        return staffing.is_staff
    if audience is Audience.SUPERVISOR:
        return any(g.role is not Role.WORKER for g in staffing.grants)
    return staffing.is_admin


# The command menu Telegram shows is set per chat for a role; residents have the default.
RESIDENTS: tuple[Role | None, ...] = (None,)
WORKERS: tuple[Role | None, ...] = (Role.WORKER,)
SUPERVISORS: tuple[Role | None, ...] = (
    Role.COMMUNITY_STAFF,
    Role.STREET_STAFF,
    Role.DISTRICT_STAFF,
)
ADMINS: tuple[Role | None, ...] = (Role.ADMIN,)
STAFF: tuple[Role | None, ...] = WORKERS + SUPERVISORS + ADMINS
EVERYONE: tuple[Role | None, ...] = RESIDENTS + STAFF


@dataclass(frozen=True)
class MenuEntry:
    """A main-menu button that opens a feature's dialog."""

    id: str  # unique across features; travels in callback data
    label: str  # locale key
    state: State
    audience: Audience = Audience.EVERYONE
    rank: int = 50  # lower comes first
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Command:
    """A /command in the chat's command menu of the given roles (None: residents)."""

    name: str
    description: str  # locale key
    roles: tuple[Role | None, ...]
    rank: int = 50
    help: str | None = None  # locale key of its /help line; the description otherwise


@dataclass(frozen=True)
class Job:
    """Time-based work driven by the database; returns how much it did."""

    name: str
    run: Callable[[JobContext], Awaitable[int]]
    every_seconds: float = 30.0


@dataclass(frozen=True)
class Feature:
    name: str
    routers: Callable[[], Sequence[Router]] = lambda: ()
    dialogs: Callable[[], Sequence[Router]] = lambda: ()
    # Tried after every dialog: what no command, button or form took.
    fallbacks: Callable[[], Sequence[Router]] = lambda: ()
    renderers: Mapping[str, Renderer] = field(default_factory=dict)
    # Kinds sent at most once: after a crash mid-send they are set aside, not resent
    # (broadcasts to thousands); every other kind is sent at least once.
    at_most_once: frozenset[str] = frozenset()
    jobs: Sequence[Job] = ()
    menu: Sequence[MenuEntry] = ()
    commands: Sequence[Command] = ()
    # Loads the feature's settings (from the environment) as configuration objects.
    config: Callable[[], Iterable[object]] = lambda: ()
    forget: ForgetHook | None = None
    # Every kind of row ``forget`` deletes or unlinks, counted on the privacy screen.
    held: Sequence[Kept] = ()
    help_tips: Mapping[Role | None, str] = field(default_factory=dict)  # locale keys
    # Views of a feature's own figures offered from /stats (opened with the node and
    # month on show there: {"node_id": …, "month": "2026-11"}).
    stats_views: Sequence[MenuEntry] = ()
    # A feature's own lines in /settings (e.g. the council's subscription), opened from it.
    settings_views: Sequence[MenuEntry] = ()
    # Buttons a whole community presses at once, handled beside the middleware chain.
    quick: Sequence[QuickPress] = ()
    # The feature's web pages and API routes (imported when the web server is built).
    web: Callable[[], Sequence[WebRoutes]] = lambda: ()


class Registry:
    """The features of this bot, asked by whoever assembles something from all of them."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"feature names must be unique: {names}")
        self.renderers: dict[str, Renderer] = {}
        for feature in self.features:
            for kind, renderer in feature.renderers.items():
                if kind in self.renderers:
                    raise ValueError(f"outbox kind {kind!r} registered twice")
                self.renderers[kind] = renderer
        entries = [e for f in self.features for e in f.menu]
        if len({e.id for e in entries}) != len(entries):
            raise ValueError("main-menu entry ids must be unique")
        self.menu = sorted(entries, key=lambda e: e.rank)
        self.commands = sorted((c for f in self.features for c in f.commands), key=lambda c: c.rank)
        self.stats_views = sorted(
            (v for f in self.features for v in f.stats_views), key=lambda v: v.rank
        )
        self.settings_views = sorted(
            (v for f in self.features for v in f.settings_views), key=lambda v: v.rank
        )

    def handler_routers(self) -> list[Router]:
        return [r for f in self.features for r in f.routers()]

    def dialog_routers(self) -> list[Router]:
        return [d for f in self.features for d in f.dialogs()]

    def at_most_once(self) -> frozenset[str]:
        return frozenset(k for f in self.features for k in f.at_most_once)

    def quick_presses(self) -> list[QuickPress]:
        return [q for f in self.features for q in f.quick]

    def web_routes(self) -> list[WebRoutes]:
        return [w for f in self.features for w in f.web()]

    def web_nav(self, face: Face) -> list[WebNav]:
        entries = [n for w in self.web_routes() if w.face is face for n in w.nav]
        return sorted(entries, key=lambda n: n.rank)

    def fallback_routers(self) -> list[Router]:
        return [r for f in self.features for r in f.fallbacks()]

    def jobs(self) -> list[Job]:
        return [j for f in self.features for j in f.jobs]

    def config_objects(self) -> list[object]:
        return [o for f in self.features for o in f.config()]

    def forget_hooks(self) -> list[ForgetHook]:
        return [f.forget for f in self.features if f.forget is not None]

    def held(self) -> list[Kept]:
        return [h for f in self.features for h in f.held]

    def commands_for(self, role: Role | None) -> list[Command]:
        return [c for c in self.commands if role in c.roles]

    def menu_for(self, user: User | None, staffing: Staffing) -> list[MenuEntry]:
        return [e for e in self.menu if admits(e.audience, user, staffing)]

    def menu_entry(self, entry_id: str) -> MenuEntry | None:
        return next((e for e in self.menu if e.id == entry_id), None)

    def stats_views_for(self, user: User | None, staffing: Staffing) -> list[MenuEntry]:
        return [v for v in self.stats_views if admits(v.audience, user, staffing)]

    def settings_views_for(self, user: User | None, staffing: Staffing) -> list[MenuEntry]:
        return [v for v in self.settings_views if admits(v.audience, user, staffing)]

    def help_tips(self, role: Role | None) -> list[str]:
        return [f.help_tips[role] for f in self.features if role in f.help_tips]
