"""What a notice looks like in a recipient's chat (the sender's header above the text as
written, with its formatting entities moved along, never re-rendered as HTML) and the
sender's progress message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity

from bot.dialogs.notices.callbacks import NoticeAckPress, NoticeControl
from bot.formatting import e, local_time
from bot.i18n import Translator
from storage.notices import Notice, NoticeState
from storage.notices.rules import actions
from storage.notices.service import Progress, Shown

PREVIEW = 0  # the notice id under the sender's preview: no notice has it
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def utf16_len(text: str) -> int:
    """Telegram counts offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def with_header(
    header: str, body: str, entities: list[dict[str, Any]]
) -> tuple[str, list[MessageEntity]]:
    """``header`` in bold on its own line, then ``body`` with its entities shifted."""
    if not body:
        return header, [MessageEntity(type="bold", offset=0, length=utf16_len(header))]
    shift = utf16_len(header) + 2
    moved = [MessageEntity(type="bold", offset=0, length=utf16_len(header))]
    for entity in entities:
        moved.append(MessageEntity(**{**entity, "offset": int(entity["offset"]) + shift}))
    return f"{header}\n\n{body}", moved


async def send_media(
    bot: Bot,
    chat_id: int,
    media: str,
    file_id: str,
    caption: str,
    entities: list[MessageEntity],
    markup: InlineKeyboardMarkup | None,
) -> Message:
    """A media notice sent from its file id, with the header and the officer's caption
    and formatting (anything but a photo, video, voice note or audio goes as a file)."""
    senders: dict[str, Callable[..., Awaitable[Message]]] = {
        "photo": bot.send_photo,
        "video": bot.send_video,
        "voice": bot.send_voice,
        "audio": bot.send_audio,
    }
    return await senders.get(media, bot.send_document)(
        chat_id,
        file_id,
        caption=caption,
        caption_entities=entities,
        parse_mode=None,
        reply_markup=markup,
    )


def room_left(header: str, body: str, media: str | None) -> int:
    """How many characters the body is over the limit once the header is added (≤ 0
    means it fits)."""
    limit = CAPTION_LIMIT if media else TEXT_LIMIT
    return utf16_len(header) + 2 + utf16_len(body) - limit


def header(t: Translator, place: str, urgent: bool) -> str:
    """Plain text: it goes out with entities, not HTML."""
    return t("notice.header_urgent" if urgent else "notice.header", place=place)


def ack_keyboard(t: Translator, notice_id: int, acked: bool) -> InlineKeyboardMarkup:
    label = t("notice.button.acked" if acked else "notice.button.ack")
    data = NoticeAckPress(notice_id=notice_id).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data)]]
    )


def without_receipt(
    markup: InlineKeyboardMarkup | None, notice: Notice | None
) -> InlineKeyboardMarkup | None:
    """A pressed message's buttons once its notice takes no more receipts: none for a
    recalled (or deleted) notice, whose message should be gone; for a cancelled one the
    buttons other features put there stay, without 已收到."""
    if markup is None or notice is None or notice.state == NoticeState.RECALLED:
        return None
    prefix = NoticeAckPress.__prefix__ + NoticeAckPress.__separator__
    rows = [
        kept
        for row in markup.inline_keyboard
        if (kept := [b for b in row if not (b.callback_data or "").startswith(prefix)])
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def copy_keyboard(t: Translator, notice: Notice, *, acked: bool) -> InlineKeyboardMarkup | None:
    """Under a recipient's copy: 已收到 (or 已确认) if asked for, then the buttons the
    feature that sent the notice put there, each on its own row."""
    rows = ack_keyboard(t, notice.id, acked).inline_keyboard if notice.ack_required else []
    extra = [
        [InlineKeyboardButton(text=t(label), callback_data=data)]
        for label, data in notice.actions or []
    ]
    rows = [*rows, *extra]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def control_keyboard(
    t: Translator, notice_id: int, actions: list[str]
) -> InlineKeyboardMarkup | None:
    if not actions:
        return None
    row = [
        InlineKeyboardButton(
            text=t(f"notice.button.{action}"),
            callback_data=NoticeControl(action=action, notice_id=notice_id).pack(),
        )
        for action in actions
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row])


def ask_keyboard(t: Translator, notice_id: int, action: str) -> InlineKeyboardMarkup:
    """An irreversible action asked first: 确认 | 不 (``action``_yes, ``action``_no)."""
    markup = control_keyboard(t, notice_id, [f"{action}_yes", f"{action}_no"])
    assert markup is not None
    return markup


def progress_keyboard(
    t: Translator, notice: Notice, shown: Shown, now: datetime
) -> InlineKeyboardMarkup | None:
    """What can be done to the notice now, or the question pending on the message: the
    one pending now, not when the update was owed (an update written before the question
    was asked must not take it off)."""
    allowed = actions(shown.state, shown.progress.failed, notice.created_at, now)
    if notice.asking and notice.asking in allowed:
        return ask_keyboard(t, notice.id, notice.asking)
    return control_keyboard(t, notice.id, allowed)


def waiting_lines(
    t: Translator, state: str, progress: Progress, rate: float, zone: ZoneInfo
) -> list[str]:
    """Of the copies still owed, those held for their recipients' quiet hours (and until
    when), apart from those going out now (and how long that takes)."""
    lines = []
    if progress.quiet and progress.quiet_until is not None:
        until = local_time(progress.quiet_until, zone)
        lines.append(t("notice.progress.quiet", n=progress.quiet, until=until))
    now = progress.waiting - progress.quiet
    if state == NoticeState.SENDING and now > 0:
        lines.append(t("notice.progress.eta", minutes=max(1, round(now / rate / 60))))
    return lines


def progress_text(
    t: Translator, notice: Notice, shown: Shown, place: str, rate: float, zone: ZoneInfo
) -> str:
    """The progress message for what the job saw (``Shown``), so two in a row never read
    the same."""
    progress = shown.progress
    if shown.state == NoticeState.SCHEDULED and notice.send_at is not None:
        return "\n".join(
            [
                t(
                    "notice.progress.scheduled",
                    id=notice.id,
                    place=e(place),
                    when=local_time(notice.send_at, zone),
                ),
                t("notice.progress.planned", total=notice.recipients),
            ]
        )
    lines = [
        t(f"notice.progress.{shown.state}", id=notice.id, place=e(place)),
        t(
            "notice.progress.figures",
            total=notice.recipients,
            sent=progress.sent,
            waiting=progress.waiting,
            failed=progress.failed,
            blocked=progress.blocked + notice.blocked,
        ),
    ]
    lines.extend(waiting_lines(t, shown.state, progress, rate, zone))
    if notice.ack_required:
        lines.append(t("notice.progress.acked", acked=progress.acked, sent=progress.sent))
    return "\n".join(lines)
