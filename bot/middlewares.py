"""Per-update context: one services object over one database session (committed once
when the handler returns, which wakes the outbox delivery if the update owes a message),
and who the user is (their row, staff grants and language).

Both run after aiogram's events isolation has taken the chat's lock, so a chat waiting
for its turn holds no database connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.faults import crash_point
from bot.i18n import pick_language, translator
from storage.clock import Clock
from storage.services import Config, Services
from storage.users import User

LAST_SEEN_RESOLUTION = timedelta(minutes=10)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ServicesMiddleware(BaseMiddleware):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: Config,
        on_owed: Callable[[], object] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.config = config
        self.on_owed = on_owed

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessionmaker() as session:
            services = Services(session, self.clock, self.config, on_owed=self.on_owed)
            data["services"] = services
            result = await handler(event, data)
            await services.commit()
            crash_point("update.committed")
        return result


async def commit_now(services: Services) -> None:
    """Commit the update's work before it answers, where the answer must be true (a
    form saying "filed"); the middleware commits whatever follows."""
    await services.commit()
    crash_point("update.committed")


class ActorMiddleware(BaseMiddleware):
    """Loads the user behind the update. Nothing is stored for someone who has not yet
    consented or been made staff: the privacy notice comes first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        services: Services = data["services"]
        tg_user: TgUser | None = data.get("event_from_user")
        data["settings"] = self.settings
        user = None
        if tg_user is not None:
            user, data["staffing"] = await services.staff.actor(
                tg_user.id, config_admins=self.settings.admin_ids
            )
            if user is not None:
                touch_actor(services, user, tg_user)
        data["user"] = user
        language = pick_language(
            user.language if user else None,
            tg_user.language_code if tg_user else None,
            self.settings.default_language,
        )
        data["t"] = translator(language)
        data["language"] = language
        return await handler(event, data)


def touch_actor(services: Services, user: User, tg_user: TgUser) -> None:
    """The row brought up to what Telegram says of them now, and when they were seen."""
    for name, value in actor_changes(user, tg_user, services.now()).items():
        setattr(user, name, value)


def actor_changes(user: User, tg_user: TgUser, now: datetime) -> dict[str, Any]:
    """What of the row differs from what Telegram says of them now (only that: an
    unchanged attribute set again would still be an UPDATE), and when they were seen."""
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("first_name", tg_user.first_name),
            ("last_name", tg_user.last_name),
            ("username", tg_user.username),
            ("telegram_language", tg_user.language_code),
        )
        if getattr(user, name) != value
    }
    if user.blocked_at is not None:
        # Writing to us means the bot is no longer blocked by this user.
        changes["blocked_at"] = None
    # Not on every update: that would make every click a database write.
    if now - user.last_seen_at > LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    return changes
