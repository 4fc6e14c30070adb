"""How roles show up in the chat: names, per-role command menus and /help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.formatting import e
from bot.i18n import LANGUAGES, Translator, pick_language, translator
from bot.sending import Sender
from storage.staff import Role, Staffing, StaffRepo
from storage.users import User

RESIDENT_COMMANDS = (
    "start",
    "menu",
    "new",
    "sos",
    "appeals",
    "building",
    "privacy",
    "language",
    "help",
)
WORKER_COMMANDS = ("menu", "tasks", "stats", "privacy", "language", "help")
STAFF_COMMANDS = ("menu", "tasks", "stats", "language", "help")
ADMIN_COMMANDS = ("menu", "tasks", "stats", "invite", "staff", "language", "help")

COMMANDS_BY_ROLE: dict[Role | None, tuple[str, ...]] = {
    None: RESIDENT_COMMANDS,
    Role.WORKER: WORKER_COMMANDS,
    Role.COMMUNITY_STAFF: STAFF_COMMANDS,
    Role.STREET_STAFF: STAFF_COMMANDS,
    Role.DISTRICT_STAFF: STAFF_COMMANDS,
    Role.ADMIN: ADMIN_COMMANDS,
}


def role_name(role: Role, t: Translator) -> str:
    return t(f"roles.{role.value}")


def describe_grants(staffing: Staffing, t: Translator) -> str:
    lines = []
    for grant in staffing.grants:
        where = e(grant.node.name) if grant.node else t("roles.everywhere")
        lines.append(t("roles.line", role=role_name(grant.role, t), where=where))
    return "\n".join(lines)


def commands(role: Role | None, t: Translator) -> list[BotCommand]:
    return [BotCommand(command=c, description=t(f"commands.{c}")) for c in COMMANDS_BY_ROLE[role]]


def help_text(staffing: Staffing, t: Translator) -> str:
    role = staffing.top_role
    key = f"help.{role.value}" if role else "help.resident"
    return t(key)


async def set_default_commands(bot: Bot) -> None:
    """The resident menu for everyone, in Chinese, and in English for English clients."""
    for language in LANGUAGES:
        await bot.set_my_commands(
            commands(None, translator(language)),
            scope=BotCommandScopeDefault(),
            language_code=None if language == "zh" else language,
        )


async def apply_chat_commands(bot: Bot, chat_id: int, staffing: Staffing, language: str) -> None:
    """Staff get their own menu in their private chat; residents fall back to the default."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    try:
        if staffing.top_role is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(
                commands(staffing.top_role, translator(language)), scope=scope
            )
    except TelegramAPIError:
        # The user may never have opened the chat yet; the menu follows on their next /start.
        pass


async def refresh_staff_commands(
    bot: Bot,
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
        await sender.send(user_id, _menu_call(bot, user_id, staffing, language), skip_check=True)
    return len(plans)


def _menu_call(
    bot: Bot, user_id: int, staffing: Staffing, language: str
) -> Callable[[], Awaitable[None]]:
    return lambda: apply_chat_commands(bot, user_id, staffing, language)
