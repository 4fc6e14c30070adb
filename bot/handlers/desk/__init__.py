"""The command centre's desk (指挥台): staff open it in a browser with a one-time link
from ``/web`` (or "🖥 指挥台" in the menu), or inside Telegram as a Mini App. The pages
are web faces (``web/desk/`` holds what they share, each feature adds its own); the
chat's part is the link and the Mini App button."""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialogs.desk.link import desk_link_dialog
from bot.dialogs.desk.states import DeskScreen
from bot.handlers.desk import commands
from bot.handlers.desk.jobs import purge_ended
from bot.registry import STAFF, Audience, Command, Feature, Job, MenuEntry, WebRoutes
from storage.desk import DeskPolicy, privacy


def _web() -> Sequence[WebRoutes]:
    from web.desk import desk_web

    return desk_web()


FEATURE = Feature(
    name="desk",
    routers=lambda: [commands.build_router()],
    dialogs=lambda: [desk_link_dialog()],
    jobs=(Job("desk-ended", purge_ended, every_seconds=3600),),
    menu=(MenuEntry("desk", "desk.menu", DeskScreen.link, Audience.STAFF, rank=22),),
    commands=(Command("web", "desk.commands.web", STAFF, rank=32, help="desk.help.web"),),
    config=lambda: [DeskPolicy()],
    forget=privacy.forget,
    held=privacy.KEPT,
    web=_web,
)
