"""Nothing fails silently: a handler's crash is logged with the update id and the user
gets a short apology (as an alert on the button they pressed, or as a message when that
press was already answered). A press on a dialog that is no longer live (an old message, a
double tap) changes nothing and says so; when the user's dialogs were lost (a restart
with memory storage) the main menu opens again."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.kit.menu import MainMenu
from bot.kit.toast import answered
from storage.clock import Clock
from storage.services import Config, Services

log = logging.getLogger(__name__)


async def on_stale_dialog(
    event: ErrorEvent,
    dialog_manager: DialogManager,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    config: Config,
    language: str = "zh",
) -> None:
    update = event.update
    t = translator(language)
    live = dialog_manager.has_context()
    log.info("update %s: stale dialog (%s), live=%s", update.update_id, event.exception, live)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramAPIError):
            await update.callback_query.answer(
                t("common.stale_button") if live else t("errors.stale")
            )
    if live:
        return
    # The update's own session closed when the exception left its middleware; the menu's
    # getters need a live one.
    async with sessionmaker() as session:
        services = Services(session, clock, config)
        dialog_manager.middleware_data["services"] = services
        await dialog_manager.start(
            MainMenu.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
        )
        await services.commit()


async def on_error(event: ErrorEvent, bot: Bot, language: str = "zh") -> None:
    update = event.update
    log.error("update %s failed", update.update_id, exc_info=event.exception)
    await apologise(bot, update, language)


async def apologise(bot: Bot, update: Update, language: str) -> None:
    """Tell the person behind a failed update, once."""
    text = translator(language)("errors.unexpected")
    call = update.callback_query
    chat_id: int | None = None
    if call is not None:
        if not answered(call.id):
            # Telegram takes one answer per press: the handler may have used it (a toast)
            # before it failed; then the apology is a message.
            try:
                await bot.answer_callback_query(call.id, text, show_alert=True)
                return
            except TelegramAPIError:
                pass
        chat_id = call.message.chat.id if call.message is not None else call.from_user.id
    elif update.message is not None:
        chat_id = update.message.chat.id
    if chat_id is None:
        return  # no person behind the update (a chat member change, a poll)
    try:
        await bot.send_message(chat_id, text)
    except TelegramAPIError:
        log.warning("could not tell user about the failure of update %s", update.update_id)


def register_error_handlers(dp: Dispatcher) -> None:
    dp.errors.register(
        on_stale_dialog, ExceptionTypeFilter(UnknownIntent, OutdatedIntent, UnknownState)
    )
    dp.errors.register(on_error)
