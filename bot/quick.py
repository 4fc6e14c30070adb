"""Quick presses: buttons on pushed messages that a whole community may press within a
minute (a council ballot, an RSVP under a reminder). They are handled beside aiogram's
middleware chain, not through it: no dialog stack is loaded and saved, no FSM state read,
no staff grants looked up, none of which such a button needs; measured in
bench/vote_burst.py, that chain cost more than the ballot itself.

What every update gets still holds: the dispatcher has counted it once and given it a
slot; it waits for the chat's turn under the same lock as the chat's other updates (so a
resident's two quick taps are handled in the order they came); it gets one database
session committed when the handler returns, the presser's row (refreshed as the actor
middleware does) and their language. A handler here answers the press and may edit the
pressed message; it never opens a dialog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import CallbackQuery, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.middlewares import load_actor
from storage.clock import Clock
from storage.services import Config, Services
from storage.users import User

QuickHandler = Callable[[CallbackQuery, Any, Services, User | None, Translator], Awaitable[None]]


@dataclass(frozen=True)
class QuickPress:
    """Presses whose callback data unpacks as ``data`` and satisfies ``when``."""

    data: type[CallbackData]
    when: Callable[[Any], bool]
    handle: QuickHandler

    def unpack(self, raw: str) -> CallbackData | None:
        if not raw.startswith(self.data.__prefix__ + self.data.__separator__):
            return None
        try:
            parsed = self.data.unpack(raw)
        except (TypeError, ValueError):  # forged: let the ordinary chain refuse it
            return None
        return parsed if self.when(parsed) else None


class QuickLane:
    def __init__(
        self,
        presses: Sequence[QuickPress],
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: Config,
        settings: Settings,
        on_commit: Callable[[], object] | None = None,
    ) -> None:
        self.presses = tuple(presses)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.config = config
        self.settings = settings
        self.on_commit = on_commit

    def match(self, update: Update) -> tuple[QuickPress, CallbackData] | None:
        call = update.callback_query
        if call is None or not call.data or call.message is None:
            return None
        for press in self.presses:
            parsed = press.unpack(call.data)
            if parsed is not None:
                return press, parsed
        return None

    async def run(
        self,
        bot: Bot,
        update: Update,
        press: QuickPress,
        data: CallbackData,
        fsm: FSMContextMiddleware,
    ) -> None:
        call = update.callback_query
        assert call is not None and call.message is not None
        chat_id = call.message.chat.id
        if call.bot is not bot:
            call = call.as_(bot)
        context = fsm.resolve_context(bot, chat_id=chat_id, user_id=call.from_user.id)
        assert context is not None  # a press always has its chat and its presser
        async with fsm.events_isolation.lock(key=context.key), self.sessionmaker() as session:
            services = Services(session, self.clock, self.config, on_commit=self.on_commit)
            user = await load_actor(services, call.from_user)
            language = pick_language(
                user.language if user else None,
                call.from_user.language_code,
                self.settings.default_language,
            )
            await press.handle(call, data, services, user, translator(language))
            await services.commit()
