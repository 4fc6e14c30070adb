"""How notice messages go out: the notice itself (re-sent with its entities, or its
media copied, under the sender's header), the sender's progress message (sent once,
then edited), the one reminder, and a grid worker's door-visit list."""

from __future__ import annotations

from aiogram.types import ReplyParameters
from sqlalchemy import select

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.notices.views import (
    ack_keyboard,
    copy_keyboard,
    header,
    progress_keyboard,
    progress_text,
    send_media,
    with_header,
)
from bot.formatting import e, local_time, split_messages
from storage.notices import Notice, NoticeService
from storage.notices.rules import RECALL_WITHIN, Effect, may_still_cause
from storage.notices.service import COPY, PROGRESS, RECALL, REMINDER, VISITS, Shown
from storage.outbox import OutboxMessage


async def _notice(r: Rendering, effect: Effect | None = None) -> tuple[Notice, str]:
    """The notice a message is about; Gone if it was deleted or, for a message carrying
    one of its ``effect``s, if its state no longer causes that (cancelled, recalled)."""
    notice = await r.services.session.get(Notice, r.message.subject_id or 0)
    if notice is None:
        raise Gone("notice deleted")
    if effect is not None and not may_still_cause(notice.state, effect):
        raise Gone(f"notice {notice.state}")
    node = await r.services.hierarchy.get(notice.node_id)
    return notice, node.name if node else "—"


async def render_copy(r: Rendering) -> list[Send]:
    notice, place = await _notice(r, Effect.COPY)
    text, entities = with_header(header(r.t, place, notice.urgent), notice.body, notice.entities)
    markup = copy_keyboard(r.t, notice, acked=False)
    chat = r.chat_id
    if notice.media is None:
        message: Send = lambda: r.bot.send_message(  # noqa: E731
            chat, text, entities=entities, parse_mode=None, reply_markup=markup
        )
        venue = notice.venue
        if venue is None:
            return [message]
        # The pin first: the text with its buttons is the message recorded (and edited).
        return [
            lambda: r.bot.send_venue(
                chat,
                latitude=float(venue["latitude"]),
                longitude=float(venue["longitude"]),
                title=str(venue["title"]),
                address=str(venue["address"]),
            ),
            message,
        ]
    if notice.file_id:
        media, file_id = notice.media, notice.file_id
        return [lambda: send_media(r.bot, chat, media, file_id, text, entities, markup)]
    return [  # a notice written before file ids were kept: from the officer's message
        lambda: r.bot.copy_message(
            chat,
            notice.source_chat_id,
            notice.source_message_id,
            caption=text,
            caption_entities=entities,
            parse_mode=None,
            reply_markup=markup,
        )
    ]


async def render_progress(r: Rendering) -> list[Send]:
    notice, place = await _notice(r)
    if not r.params.get("shown"):
        raise Gone("nothing to show")
    shown = Shown.decode(str(r.params["shown"]))
    text = progress_text(r.t, notice, shown, place, r.settings.send_rate, r.settings.zone)
    markup = progress_keyboard(r.t, notice, shown, r.services.now())
    chat = r.chat_id
    existing = await r.services.get(NoticeService).progress_message_id(notice)
    if existing is None:
        return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]
    return [
        lambda: r.bot.edit_message_text(
            text, chat_id=chat, message_id=existing, reply_markup=markup
        )
    ]


async def render_reminder(r: Rendering) -> list[Send]:
    notice, place = await _notice(r, Effect.REMINDER)
    if await r.services.get(NoticeService).acked(notice.id, r.chat_id):
        raise Gone("acknowledged meanwhile")
    original = await r.services.session.scalar(
        select(OutboxMessage.message_id).where(
            OutboxMessage.kind == COPY,
            OutboxMessage.subject_id == notice.id,
            OutboxMessage.user_id == r.chat_id,
        )
    )
    text = r.t(
        "notice.reminder", place=e(place), date=local_time(notice.created_at, r.settings.zone)
    )
    reply = (
        ReplyParameters(message_id=original, allow_sending_without_reply=True) if original else None
    )
    chat, markup = r.chat_id, ack_keyboard(r.t, notice.id, acked=False)
    return [lambda: r.bot.send_message(chat, text, reply_parameters=reply, reply_markup=markup)]


async def render_visits(r: Rendering) -> list[Send]:
    notice, place = await _notice(r, Effect.VISITS)
    grid_id = int(r.params.get("grid_id", 0))
    households = await r.services.get(NoticeService).door_visits(notice, grid_id)
    if not households:
        raise Gone("everyone acknowledged")
    blocks = [
        r.t(
            "notice.visits.head",
            id=notice.id,
            place=e(place),
            date=local_time(notice.created_at, r.settings.zone),
            n=len(households),
        )
    ]
    for i, h in enumerate(households, 1):
        blocks.append(
            r.t(
                "notice.visits.line",
                i=i,
                building=e(h.building),
                name=e(h.name),
                phone=e(h.phone) if h.phone else r.t("notice.visits.no_phone"),
            )
        )
    chat = r.chat_id

    def send(text: str) -> Send:
        return lambda: r.bot.send_message(chat, text)

    return [send(text) for text in split_messages(blocks)]


async def render_recall(r: Rendering) -> list[Send]:
    notice, _ = await _notice(r)
    message_id = int(r.params.get("message_id", 0))
    if r.services.now() - notice.created_at >= RECALL_WITHIN or not message_id:
        raise Gone("too old to delete")
    chat = r.chat_id
    return [lambda: r.bot.delete_message(chat, message_id)]


RENDERERS: dict[str, Renderer] = {
    COPY: render_copy,
    PROGRESS: render_progress,
    REMINDER: render_reminder,
    VISITS: render_visits,
    RECALL: render_recall,
}
