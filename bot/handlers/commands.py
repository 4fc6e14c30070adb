"""Commands that open a menu or screen: /menu /help /privacy /building /invite /staff."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.states import MainMenu, Onboarding, Privacy, StaffAdmin, StaffInvite
from bot.i18n import Translator
from bot.roles import help_text
from storage.staff import Staffing
from storage.users import User


async def on_menu(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


async def on_help(message: Message, staffing: Staffing, t: Translator) -> None:
    await message.answer(help_text(staffing, t))


async def on_privacy(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(Privacy.overview, mode=StartMode.RESET_STACK)


async def on_building(message: Message, dialog_manager: DialogManager, user: User | None) -> None:
    if user is None or not user.has_consented:
        await dialog_manager.start(Onboarding.consent, mode=StartMode.RESET_STACK, data={})
        return
    await dialog_manager.start(
        Onboarding.community, mode=StartMode.RESET_STACK, data={"mode": "change"}
    )


async def on_invite(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_admin:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(StaffInvite.role, mode=StartMode.RESET_STACK)


async def on_staff(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_admin:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(StaffAdmin.staff, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="commands")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_menu, Command("menu"))
    router.message.register(on_help, Command("help"))
    router.message.register(on_privacy, Command("privacy"))
    router.message.register(on_building, Command("building"))
    router.message.register(on_invite, Command("invite"))
    router.message.register(on_staff, Command("staff"))
    return router
