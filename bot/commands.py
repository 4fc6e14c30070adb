"""The chat's command menus and /help, per role, assembled from the features' commands.

Residents have the default menu; staff get their top role's menu in their private chat,
set when they join, when their roles change and again at every start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import LANGUAGES, Translator, pick_language, translator
from bot.registry import Registry
from bot.sending import Sender
from storage.roles import Role, Staffing, StaffRepo
from storage.users import User


def commands(registry: Registry, role: Role | None, t: Translator) -> list[BotCommand]:
    return [
        BotCommand(command=c.name, description=t(c.description))
        for c in registry.commands_for(role)
    ]


def help_text(registry: Registry, staffing: Staffing, t: Translator) -> str:
    role = staffing.top_role
    lines = [t(f"help.title.{role.value if role else 'resident'}")]
    for command in registry.commands_for(role):
        lines.append(f"/{command.name} {t(command.help or command.description)}")
    lines += [t(key) for key in registry.help_tips(role)]
    return "\n".join(lines)


async def set_default_commands(bot: Bot, registry: Registry) -> None:
    """The resident menu for everyone, in Chinese, and in English for English clients."""
    for language in LANGUAGES:
        await bot.set_my_commands(
            commands(registry, None, translator(language)),
            scope=BotCommandScopeDefault(),
            language_code=None if language == "zh" else language,
        )


async def apply_chat_commands(
    bot: Bot, registry: Registry, chat_id: int, staffing: Staffing, language: str
) -> None:
    """Staff get their own menu in their private chat; residents fall back to the default."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    try:
        if staffing.top_role is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(
                commands(registry, staffing.top_role, translator(language)), scope=scope
            )
    except TelegramAPIError:
        # The user may never have opened the chat yet; the menu follows on their next /start.
        pass


async def refresh_staff_commands(
    bot: Bot,
    registry: Registry,
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    settings: Settings,
) -> int:
    """Give every staff member (and every configured admin) their role's menu again, e.g.
    after a deployment changed the menus. Paced through the sending layer."""
    async with sessionmaker() as session:
        repo = StaffRepo(session)
        ids = {a.user_id for a in await repo.active_assignments()} | set(settings.admin_ids)
        plans = []
        for user_id in sorted(ids):
            staffing = await repo.staffing(user_id, config_admins=settings.admin_ids)
            user = await session.get(User, user_id)
            language = pick_language(
                user.language if user else None,
                user.telegram_language if user else None,
                settings.default_language,
            )
            plans.append((user_id, staffing, language))
    for user_id, staffing, language in plans:
        await sender.send(
            user_id, _menu_call(bot, registry, user_id, staffing, language), skip_check=True
        )
    return len(plans)


def _menu_call(
    bot: Bot, registry: Registry, user_id: int, staffing: Staffing, language: str
) -> Callable[[], Awaitable[None]]:
    return lambda: apply_chat_commands(bot, registry, user_id, staffing, language)
