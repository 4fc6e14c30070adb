"""How the appeal messages the outbox owes are shown: push tasks and reminders to staff
(the card with the buttons the recipient may press), status changes to the resident and
followers, and the rest. Each renderer turns one outbox row into Bot API calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.appeals.views import (
    level_name,
    open_button,
    rating_buttons,
    resident_media,
    task_buttons,
    task_card,
)
from bot.formatting import e, local_time
from storage.appeals import Appeal, AppealEvent, AppealMedia, AppealPolicy

# Whoever takes over from another level gets the appeal with its history.
_WITH_HISTORY = ("escalated", "called_up", "reopened", "transferred")


async def _appeal(r: Rendering) -> Appeal:
    appeal_id = r.message.subject_id
    appeal = await r.services.session.get(Appeal, appeal_id) if appeal_id else None
    if appeal is None:
        raise Gone("appeal gone")
    return appeal


def _media_sends(r: Rendering, media: Sequence[AppealMedia]) -> list[Send]:
    chat = r.chat_id
    sends: list[Send] = []
    photos = [m.file_id for m in media if m.kind == "photo"]
    if len(photos) == 1:
        sends.append(lambda: r.bot.send_photo(chat, photos[0]))
    elif photos:
        group: list[Any] = [InputMediaPhoto(media=f) for f in photos[:10]]
        sends.append(lambda: r.bot.send_media_group(chat, group))
    for voice in (m.file_id for m in media if m.kind == "voice"):
        sends.append(_voice(r, voice))
    return sends


def _voice(r: Rendering, file_id: str) -> Send:
    chat = r.chat_id
    return lambda: r.bot.send_voice(chat, file_id)


async def _card_sends(
    r: Rendering, appeal: Appeal, headline: str, *, with_media: bool
) -> list[Send]:
    text = await task_card(
        r.services.session,
        appeal,
        r.chat_id,
        r.t,
        r.settings.zone,
        r.services.config(AppealPolicy),
        r.services.now(),
        headline=headline,
        timeline=r.params.get("reason") in _WITH_HISTORY,
    )
    sends = _media_sends(r, await resident_media(r.services.session, appeal)) if with_media else []
    markup = task_buttons(appeal, await r.staffing(), r.t)
    chat = r.chat_id
    sends.append(lambda: r.bot.send_message(chat, text, reply_markup=markup))
    return sends


async def render_task(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    headline = r.t(f"appeal.notify.task_{r.params.get('reason', 'new')}")
    return await _card_sends(r, appeal, headline, with_media=True)


async def render_reminder(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    deadline = r.params.get("deadline", "accept")
    at = appeal.accept_due if deadline == "accept" else appeal.resolve_due
    headline = r.t(
        f"appeal.notify.reminder_{deadline}",
        number=appeal.number,
        at=local_time(at, r.settings.zone),
        level=level_name(appeal.level, r.t),
    )
    return await _card_sends(r, appeal, headline, with_media=False)


async def render_status(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    session = r.services.session
    event = r.params.get("event", "")
    note = e(await _last_note(session, appeal.id, event) or "—")
    text = r.t(
        f"appeal.notify.status_{event}",
        number=appeal.number,
        note=note,
        level=level_name(appeal.level, r.t),
    )
    markup: InlineKeyboardMarkup = (
        rating_buttons(appeal, r.t) if event == "resolved" else open_button(appeal, r.t)
    )
    sends: list[Send] = []
    if event == "resolved":
        sends += _media_sends(r, await _media_of_last(session, appeal.id, "resolved"))
    chat = r.chat_id
    sends.append(lambda: r.bot.send_message(chat, text, reply_markup=markup))
    return sends


async def render_cancelled(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    text = r.t("appeal.notify.cancelled", number=appeal.number)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_rated(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    text = r.t(
        "appeal.notify.rated",
        number=appeal.number,
        rating=r.t(f"appeal.rating.{r.params.get('rating', 'satisfied')}"),
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_details(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    session = r.services.session
    event = await session.get(AppealEvent, int(r.params.get("event_id", 0)))
    note = e(event.note) if event and event.note else ""
    text = r.t("appeal.notify.details", number=appeal.number) + (f"\n{note}" if note else "")
    sends = _media_sends(r, await _media_of_event(session, event.id if event else None))
    markup = task_buttons(appeal, await r.staffing(), r.t)
    chat = r.chat_id
    sends.append(lambda: r.bot.send_message(chat, text, reply_markup=markup))
    return sends


async def _media_of_last(session: AsyncSession, appeal_id: int, kind: str) -> list[AppealMedia]:
    event_id = (
        await session.execute(
            select(AppealEvent.id)
            .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == kind)
            .order_by(AppealEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return await _media_of_event(session, event_id)


async def _media_of_event(session: AsyncSession, event_id: int | None) -> list[AppealMedia]:
    if event_id is None:
        return []
    rows = await session.execute(
        select(AppealMedia).where(AppealMedia.event_id == event_id).order_by(AppealMedia.id)
    )
    return list(rows.scalars().all())


async def _last_note(session: AsyncSession, appeal_id: int, kind: str) -> str | None:
    return (
        await session.execute(
            select(AppealEvent.note)
            .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == kind)
            .order_by(AppealEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


RENDERERS: dict[str, Renderer] = {
    "appeal.task": render_task,
    "appeal.reminder": render_reminder,
    "appeal.status": render_status,
    "appeal.cancelled": render_cancelled,
    "appeal.rated": render_rated,
    "appeal.details": render_details,
}
