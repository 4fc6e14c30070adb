"""Delivers the outbox: renders each owed message in its recipient's language and sends
it through the paced sending layer. One short transaction per message, so a restart
resumes where it stopped and several processes never send the same row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.appeal_views import (
    level_name,
    open_button,
    rating_buttons,
    resident_media,
    task_buttons,
    task_card,
)
from bot.config import Settings
from bot.formatting import e, local_time
from bot.i18n import Translator, pick_language, translator
from bot.sending import Outcome, Sender
from storage.appeal_policy import AppealPolicy
from storage.appeals import Appeal, AppealEvent, AppealMedia
from storage.clock import Clock
from storage.outbox import OutboxMessage, OutboxRepo
from storage.users import User

log = logging.getLogger(__name__)

Call = Callable[[], Awaitable[Any]]


class Notifier:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        settings: Settings,
        clock: Clock,
        policy: AppealPolicy,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.policy = policy
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
        """Send what is owed now; returns how many messages were handled."""
        done = 0
        while done < limit:
            async with self.sessionmaker() as session:
                repo = OutboxRepo(session)
                batch = await repo.pending(self.clock.now(), limit=1)
                if not batch:
                    return done
                message = batch[0]
                try:
                    outcome, error = await self._deliver(session, message)
                except Exception as exc:  # a rendering bug must not block the queue
                    log.exception("outbox message %s could not be rendered", message.id)
                    outcome, error = Outcome.FAILED, repr(exc)
                now = self.clock.now()
                if outcome is Outcome.SENT:
                    await repo.mark_sent(message.id, now)
                else:
                    await repo.mark_failed(
                        message, now, error or outcome.value, final=outcome is Outcome.BLOCKED
                    )
                await session.commit()
                done += 1
        return done

    # --- rendering --------------------------------------------------------------------

    async def _deliver(
        self, session: AsyncSession, message: OutboxMessage
    ) -> tuple[Outcome, str | None]:
        user = await session.get(User, message.user_id)
        if user is not None and user.blocked_at is not None:
            return Outcome.BLOCKED, "blocked"
        language = pick_language(
            user.language if user else None,
            user.telegram_language if user else None,
            self.settings.default_language,
        )
        t = translator(language)
        appeal = await session.get(Appeal, message.appeal_id) if message.appeal_id else None
        if appeal is None:
            return Outcome.FAILED, "appeal gone"
        calls = await self._render(session, message, appeal, t)
        for call in calls:
            result = await self.sender.send(message.user_id, call, skip_check=True)
            if not result.ok:
                return result.outcome, result.error
        return Outcome.SENT, None

    async def _render(
        self, session: AsyncSession, message: OutboxMessage, appeal: Appeal, t: Translator
    ) -> list[Call]:
        p = message.params
        chat = message.user_id
        zone = self.settings.zone
        number = appeal.number
        if message.kind in ("appeal.task", "appeal.reminder"):
            if message.kind == "appeal.task":
                headline = t(f"appeal.notify.task_{p.get('reason', 'new')}")
            else:
                deadline = p.get("deadline", "accept")
                at = appeal.accept_due if deadline == "accept" else appeal.resolve_due
                headline = t(
                    f"appeal.notify.reminder_{deadline}",
                    number=number,
                    at=local_time(at, zone),
                    level=level_name(appeal.level, t),
                )
            # Whoever takes over from another level gets the appeal with its history.
            history = p.get("reason") in ("escalated", "called_up", "reopened", "transferred")
            return await self._card_calls(
                session,
                chat,
                appeal,
                t,
                headline,
                with_media=message.kind == "appeal.task",
                history=history,
            )
        if message.kind == "appeal.status":
            event = p.get("event", "")
            note = e(await self._last_note(session, appeal.id, event) or "—")
            text = t(
                f"appeal.notify.status_{event}",
                number=number,
                note=note,
                level=level_name(appeal.level, t),
            )
            markup: InlineKeyboardMarkup = (
                rating_buttons(appeal, t) if event == "resolved" else open_button(appeal, t)
            )
            calls: list[Call] = []
            if event == "resolved":
                calls += await self._photo_calls(
                    session, chat, appeal.id, by_staff=True, event_kind="resolved"
                )
            calls.append(lambda: self.bot.send_message(chat, text, reply_markup=markup))
            return calls
        if message.kind == "appeal.cancelled":
            text = t("appeal.notify.cancelled", number=number)
            return [lambda: self.bot.send_message(chat, text)]
        if message.kind == "appeal.rated":
            text = t(
                "appeal.notify.rated",
                number=number,
                rating=t(f"appeal.rating.{p.get('rating', 'satisfied')}"),
            )
            return [lambda: self.bot.send_message(chat, text)]
        if message.kind == "appeal.details":
            event = await session.get(AppealEvent, int(p.get("event_id", 0)))
            note = e(event.note) if event and event.note else ""
            text = t("appeal.notify.details", number=number) + (f"\n{note}" if note else "")
            media = await self._media_of_event(session, event.id if event else None)
            calls = self._media_calls(chat, media)
            calls.append(
                lambda: self.bot.send_message(
                    chat, text, reply_markup=task_buttons(appeal, chat, t)
                )
            )
            return calls
        raise ValueError(f"unknown outbox kind {message.kind}")

    async def _card_calls(
        self,
        session: AsyncSession,
        chat: int,
        appeal: Appeal,
        t: Translator,
        headline: str,
        *,
        with_media: bool,
        history: bool = False,
    ) -> list[Call]:
        text = await task_card(
            session,
            appeal,
            chat,
            t,
            self.settings.zone,
            self.policy,
            self.clock.now(),
            headline=headline,
            timeline=history,
        )
        calls = self._media_calls(chat, await resident_media(session, appeal)) if with_media else []
        markup = task_buttons(appeal, chat, t)
        calls.append(lambda: self.bot.send_message(chat, text, reply_markup=markup))
        return calls

    def _media_calls(self, chat: int, media: list[AppealMedia] | Any) -> list[Call]:
        calls: list[Call] = []
        photos = [m.file_id for m in media if m.kind == "photo"]
        if len(photos) == 1:
            calls.append(lambda: self.bot.send_photo(chat, photos[0]))
        elif photos:
            group: list[Any] = [InputMediaPhoto(media=f) for f in photos[:10]]
            calls.append(lambda: self.bot.send_media_group(chat, group))
        for voice in (m.file_id for m in media if m.kind == "voice"):
            calls.append(self._voice_call(chat, voice))
        return calls

    def _voice_call(self, chat: int, file_id: str) -> Call:
        return lambda: self.bot.send_voice(chat, file_id)

    async def _photo_calls(
        self, session: AsyncSession, chat: int, appeal_id: int, *, by_staff: bool, event_kind: str
    ) -> list[Call]:
        event = (
            await session.execute(
                select(AppealEvent)
                .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == event_kind)
                .order_by(AppealEvent.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return self._media_calls(
            chat, await self._media_of_event(session, event.id if event else None)
        )

    async def _media_of_event(
        self, session: AsyncSession, event_id: int | None
    ) -> list[AppealMedia]:
        if event_id is None:
            return []
        return list(
            (
                await session.execute(
                    select(AppealMedia)
                    .where(AppealMedia.event_id == event_id)
                    .order_by(AppealMedia.id)
                )
            )
            .scalars()
            .all()
        )

    async def _last_note(self, session: AsyncSession, appeal_id: int, kind: str) -> str | None:
        return (
            await session.execute(
                select(AppealEvent.note)
                .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == kind)
                .order_by(AppealEvent.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
