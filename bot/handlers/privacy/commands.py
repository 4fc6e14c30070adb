"""/privacy."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.privacy.states import Privacy


async def on_privacy(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(Privacy.overview, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="privacy")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_privacy, Command("privacy"))
    return router
