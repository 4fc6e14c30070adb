"""Delivers the outbox: renders each owed message in its recipient's language with the
renderer its feature registered for the message's kind, and sends it through the paced
sending layer. The most urgent lane goes first; one short transaction per message, so a
restart resumes where it stopped and several processes never send the same row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.sending import Outcome, Sender
from storage.clock import Clock
from storage.outbox import OutboxMessage, OutboxRepo
from storage.roles import Staffing
from storage.services import Config, Services
from storage.users import User

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Any]]


class Gone(Exception):
    """What the message is about no longer exists (or no longer concerns the recipient):
    there is nothing to send, and nothing to retry."""


@dataclass
class Rendering:
    """What a renderer needs to turn one outbox message into Bot API calls."""

    bot: Bot
    services: Services
    t: Translator
    settings: Settings
    message: OutboxMessage
    user: User | None
    _staffing: Staffing | None = field(default=None, repr=False)

    @property
    def chat_id(self) -> int:
        return self.message.user_id

    @property
    def params(self) -> dict[str, Any]:
        return self.message.params

    async def staffing(self) -> Staffing:
        """The recipient's roles: a card shows only the buttons they may press."""
        if self._staffing is None:
            self._staffing = await self.services.staff.staffing(
                self.chat_id, config_admins=self.settings.admin_ids
            )
        return self._staffing


Renderer = Callable[[Rendering], Awaitable[list[Send]]]


class Delivery:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        settings: Settings,
        clock: Clock,
        config: Config,
        renderers: Mapping[str, Renderer],
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.config = config
        self.renderers = dict(renderers)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the loop ---------------------------------------------------------------------

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.deliver_pending()
            except Exception:
                log.exception("outbox delivery failed; retrying shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)
            self._wake.clear()

    async def deliver_pending(self, limit: int = 500) -> int:
        """Send what is owed now, most urgent first; returns how many were handled."""
        done = 0
        while done < limit:
            async with self.sessionmaker() as session:
                repo = OutboxRepo(session)
                batch = await repo.pending(self.clock.now(), limit=1)
                if not batch:
                    return done
                message = batch[0]
                services = Services(session, self.clock, self.config)
                try:
                    outcome, error = await self._deliver(services, message)
                except Gone as exc:
                    outcome, error = Outcome.GONE, str(exc) or "gone"
                except Exception as exc:  # a rendering bug must not block the queue
                    log.exception("outbox message %s could not be rendered", message.id)
                    outcome, error = Outcome.FAILED, repr(exc)
                now = self.clock.now()
                if outcome is Outcome.SENT:
                    await repo.mark_sent(message.id, now)
                else:
                    final = outcome in (Outcome.BLOCKED, Outcome.GONE)
                    await repo.mark_failed(message, now, error or outcome.value, final=final)
                await session.commit()
                done += 1
        return done

    async def _deliver(
        self, services: Services, message: OutboxMessage
    ) -> tuple[Outcome, str | None]:
        user = await services.users.get(message.user_id)
        if user is not None and user.blocked_at is not None:
            return Outcome.BLOCKED, "blocked"
        renderer = self.renderers.get(message.kind)
        if renderer is None:
            raise Gone(f"no renderer for {message.kind!r}")
        language = pick_language(
            user.language if user else None,
            user.telegram_language if user else None,
            self.settings.default_language,
        )
        rendering = Rendering(
            self.bot, services, translator(language), self.settings, message, user
        )
        for send in await renderer(rendering):
            result = await self.sender.send(message.user_id, send, skip_check=True)
            if not result.ok:
                return result.outcome, result.error
        return Outcome.SENT, None
