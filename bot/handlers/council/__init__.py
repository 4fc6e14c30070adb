"""民情议事会 (the monthly council): every community's meeting on its day (the 25th unless
staff say otherwise), reminders that go out once each through the notices engine, topics
residents propose and +1, the agenda staff curate, RSVP and attendance, votes with one
ballot per resident, minutes, and decisions carried out by self-governance groups and
reported back to everyone who took part."""

from __future__ import annotations

from bot.dialogs.council.decide import decide_dialog
from bot.dialogs.council.home import home_dialog
from bot.dialogs.council.host import host_dialog
from bot.dialogs.council.prefs import prefs_dialog
from bot.dialogs.council.states import CouncilHome, CouncilHost, CouncilPrefs
from bot.dialogs.council.tasks import tasks_dialog
from bot.handlers.council import buttons, commands, jobs
from bot.handlers.council.config import council_config
from bot.handlers.council.renderers import RENDERERS
from bot.registry import EVERYONE, Audience, Command, Feature, Job, MenuEntry, WebRoutes
from storage.council import privacy


def _web() -> list[WebRoutes]:
    from web.council import council_web

    return council_web()


FEATURE = Feature(
    name="council",
    routers=lambda: [commands.build_router(), buttons.build_router()],
    dialogs=lambda: [home_dialog(), host_dialog(), prefs_dialog(), decide_dialog(), tasks_dialog()],
    renderers=RENDERERS,
    jobs=(Job("council", jobs.sweep_council, every_seconds=30),),
    menu=(
        MenuEntry("council", "council.menu", CouncilHome.main, Audience.RESIDENT, rank=44),
        MenuEntry(
            "council_host", "council.menu_host", CouncilHost.main, Audience.SUPERVISOR, rank=48
        ),
    ),
    commands=(Command("council", "council.commands.council", EVERYONE, rank=48),),
    config=council_config,
    forget=privacy.forget,
    held=privacy.KEPT,
    help_tips={None: "council.help"},
    settings_views=(
        MenuEntry("council_prefs", "council.prefs.button", CouncilPrefs.main, Audience.RESIDENT),
    ),
    quick=buttons.QUICK,
    web=_web,
)
