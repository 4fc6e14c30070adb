from aiogram import Router

from bot.dialogs.appeals import appeal_dialogs
from bot.dialogs.main_menu import main_menu_dialog
from bot.dialogs.onboarding import onboarding_dialog
from bot.dialogs.privacy import privacy_dialog
from bot.dialogs.staff import invite_dialog, staff_dialog
from bot.dialogs.tasks import task_dialogs
from bot.handlers.stats import stats_dialogs


def dialog_routers() -> list[Router]:
    return [
        main_menu_dialog(),
        onboarding_dialog(),
        privacy_dialog(),
        invite_dialog(),
        staff_dialog(),
        *appeal_dialogs(),
        *task_dialogs(),
        *stats_dialogs(),
    ]
