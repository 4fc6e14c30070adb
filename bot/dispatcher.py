"""The Dispatcher every bot process runs: aiogram's, with three guards around every
update, whatever brought it (polling, a webhook, a test).

- **Each update once.** Telegram retries a webhook whose answer was late, two processes
  can be handed the same update, and a restart can replay polling. An update id is
  marked "in progress" for a short while before anything runs (in Redis when several
  processes share it), and "done" for a day once handled: a copy that arrives meanwhile
  is dropped. A process killed mid-update leaves only the short mark, so a later retry
  is handled.
- **A bounded number at once.** More updates than the database pool can serve only
  queue for connections and time out; past the bound they wait here, holding nothing.
- **Never silence.** A failure the error handlers could not deal with either (the FSM
  storage down, say) still gets the user a short apology.

Quick presses (bot/quick.py) take their own short way from here, under the same guards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.types import Update, User

from bot.errors import apologise
from bot.i18n import pick_language
from bot.quick import QuickLane

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

IN_PROGRESS_SECONDS = 30
DONE_SECONDS = 24 * 3600


class SeenUpdates(Protocol):
    async def begin(self, key: str) -> bool: ...  # False: a copy is handled or in progress

    async def finish(self, key: str) -> None: ...


class MemorySeen:
    """One process: the ids of the last updates handled, in memory."""

    def __init__(self, remember: int = 100_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    async def begin(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return True

    async def finish(self, key: str) -> None:
        return None


class RedisSeen:
    """Several processes: the marks live in Redis, next to the dialogs' state."""

    def __init__(self, redis: Redis, prefix: str = "gridbot:update") -> None:
        self.redis = redis
        self.prefix = prefix

    async def begin(self, key: str) -> bool:
        return bool(
            await self.redis.set(f"{self.prefix}:{key}", "1", nx=True, ex=IN_PROGRESS_SECONDS)
        )

    async def finish(self, key: str) -> None:
        await self.redis.set(f"{self.prefix}:{key}", "2", ex=DONE_SECONDS)


class GridDispatcher(Dispatcher):
    def __init__(self, *, seen: SeenUpdates, max_concurrent: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen = seen
        self.max_concurrent = max_concurrent
        self.quick: QuickLane | None = None
        self._slots: asyncio.Semaphore | None = None
        self.duplicates = 0

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        key = f"{bot.id}:{update.update_id}"
        try:
            fresh = await self.seen.begin(key)
        except Exception:  # Redis away: handling twice beats not handling (and apologising)
            log.warning("update %s: could not check for copies", update.update_id, exc_info=True)
            fresh = True
        if not fresh:
            self.duplicates += 1
            log.info("update %s arrived again; handled once already", update.update_id)
            return None
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        async with self._slots:
            quick = self.quick.match(update) if self.quick is not None else None
            try:
                if quick is not None and self.quick is not None:
                    await self.quick.run(bot, update, *quick, fsm=self.fsm)
                    result = None
                else:
                    result = await super().feed_update(bot, update, **kwargs)
            except Exception:
                log.exception("update %s failed beyond the error handlers", update.update_id)
                await _apologise(bot, update)
                result = None
        with contextlib.suppress(Exception):  # the mark is a courtesy, the update is done
            await self.seen.finish(key)
        return result


async def _apologise(bot: Bot, update: Update) -> None:
    user: User | None = None
    if update.callback_query is not None:
        user = update.callback_query.from_user
    elif update.message is not None:
        user = update.message.from_user
    language = pick_language(None, user.language_code if user else None, "zh")
    with contextlib.suppress(Exception):
        await apologise(bot, update, language)
