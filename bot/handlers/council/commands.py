"""/council: the next meeting and everything around it (residents); staff start there
too and find the button to run it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.council.states import CouncilHome


async def on_council(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(CouncilHome.main, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="council.commands")
    router.message.register(on_council, Command("council"))
    return router
