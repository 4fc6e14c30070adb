"""How dialog windows reach the chat: aiogram-dialog's message manager, made to send
nothing Telegram would refuse.

- A window whose text, buttons and media did not change is not edited again (aiogram-
  dialog edits whenever a window has buttons, and Telegram answers "message is not
  modified"): what each message last showed is remembered briefly (kit.shown, which
  forgets it when anything else edits the message), with the media ids it was shown
  with, so the dialog never learns an empty id for a chart.
- A text message is not edited into a photo (Telegram: "there is no media in the
  message to edit"): it is replaced.
- A callback query is answered once: a handler that already showed a toast (kit.toast)
  stops the dialog's own empty answer."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from aiogram import Bot
from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, InputFile, URLInputFile
from aiogram_dialog import ShowMode
from aiogram_dialog.api.entities import MediaAttachment, MediaId, NewMessage, OldMessage
from aiogram_dialog.context.media_storage import MediaIdStorage
from aiogram_dialog.manager.message_manager import MessageManager

from bot.kit.shown import Screen, ShownMessages
from bot.kit.toast import already_answered

_MEDIA = frozenset(
    {
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.DOCUMENT,
        ContentType.PHOTO,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.VOICE,
    }
)


def fingerprint(message: NewMessage) -> str:
    parts = [message.text or "", str(message.parse_mode)]
    markup = message.reply_markup
    if isinstance(markup, InlineKeyboardMarkup):
        parts.append(markup.model_dump_json(exclude_none=True))
    elif markup is not None:
        # Reply keyboards cannot be compared with what the chat shows: always send.
        return ""
    media = message.media
    if media is not None:
        # The file itself, not the id it is sent by: the first render of a chart has no
        # id yet, the next one the id Telegram gave it.
        source = media.path or media.url or (media.file_id.file_id if media.file_id else "")
        parts.append(f"{media.type}|{source}|{sorted(media.kwargs.items())}")
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()


def _known(media_id: MediaId | None) -> bool:
    return media_id is not None and bool(media_id.file_id)


class KnownMediaIds(MediaIdStorage):
    """aiogram-dialog's cache of the file id each media path was sent as, keeping only
    real ids: an empty one would be sent as ``photo=None`` next time."""

    def __init__(self, maxsize: int = 10_240) -> None:
        super().__init__(maxsize=maxsize)  # type: ignore[no-untyped-call]

    async def get_media_id(
        self, path: str | None, url: str | None, type: ContentType
    ) -> MediaId | None:
        media_id = await super().get_media_id(path, url, type)
        return media_id if _known(media_id) else None

    async def save_media_id(
        self, path: str | None, url: str | None, type: ContentType, media_id: MediaId
    ) -> None:
        if _known(media_id):
            await super().save_media_id(path, url, type, media_id)


class ScreenMessageManager(MessageManager):
    def __init__(self, shown: ShownMessages) -> None:
        self._shown = shown

    async def show_message(
        self, bot: Bot, new_message: NewMessage, old_message: OldMessage | None
    ) -> OldMessage:
        print_ = fingerprint(new_message)
        if (
            old_message is not None
            and print_
            and new_message.show_mode in (ShowMode.AUTO, ShowMode.EDIT)
        ):
            screen = self._shown.screen(old_message.chat.id, old_message.message_id)
            if screen is not None and screen.fingerprint == print_:
                # The message shows this already. aiogram-dialog stores the media id of
                # what is returned for the window's file: the one it was shown with, not
                # the pressed message's (none when that message is inaccessible or taken
                # from the stack; another chart's after a double tap).
                return replace(
                    old_message, media_id=screen.media_id, media_uniq_id=screen.media_uniq_id
                )
        shown = await super().show_message(bot, new_message, old_message)
        if print_:
            self._shown.remember_screen(
                shown.chat.id,
                shown.message_id,
                Screen(print_, shown.media_id, shown.media_uniq_id),
            )
        return shown

    def had_media(self, old_message: OldMessage) -> bool:
        # A message taken from the dialog's stack has no media id, only its type.
        return old_message.media_id is not None or old_message.content_type in _MEDIA

    def _can_edit(self, new_message: NewMessage, old_message: OldMessage) -> bool:
        if self.need_media(new_message) and not self.had_media(old_message):
            return False  # Telegram cannot turn a text message into a photo
        return super()._can_edit(new_message, old_message)

    async def get_media_source(self, media: MediaAttachment, bot: Bot) -> InputFile | str:
        if media.file_id and media.file_id.file_id:
            return media.file_id.file_id
        if media.url:
            return URLInputFile(media.url, bot=bot) if media.use_pipe else media.url
        if media.path:
            return FSInputFile(media.path)
        raise ValueError(f"media without a file: {media!r}")

    async def answer_callback(self, bot: Bot, callback_query: CallbackQuery) -> None:
        if already_answered(callback_query.id):
            return
        await super().answer_callback(bot, callback_query)
