"""Appeals (诉求): residents file and follow them to a rated outcome; grid workers and
supervisors get them as push tasks with deadlines that escalate up the hierarchy; staff
see the KPIs (/stats, XLSX)."""

from __future__ import annotations

from bot.dialogs.appeals.assign import assign_dialog
from bot.dialogs.appeals.filing import file_appeal_dialog
from bot.dialogs.appeals.my_appeals import my_appeals_dialog
from bot.dialogs.appeals.rating import rate_comment_dialog
from bot.dialogs.appeals.states import FileAppeal, MyAppeals, Stats, Tasks, UrgentCall
from bot.dialogs.appeals.stats import stats_dialog
from bot.dialogs.appeals.task_forms import task_input_dialog
from bot.dialogs.appeals.tasks import tasks_dialog
from bot.dialogs.appeals.urgent import urgent_dialog
from bot.handlers.appeals import resident, stats, worker
from bot.handlers.appeals.config import appeal_config
from bot.handlers.appeals.jobs import sweep_deadlines
from bot.handlers.appeals.renderers import RENDERERS
from bot.registry import (
    RESIDENTS,
    STAFF,
    Audience,
    Command,
    Feature,
    Job,
    MenuEntry,
    WebRoutes,
)
from storage.appeals import privacy


def _web() -> list[WebRoutes]:
    from web.appeals import appeals_web

    return appeals_web()


FEATURE = Feature(
    name="appeals",
    routers=lambda: [resident.build_router(), worker.build_router(), stats.build_router()],
    dialogs=lambda: [
        file_appeal_dialog(),
        urgent_dialog(),
        my_appeals_dialog(),
        rate_comment_dialog(),
        tasks_dialog(),
        task_input_dialog(),
        assign_dialog(),
        stats_dialog(),
    ],
    renderers=RENDERERS,
    jobs=(Job("appeal-deadlines", sweep_deadlines, every_seconds=30),),
    menu=(
        MenuEntry("file", "menu.file_appeal", FileAppeal.category, Audience.RESIDENT, rank=10),
        MenuEntry("urgent", "menu.urgent", UrgentCall.confirm, Audience.RESIDENT, rank=11),
        MenuEntry("mine", "menu.my_appeals", MyAppeals.list, Audience.RESIDENT, rank=12),
        MenuEntry("tasks", "menu.tasks", Tasks.list, Audience.STAFF, rank=20),
        MenuEntry("stats", "menu.stats", Stats.overview, Audience.STAFF, rank=21),
    ),
    commands=(
        Command(
            "new",
            "resident_appeal.commands.new",
            RESIDENTS,
            rank=20,
            help="resident_appeal.help.new",
        ),
        Command(
            "sos",
            "resident_appeal.commands.sos",
            RESIDENTS,
            rank=21,
            help="resident_appeal.help.sos",
        ),
        Command(
            "appeals",
            "resident_appeal.commands.appeals",
            RESIDENTS,
            rank=22,
            help="resident_appeal.help.appeals",
        ),
        Command("tasks", "tasks.commands.tasks", STAFF, rank=30, help="tasks.help.tasks"),
        Command("stats", "stats.commands.stats", STAFF, rank=31, help="stats.help.stats"),
    ),
    config=appeal_config,
    forget=privacy.forget,
    held=privacy.KEPT,
    web=_web,
)
