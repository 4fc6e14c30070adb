"""Per-update context: a database session (committed when the handler succeeds), who the
user is (their row, staff grants and language), and the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import pick_language, translator
from storage.clock import Clock
from storage.staff import StaffRepo
from storage.users import UserRepo

LAST_SEEN_RESOLUTION = timedelta(minutes=10)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        after_commit: Callable[[], object] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.after_commit = after_commit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessionmaker() as session:
            data["session"] = session
            result = await handler(event, data)
            await session.commit()
        if self.after_commit is not None:
            self.after_commit()
        return result


class ActorMiddleware(BaseMiddleware):
    """Loads the user behind the update. Nothing is stored for someone who has not yet
    consented or been made staff: the privacy notice comes first."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session: AsyncSession = data["session"]
        tg_user: TgUser | None = data.get("event_from_user")
        data["clock"] = self.clock
        data["settings"] = self.settings
        user = None
        if tg_user is not None:
            user = await UserRepo(session).get(tg_user.id)
            if user is not None:
                _refresh(user, tg_user)
                now = self.clock.now()
                # Not on every update: that would make every click a database write.
                if now - user.last_seen_at > LAST_SEEN_RESOLUTION:
                    user.last_seen_at = now
            data["staffing"] = await StaffRepo(session).staffing(
                tg_user.id, config_admins=self.settings.admin_ids
            )
        data["user"] = user
        language = pick_language(
            user.language if user else None,
            tg_user.language_code if tg_user else None,
            self.settings.default_language,
        )
        data["t"] = translator(language)
        data["language"] = language
        return await handler(event, data)


def _refresh(user: Any, tg_user: TgUser) -> None:
    user.first_name = tg_user.first_name
    user.last_name = tg_user.last_name
    user.username = tg_user.username
    user.telegram_language = tg_user.language_code
    # Writing to us means the bot is no longer blocked by this user.
    user.blocked_at = None


def update_id_of(event: TelegramObject) -> int | None:
    return event.update_id if isinstance(event, Update) else None
