from aiogram import Router

from bot.dialogs.main_menu import main_menu_dialog
from bot.dialogs.onboarding import onboarding_dialog
from bot.dialogs.privacy import privacy_dialog
from bot.dialogs.staff import invite_dialog, staff_dialog


def dialog_routers() -> list[Router]:
    return [
        main_menu_dialog(),
        onboarding_dialog(),
        privacy_dialog(),
        invite_dialog(),
        staff_dialog(),
    ]
