"""/web: the desk's link screen, for staff."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.desk.states import DeskScreen
from bot.i18n import Translator
from storage.roles import Staffing


async def on_web(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_staff:
        await message.answer(t("desk.link.residents"))
        return
    await dialog_manager.start(DeskScreen.link, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="desk")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_web, Command("web"))
    return router
