"""/language: Chinese or English, remembered per user."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog import DialogManager, ShowMode, StartMode

from bot.commands import apply_chat_commands
from bot.dialogs.onboarding.states import Onboarding
from bot.i18n import LANGUAGES, Translator, translator
from bot.kit.menu import MainMenu
from bot.kit.shown import ShownMessages
from bot.registry import Registry
from storage.roles import Staffing
from storage.services import Services
from storage.users import User


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


def language_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"language.name_{code}"), callback_data=LanguageChoice(code=code).pack()
                )
                for code in LANGUAGES
            ]
        ]
    )


async def on_language(message: Message, t: Translator) -> None:
    await message.answer(t("language.choose"), reply_markup=language_keyboard(t))


async def on_choice(
    call: CallbackQuery,
    callback_data: LanguageChoice,
    services: Services,
    user: User | None,
    staffing: Staffing,
    bot: Bot,
    features: Registry,
    dialog_manager: DialogManager,
    shown: ShownMessages,
) -> None:
    if callback_data.code not in LANGUAGES:
        await call.answer()
        return
    message = call.message
    if message is not None and shown.keyboard(message.chat.id, message.message_id) == "":
        # A second tap of a double tap: the first one already chose and took the buttons.
        await call.answer(translator(callback_data.code)("language.saved"))
        return
    users = services.users
    if user is None:
        tg = call.from_user
        user = await users.touch(
            user_id=tg.id,
            first_name=tg.first_name,
            last_name=tg.last_name,
            username=tg.username,
            telegram_language=tg.language_code,
            now=services.now(),
        )
    await users.set_language(user, callback_data.code)
    t = translator(callback_data.code)
    await call.answer(t("language.saved"))
    if call.message is not None and hasattr(call.message, "edit_text"):
        await call.message.edit_text(t("language.saved"))
    if staffing.is_staff:
        await apply_chat_commands(bot, features, call.from_user.id, staffing, callback_data.code)
    # Carry on in the new language: the menu, or the privacy notice for a newcomer.
    dialog_manager.middleware_data["t"] = t
    if user.has_consented or staffing.is_staff:
        await dialog_manager.start(
            MainMenu.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
        )
    else:
        await dialog_manager.start(
            Onboarding.consent, mode=StartMode.RESET_STACK, data={}, show_mode=ShowMode.SEND
        )


def build_router() -> Router:
    router = Router(name="language")
    router.message.register(on_language, Command("language"), F.chat.type == "private")
    router.callback_query.register(on_choice, LanguageChoice.filter())
    return router
