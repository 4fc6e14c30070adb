"""The composition root: one pass builds everything a running bot holds on to, the Bot
client, the Dispatcher with its middlewares, the features' routers and dialogs, the
outbox delivery and the scheduler. ``gridbot run``, the sandbox, the tests and the
benches all start the bot here, overriding only what they must (clock, FSM storage,
sending pace, configuration), in the manner of cosmicpython's ``bootstrap``."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram_dialog import setup_dialogs
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.api_session import BotAPISession
from bot.config import Settings
from bot.delivery import Delivery
from bot.dispatcher import GridDispatcher, MemorySeen, RedisSeen, SeenUpdates
from bot.errors import register_error_handlers
from bot.features import FEATURES
from bot.inline_callables import run_plain_callables_in_place
from bot.kit.ids import install_unique_intent_ids
from bot.kit.messages import KnownMediaIds, ScreenMessageManager
from bot.kit.shown import ShownMessages
from bot.kit.stale import stale_press_guard
from bot.kit.toast import AnsweredQueries
from bot.middlewares import ActorMiddleware, ServicesMiddleware
from bot.quick import QuickLane
from bot.registry import Registry
from bot.response_models import KeepResponseModels
from bot.scheduling import JobContext, Scheduler
from bot.sending import Sender
from storage.clock import Clock, SystemClock
from storage.services import Config, Services

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage


def create_bot(settings: Settings, *, token: str | None = None) -> Bot:
    session = None
    if settings.telegram_api_url:
        # A self-hosted Bot API server (or the local emulator) instead of api.telegram.org.
        session = BotAPISession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(
        token=token or settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    bot.session.middleware(KeepResponseModels())
    return bot


def create_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        # Imported only where Redis is configured: redis-py is a fifth of a second of
        # every start that does not use it.
        from aiogram.fsm.storage.redis import RedisStorage

        from bot.isolation import bounded_redis

        redis = bounded_redis(settings.redis_url, settings.redis_connections)
        # aiogram-dialog keeps several stacks per chat; keys must carry the destiny.
        return RedisStorage(
            redis, key_builder=DefaultKeyBuilder(prefix=settings.redis_prefix, with_destiny=True)
        )
    return MemoryStorage()


def redis_storage(storage: BaseStorage) -> RedisStorage | None:
    """The storage if it lives in Redis (a storage of a module never imported cannot)."""
    module = sys.modules.get("aiogram.fsm.storage.redis")
    if module is None:
        return None
    kind: type[RedisStorage] = module.RedisStorage
    return storage if isinstance(storage, kind) else None


def create_isolation(storage: BaseStorage) -> BaseEventIsolation:
    """One update at a time per chat: a double tap waits for the first to finish. Across
    processes the lock lives in Redis, next to the dialogs' state."""
    shared = redis_storage(storage)
    if shared is not None:
        from bot.isolation import RenewingRedisIsolation

        return RenewingRedisIsolation(shared.redis, shared.key_builder)
    return SimpleEventIsolation()


def create_seen(storage: BaseStorage) -> SeenUpdates:
    shared = redis_storage(storage)
    if shared is not None:
        # Beside the dialogs' keys: a deployment (or a test) with its own prefix keeps
        # its own update ids.
        prefix = getattr(shared.key_builder, "prefix", "fsm")
        return RedisSeen(shared.redis, prefix=f"{prefix}:update")
    return MemorySeen()


