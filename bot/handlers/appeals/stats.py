"""/stats: the appeal KPIs of a staff member's area (the dialog is in
bot.dialogs.appeals.stats)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.appeals.states import Stats
from bot.i18n import Translator
from storage.roles import Staffing


async def on_stats(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_staff:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(Stats.overview, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="stats")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_stats, Command("stats"))
    return router
