"""Assembles the bot: the Bot client, FSM storage, the Dispatcher with its middlewares,
routers and dialogs. Tests, the CLI and the sandbox all build the bot through here."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram_dialog import setup_dialogs
from aiogram_dialog.api.protocols import BgManagerFactory
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.dialogs import dialog_routers
from bot.dialogs.ids import install_unique_intent_ids
from bot.dialogs.toast import AnswerOnceMessageManager
from bot.errors import register_error_handlers
from bot.handlers import handler_routers
from bot.middlewares import ActorMiddleware, DbSessionMiddleware
from bot.notifications import Notifier
from bot.sending import Sender
from storage.appeal_policy import AppealPolicy
from storage.clock import Clock, SystemClock


def create_bot(settings: Settings, *, token: str | None = None) -> Bot:
    session = None
    if settings.telegram_api_url:
        # A self-hosted Bot API server (or the local emulator) instead of api.telegram.org.
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=token or settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        # aiogram-dialog keeps several stacks per chat; keys must carry the destiny.
        return RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
    return MemoryStorage()


@dataclass
class App:
    """Everything a running bot process holds on to."""

    settings: Settings
    dispatcher: Dispatcher
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    sender: Sender
    bg_manager_factory: BgManagerFactory
    policy: AppealPolicy
    notifier: Notifier | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def attach(self, bot: Bot) -> Notifier:
        """The outbox needs a Bot to send with; made once the Bot exists."""
        self.notifier = Notifier(
            bot, self.sessionmaker, self.sender, self.settings, self.clock, self.policy
        )
        return self.notifier

    def kick(self) -> None:
        if self.notifier is not None:
            self.notifier.kick()


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    storage: BaseStorage | None = None,
    sender: Sender | None = None,
) -> App:
    clock = clock or SystemClock()
    storage = storage or create_storage(settings)
    sender = sender or Sender(sessionmaker, clock)
    policy = settings.appeal_policy()
    dp = Dispatcher(storage=storage)
    hooks: list[App] = []

    def after_commit() -> None:
        # Whatever a handler committed may have queued messages: deliver them now.
        for app in hooks:
            app.kick()

    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker, after_commit=after_commit))
    dp.update.outer_middleware(ActorMiddleware(settings, clock))
    dp["sender"] = sender
    dp["sessionmaker"] = sessionmaker
    dp["policy"] = policy
    register_error_handlers(dp)
    dp.include_routers(*handler_routers(), *dialog_routers())
    install_unique_intent_ids()
    isolation = None
    if isinstance(storage, RedisStorage):
        isolation = RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    bg_factory = setup_dialogs(
        dp, events_isolation=isolation, message_manager=AnswerOnceMessageManager()
    )
    dp["bg_manager_factory"] = bg_factory
    app = App(settings, dp, sessionmaker, clock, sender, bg_factory, policy)
    hooks.append(app)
    return app