@dataclass
class App:
    """Everything a running bot process holds on to."""

    settings: Settings
    registry: Registry
    config: Config
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    bot: Bot
    dispatcher: GridDispatcher
    sender: Sender
    delivery: Delivery
    scheduler: Scheduler
    _background: set[asyncio.Task[object]] = field(default_factory=set, repr=False)

    def in_background(self, work: Coroutine[object, object, object], name: str) -> None:
        """Work that must not hold up the first update (every staff member's menu sent
        again at start): it runs beside the updates and is cancelled when the bot stops."""
        task: asyncio.Task[object] = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def kick(self) -> None:
        """Something was committed that may owe messages: deliver now, not at the next poll."""
        self.delivery.kick()

    @asynccontextmanager
    async def services(self) -> AsyncIterator[Services]:
        """A unit of work outside an update (CLI, tests, the sandbox): committed at the end
        unless it raised."""
        async with self.sessionmaker() as session:
            services = Services(session, self.clock, self.config, on_owed=self.kick)
            yield services
            await services.commit()

    async def tick(self) -> int:
        """Run every feature's scheduled jobs once, then deliver what they owe."""
        done = await self.scheduler.run_all()
        await self.delivery.deliver_pending()
        return done

    async def start(self) -> None:
        await self.delivery.start()
        self.scheduler.start()

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.scheduler.stop()
        await self.delivery.stop()

    async def close(self) -> None:
        await self.stop()
        await self.bot.session.close()


def bootstrap(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    storage: BaseStorage | None = None,
    sender: Sender | None = None,
    bot: Bot | None = None,
    registry: Registry | None = None,
    config: Iterable[object] = (),
) -> App:
    """Build the bot. ``config`` objects replace the features' own configuration of the
    same type (e.g. an AppealPolicy with other deadlines)."""
    clock = clock or SystemClock()
    registry = registry or Registry(FEATURES)
    merged = Config(registry.config_objects()).with_overrides(config)
    storage = storage or create_storage(settings)
    sender = sender or Sender(sessionmaker, clock, global_rate=settings.send_rate)
    bot = bot or create_bot(settings)
    isolation = create_isolation(storage)

    dp = GridDispatcher(
        storage=storage,
        events_isolation=isolation,
        seen=create_seen(storage),
        max_concurrent=settings.max_concurrent_updates,
    )
    delivery = Delivery(
        bot,
        sessionmaker,
        sender,
        settings,
        clock,
        merged,
        registry.renderers,
        at_most_once=registry.at_most_once(),
        workers=settings.outbox_workers,
        silent_for=timedelta(seconds=settings.outbox_silent_seconds),
    )
    dp.update.outer_middleware(
        ServicesMiddleware(sessionmaker, clock, merged, on_owed=delivery.kick)
    )
    dp.update.outer_middleware(ActorMiddleware(settings))
    dp.quick = QuickLane(
        registry.quick_presses(), sessionmaker, clock, merged, settings, on_owed=delivery.kick
    )
    dp["features"] = registry
    dp["delivery"] = delivery
    dp["sender"] = sender
    dp["sessionmaker"] = sessionmaker
    dp["clock"] = clock
    dp["config"] = merged
    register_error_handlers(dp)
    # Every feature's commands before any dialog: a form waiting for text must never
    # swallow another feature's /command.
    dp.include_routers(
        *registry.handler_routers(), *registry.dialog_routers(), *registry.fallback_routers()
    )
    install_unique_intent_ids()
    # A bot handed over from an earlier bootstrap (a restart in the tests, the benches)
    # forgets what that one saw, as a new process would.
    for earlier in [
        m for m in bot.session.middleware if isinstance(m, AnsweredQueries | ShownMessages)
    ]:
        bot.session.middleware.unregister(earlier)
    bot.session.middleware(AnsweredQueries())
    # Every request the bot makes passes what its messages show (kit.shown): no keyboard
    # edit that changes nothing reaches Telegram, whoever asks for it.
    shown = ShownMessages()
    bot.session.middleware(shown)
    dp.callback_query.outer_middleware(shown.observe_press)
    dp["shown"] = shown
    setup_dialogs(
        dp,
        events_isolation=isolation,
        message_manager=ScreenMessageManager(shown),
        media_id_storage=KnownMediaIds(),
    )
    # After aiogram-dialog's own middlewares: the dialog's stack is loaded by then.
    dp.callback_query.outer_middleware(stale_press_guard)
    run_plain_callables_in_place(dp)  # last: every router and dialog is in place
    scheduler = Scheduler(registry.jobs(), JobContext(sessionmaker, clock, merged), delivery.kick)
    return App(
        settings, registry, merged, sessionmaker, clock, bot, dp, sender, delivery, scheduler
    )
