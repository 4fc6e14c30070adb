"""How the appeal messages the outbox owes are shown: push tasks and reminders to staff
(the card with the buttons the recipient may press), status changes to the resident and
followers, and the rest. Each renderer turns one outbox row into Bot API calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto, ReplyKeyboardRemove
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.appeals.views import (
    Viewing,
    filed_text,
    holder_name,
    level_name,
    open_button,
    rating_buttons,
    resident_media,
    task_buttons,
    task_card,
)
from bot.formatting import e, local_time
from bot.i18n import Translator
from storage.appeals import Appeal, AppealEvent, AppealMedia, AppealPolicy
from storage.roles import Role, StaffRepo
from storage.staff.profiles import ProfileRepo
from storage.users import User


async def _appeal(r: Rendering) -> Appeal:
    appeal_id = r.message.subject_id
    appeal = await r.services.session.get(Appeal, appeal_id) if appeal_id else None
    if appeal is None:
        raise Gone("appeal gone")
    return appeal


def _viewing(r: Rendering) -> Viewing:
    return Viewing(
        r.services.session, r.t, r.settings.zone, r.services.config(AppealPolicy), r.services.now()
    )


def _text(r: Rendering, text: str, markup: Any = None) -> Send:
    chat = r.chat_id
    return lambda: r.bot.send_message(chat, text, reply_markup=markup)


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


async def who(session: AsyncSession, user_id: int | None, t: Translator) -> tuple[str, str | None]:
    """A staff member as the resident hears of them: "赵丽娟（网格员）", and the work phone
    only if they chose to share it."""
    if user_id is None:
        return t("appeal.card.staff"), None
    user = await session.get(User, user_id)
    staffing = await StaffRepo(session).staffing(user_id)
    role = t(f"roles.{(staffing.top_role or Role.WORKER).value}")
    contact = await ProfileRepo(session).public_contact(user_id)
    phone = e(contact.phone) if contact and contact.phone else None
    if user is None:
        return role, phone
    return t("appeal.card.who", name=e(user.display_name), role=role), phone


# --- to staff -------------------------------------------------------------------------------


async def _card_sends(
    r: Rendering, appeal: Appeal, headline: str, *, with_media: bool
) -> list[Send]:
    staffing = await r.staffing()
    text = await task_card(_viewing(r), appeal, staffing, headline=headline)
    media = await resident_media(r.services.session, appeal) if with_media else []
    sends = _media_sends(r, media)
    sends.append(_text(r, text, task_buttons(appeal, staffing, r.t)))
    return sends


async def render_task(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    reason = str(r.params.get("reason", "new"))
    session = r.services.session
    if reason == "reopened":
        said = e(appeal.rating_comment) if appeal.rating_comment else r.t("appeal.notify.no_reason")
        headline = r.t("appeal.notify.task_reopened", reason=said)
    elif reason == "assigned":
        assigner = await holder_name(session, appeal, r.t)
        at = local_time(appeal.window_due, r.settings.zone)
        headline = r.t("appeal.notify.task_assigned", assigner=assigner, at=at)
    else:
        headline = r.t(f"appeal.notify.task_{reason}")
    return await _card_sends(r, appeal, headline, with_media=reason not in ("closed_unsatisfied",))


async def render_reminder(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    session = r.services.session
    deadline = str(r.params.get("deadline", "accept"))
    values: dict[str, str] = {
        "number": appeal.number,
        "at": local_time(appeal.window_due, r.settings.zone),
        "level": level_name(appeal.level, r.t),
        "node": await holder_name(session, appeal, r.t),
    }
    if deadline == "taken":
        values["who"] = (await who(session, appeal.owner_id, r.t))[0]
    if deadline == "supervised":
        event = await session.get(AppealEvent, int(r.params.get("event_id", 0)))
        values["who"] = (await who(session, event.actor_id if event else None, r.t))[0]
        values["note"] = e(event.note) if event and event.note else "—"
    headline = r.t(f"appeal.notify.reminder_{deadline}", **values)
    return await _card_sends(r, appeal, headline, with_media=False)


async def render_details(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    session = r.services.session
    event = await session.get(AppealEvent, int(r.params.get("event_id", 0)))
    note = e(event.note) if event and event.note else ""
    text = r.t("appeal.notify.details", number=appeal.number) + (f"\n{note}" if note else "")
    sends = _media_sends(r, await _media_of_event(session, event.id if event else None))
    sends.append(_text(r, text, task_buttons(appeal, await r.staffing(), r.t)))
    return sends


async def render_cancelled(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    return [_text(r, r.t("appeal.notify.cancelled", number=appeal.number))]


async def render_rated(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    rating = r.t(f"appeal.rating.{r.params.get('rating', 'satisfied')}")
    return [_text(r, r.t("appeal.notify.rated", number=appeal.number, rating=rating))]


# --- to the resident ------------------------------------------------------------------------


async def render_filed(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    text = filed_text(appeal, r.services.config(AppealPolicy), r.t, r.settings.zone)
    # No location or phone keyboard outlives the form.
    return [_text(r, text, ReplyKeyboardRemove())]


async def render_status(r: Rendering) -> list[Send]:
    appeal = await _appeal(r)
    session = r.services.session
    event = str(r.params.get("event", ""))
    note = e(await _last_note(session, appeal.id, event) or "—")
    values = {
        "number": appeal.number,
        "note": note,
        "level": await holder_name(session, appeal, r.t),
    }
    key = f"appeal.notify.status_{event}"
    if event in ("accepted", "assigned"):
        values["who"], phone = await who(session, appeal.owner_id, r.t)
        if event == "accepted" and phone:
            key, values["phone"] = "appeal.notify.status_accepted_phone", phone
    if event in ("escalated", "called_up"):
        values["level"] = level_name(appeal.level, r.t)
    markup: InlineKeyboardMarkup = (
        rating_buttons(appeal, r.t) if event == "resolved" else open_button(appeal, r.t)
    )
    sends: list[Send] = []
    if event == "resolved":
        sends += _media_sends(r, await _media_of_last(session, appeal.id, "resolved"))
    sends.append(_text(r, r.t(key, **values), markup))
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
    "appeal.details": render_details,
    "appeal.cancelled": render_cancelled,
    "appeal.rated": render_rated,
    "appeal.filed": render_filed,
    "appeal.status": render_status,
}
