"""/channels: the channels screen, for admins."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.channels.states import Channels
from bot.i18n import Translator
from storage.roles import Staffing


async def on_channels(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_admin:
        await message.answer(t("channel.chat.problem.not_allowed"))
        return
    await dialog_manager.start(Channels.home, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="channels")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_channels, Command("channels"))
    return router
