"""/notice and /notices, for staff who may send notices."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.notices.states import NoticeArchive, NoticeCompose, NoticePrefs
from bot.i18n import Translator
from storage.notices.rules import SENDERS
from storage.roles import Staffing


async def on_notice(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.scopes(SENDERS):
        await message.answer(t("notice.not_allowed"))
        return
    await dialog_manager.start(NoticeCompose.content, mode=StartMode.RESET_STACK)


async def on_notices(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.scopes(SENDERS):
        await message.answer(t("notice.not_allowed"))
        return
    await dialog_manager.start(NoticeArchive.list, mode=StartMode.RESET_STACK)


async def on_settings(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(NoticePrefs.main, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="notices.commands")
    router.message.register(on_notice, Command("notice"))
    router.message.register(on_notices, Command("notices"))
    router.message.register(on_settings, Command("settings"))
    return router
