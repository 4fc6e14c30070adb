"""/menu and /help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager

from bot.commands import help_text
from bot.i18n import Translator
from bot.kit.menu import open_menu
from bot.registry import Registry
from storage.roles import Staffing


async def on_menu(message: Message, dialog_manager: DialogManager) -> None:
    await open_menu(dialog_manager)


async def on_help(message: Message, staffing: Staffing, t: Translator, features: Registry) -> None:
    await message.answer(help_text(features, staffing, t))


def build_router() -> Router:
    router = Router(name="home")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_menu, Command("menu"))
    router.message.register(on_help, Command("help"))
    return router
