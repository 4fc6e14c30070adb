"""What nobody else took: a message outside any form. Someone who has not started yet gets
the privacy notice with its button (never silence); anyone else the main menu, with a
word on what the bot did not understand."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.onboarding.states import Onboarding
from bot.i18n import Translator
from bot.kit.menu import open_menu
from storage.roles import Staffing
from storage.users import User


async def on_unhandled(
    message: Message,
    dialog_manager: DialogManager,
    user: User | None,
    staffing: Staffing,
    t: Translator,
) -> None:
    if (user is None or not user.has_consented) and not staffing.is_staff:
        await dialog_manager.start(Onboarding.consent, mode=StartMode.RESET_STACK, data={})
        return
    await message.answer(t("menu.not_understood"))
    await open_menu(dialog_manager)


def build_router() -> Router:
    router = Router(name="home_fallback")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_unhandled)
    return router
