"""Quick presses: buttons on pushed messages that a whole community may press within a
minute (a council ballot, an RSVP under a reminder). They are handled beside aiogram's
middleware chain, not through it: no dialog stack is loaded and saved, no FSM state read,
no staff grants looked up, none of which such a button needs; measured in
bench/vote_burst.py, that chain cost more than the ballot itself.

What every update gets still holds: the dispatcher has counted it once and given it a
slot; it waits for the chat's turn under the same lock as the chat's other updates (so a
resident's two quick taps are handled in the order they came); the presser's row is
refreshed as the actor middleware does; it is answered in their language.

Presses that arrive while others of the same group (the same vote, say) are being written
join the next write: one session, one read of the pressers and one commit for all of
them (group commit). A lone press is written at once, so this adds no wait; under a
burst the writes grow instead of queueing, which is what keeps a minute of ballots from
a whole community answered within a moment each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import CallbackQuery, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.middlewares import actor_changes
from storage.clock import Clock
from storage.services import Config, Services
from storage.users import User

# The presses of one group written together: at most this many, to keep one statement's
# parameters well within what SQLite accepts.
MAX_GROUP = 500


@dataclass(frozen=True)
class Pressed:
    call: CallbackQuery
    data: Any  # the unpacked callback data
    user: User | None  # their row, None for someone who has none


# Writes a group's presses in one session (committed by the lane) and says, per press in
# the order given, what came of it.
Apply = Callable[[Services, Sequence[Pressed]], Awaitable[Sequence[Any]]]
# Tells the presser what came of their press (answers it, may re-mark the message).
Reply = Callable[[CallbackQuery, Any, Any, Translator], Awaitable[None]]


@dataclass(frozen=True)
class QuickPress:
    """Presses whose callback data unpacks as ``data`` and satisfies ``when``; those with
    the same ``group`` of their data are written together."""

    data: type[CallbackData]
    when: Callable[[Any], bool]
    apply: Apply
    reply: Reply
    group: Callable[[Any], Hashable] = lambda _data: None

    def unpack(self, raw: str) -> CallbackData | None:
        if not raw.startswith(self.data.__prefix__ + self.data.__separator__):
            return None
        try:
            parsed = self.data.unpack(raw)
        except (TypeError, ValueError):  # forged: let the ordinary chain refuse it
            return None
        return parsed if self.when(parsed) else None


@dataclass
class _Waiting:
    call: CallbackQuery
    data: Any
    done: asyncio.Future[tuple[User | None, Any]]


@dataclass
class _Group:
    waiting: list[_Waiting] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class QuickLane:
    def __init__(
        self,
        presses: Sequence[QuickPress],
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: Config,
        settings: Settings,
        on_owed: Callable[[], object] | None = None,
    ) -> None:
        self.presses = tuple(presses)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.config = config
        self.settings = settings
        self.on_owed = on_owed
        self._groups: dict[tuple[int, Hashable], _Group] = {}
        self.writes = 0  # sessions committed, for the benchmark's figures

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
        async with fsm.events_isolation.lock(key=context.key):
            user, outcome = await self._written(press, call, data)
            language = pick_language(
                user.language if user else None,
                call.from_user.language_code,
                self.settings.default_language,
            )
            await press.reply(call, data, outcome, translator(language))

    async def _written(
        self, press: QuickPress, call: CallbackQuery, data: Any
    ) -> tuple[User | None, Any]:
        key = (self.presses.index(press), press.group(data))
        group = self._groups.setdefault(key, _Group())
        done: asyncio.Future[tuple[User | None, Any]] = asyncio.get_running_loop().create_future()
        group.waiting.append(_Waiting(call, data, done))
        if group.writer is None:
            group.writer = asyncio.create_task(self._write(key, press, group))
        return await done

    async def _write(self, key: tuple[int, Hashable], press: QuickPress, group: _Group) -> None:
        """Writes what is waiting, then what arrived meanwhile, until nothing waits."""
        batch: list[_Waiting] = []
        try:
            while group.waiting:
                batch, group.waiting = group.waiting[:MAX_GROUP], group.waiting[MAX_GROUP:]
                try:
                    await self._commit(press, batch)
                except Exception as exc:  # each presser's update fails as it would alone
                    _fail(batch, exc)
        except BaseException:  # cancelled (shutting down): nobody is left waiting
            _fail([*batch, *group.waiting], asyncio.CancelledError())
            group.waiting = []
            raise
        finally:
            group.writer = None
            if not group.waiting:
                self._groups.pop(key, None)

    async def _commit(self, press: QuickPress, batch: Sequence[_Waiting]) -> None:
        async with self.sessionmaker() as session:
            services = Services(session, self.clock, self.config, on_owed=self.on_owed)
            users = await services.users.get_many({w.call.from_user.id for w in batch})
            pressed = []
            # The pressers' rows refreshed as the actor middleware does, in one statement
            # after the presses (not the unit of work's flush of each row before them).
            changes: dict[int, dict[str, Any]] = {}
            now = services.now()
            for waiting in batch:
                user = users.get(waiting.call.from_user.id)
                if user is not None:
                    changes.setdefault(user.id, {}).update(
                        actor_changes(user, waiting.call.from_user, now)
                    )
                pressed.append(Pressed(waiting.call, waiting.data, user))
            outcomes = await press.apply(services, pressed)
            await services.users.write_changes(changes)
            await services.commit()
            self.writes += 1
            # Told now, not after the connection has gone back to the pool.
            for waiting, one, outcome in zip(batch, pressed, outcomes, strict=True):
                if not waiting.done.done():
                    waiting.done.set_result((one.user, outcome))


def _fail(batch: Sequence[_Waiting], exc: BaseException) -> None:
    for waiting in batch:
        if not waiting.done.done():
            waiting.done.set_exception(exc)
