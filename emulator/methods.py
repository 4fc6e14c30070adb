"""Bot API method implementations operating on the emulated world."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request, forbidden
from .files import MAX_DOWNLOAD_BYTES, FileStore, StoredFile, sample_png
from .validation import (
    MAX_CALLBACK_ANSWER,
    Params,
    Upload,
    check_caption,
    check_commands,
    check_language_code,
    check_text,
    format_text,
    inline_markup_of,
    parse_reply_markup,
    require,
    scope_key,
)
from .world import ChatState, StoredMessage, World

Handler = Callable[["Context", Params], Awaitable[Any]]

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
# Method param name -> (message field, stored file kind).
_MEDIA_FIELDS = {
    "photo": ("photo", "photo"),
    "document": ("document", "document"),
    "voice": ("voice", "voice"),
    "video": ("video", "document"),
    "audio": ("audio", "document"),
    "animation": ("animation", "document"),
    "video_note": ("video_note", "document"),
    "sticker": ("sticker", "document"),
}
_MEDIA_KEYS = tuple(field for field, _ in _MEDIA_FIELDS.values())
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
DELETE_WINDOW_SECONDS = 48 * 3600  # a bot deletes its own messages only this long
_KIND_NAMES = {"photo": "Photo", "voice": "VoiceNote", "document": "Document"}


@dataclass
class Context:
    world: World
    files: FileStore
    strict_html: bool

    # --- lookups ------------------------------------------------------------------------

    def chat(self, chat_id: Any) -> ChatState:
        state = self.world.chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is not None and state.group is not None:
            group = state.group
            if not group.bot_member:
                raise forbidden(f"bot is not a member of the {group.kind} chat")
            if group.kind == "channel" and not group.bot_can_post:
                raise bad_request("need administrator rights in the channel chat")
            return state
        if state is None or not state.opened:
            raise bad_request("chat not found")
        return state

    def editable(self, p: Params) -> tuple[ChatState, StoredMessage]:
        if p.get("inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID")
        if p.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        if p.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self.chat(p.get("chat_id"))
        message = chat.find(p.integer("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    # --- content building ---------------------------------------------------------------

    def text_content(self, p: Params, text_field: str = "text") -> dict[str, Any]:
        visible, entities = format_text(
            p.string(text_field),
            p.get("parse_mode"),
            p.get("entities"),
            strict_html=self.strict_html,
        )
        check_text(visible)
        content: dict[str, Any] = {"text": visible}
        if entities:
            content["entities"] = entities
        return content

    def caption_content(
        self, caption: Any, parse_mode: Any, entities: Any, above: bool = False
    ) -> dict[str, Any]:
        if caption is None or caption == "":
            return {}
        visible, parsed = format_text(
            str(caption), parse_mode, entities, strict_html=self.strict_html
        )
        check_caption(visible)
        content: dict[str, Any] = {"caption": visible}
        if parsed:
            content["caption_entities"] = parsed
        if above:
            content["show_caption_above_media"] = True
        return content

    def stored_file(self, value: Any, kind: str, param: str) -> StoredFile:
        if isinstance(value, Upload):
            return self.files.add(kind, value.data, value.filename, value.content_type)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # Real Telegram downloads the URL; the emulator never leaves localhost.
            name = value.rsplit("/", 1)[-1] or None
            data = sample_png() if kind == "photo" else b""
            return self.files.add(kind, data, name)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {param} in the request")
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(
                f"can't use file of type {_KIND_NAMES[stored.kind]} as {_KIND_NAMES[kind]}"
            )
        return stored

    def media_content(self, param: str, value: Any, p: Params | None) -> dict[str, Any]:
        field, kind = _MEDIA_FIELDS[param]
        stored = self.stored_file(value, kind, param)
        return {field: media_object(stored, field, p)}

    def post(
        self,
        chat: ChatState,
        content: dict[str, Any],
        p: Params,
        *,
        html: str | None = None,
    ) -> StoredMessage:
        markup = parse_reply_markup(p.get("reply_markup"))
        content = {**content, **self.reply_to(chat, p)}
        inline = inline_markup_of(markup)
        if inline:
            content["reply_markup"] = inline
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        if p.flag("protect_content"):
            content["has_protected_content"] = True
        return self.world.add_message(
            chat,
            True,
            content,
            html=html,
            parse_mode=p.get("parse_mode"),
            sent_reply_markup=markup,
        )

    def reply_to(self, chat: ChatState, p: Params) -> dict[str, Any]:
        params = p.get("reply_parameters")
        target = params.get("message_id") if isinstance(params, dict) else None
        if target is None:
            target = p.get("reply_to_message_id")
        if target is None:
            return {}
        replied = chat.find(int(target))
        if replied is None:
            allow = isinstance(params, dict) and params.get("allow_sending_without_reply")
            if allow or p.flag("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        snapshot = replied.snapshot()
        snapshot.pop("reply_to_message", None)
        return {"reply_to_message": snapshot}


def media_object(stored: StoredFile, field: str, p: Params | None) -> Any:
    base: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if field == "photo":
        return photo_sizes(stored)
    if stored.mime_type:
        base["mime_type"] = stored.mime_type
    if field in ("document", "audio", "animation", "video") and stored.file_name:
        base["file_name"] = stored.file_name
    if field in ("voice", "audio", "video", "animation", "video_note"):
        # A file sent on by file_id keeps the length it was stored with.
        if p is not None and p.get("duration") is not None:
            stored.duration = p.integer("duration", 1)
        base["duration"] = stored.duration or 1
    if field == "voice":
        base.setdefault("mime_type", "audio/ogg")
    if field in ("video", "animation"):
        base.update(
            width=p.integer("width", 320) if p else 320,
            height=p.integer("height", 240) if p else 240,
        )
    if field == "video_note":
        base["length"] = p.integer("length", 240) if p else 240
    if field == "sticker":
        base.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
    return base


def photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    full = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": stored.width,
        "height": stored.height,
    }
    largest = max(stored.width, stored.height)
    if largest <= 90:
        return [full]
    # Telegram always adds smaller thumbnails before the original size.
    scale = 90 / largest
    thumb = {
        **full,
        "file_id": stored.file_id[:-4] + "AAAB",
        "file_unique_id": stored.file_unique_id[:-2] + "Ax",
        "width": max(1, round(stored.width * scale)),
        "height": max(1, round(stored.height * scale)),
    }
    return [thumb, full]


def _content_key(message: StoredMessage, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: message.raw.get(k) for k in keys}


def _media_of(message: StoredMessage) -> dict[str, Any]:
    return {k: message.raw[k] for k in _MEDIA_KEYS if k in message.raw}


# --- bot / updates -----------------------------------------------------------------------


async def get_me(ctx: Context, p: Params) -> Any:
    return {
        **ctx.world.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(ctx: Context, p: Params) -> Any:
    if ctx.world.webhook.get("url"):
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    queue = ctx.world.updates
    queue.poll_generation += 1
    generation = queue.poll_generation
    queue.wake()  # an older long poll still waiting must now end with 409
    limit = min(max(p.integer("limit", 100), 1), 100)
    timeout = max(p.integer("timeout", 0), 0)
    allowed = p.get("allowed_updates")
    if isinstance(allowed, list):
        queue.allowed_updates = [str(a) for a in allowed]
    queue.confirm(p.integer("offset", 0))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if generation != queue.poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        updates = queue.take(limit)
        remaining = deadline - loop.time()
        if updates or queue.closing or remaining <= 0:
            return updates
        await queue.wait(remaining)


async def set_webhook(ctx: Context, p: Params) -> Any:
    url = p.string("url")
    require(
        not url or url.startswith("https://"),
        "bad webhook: An HTTPS URL must be provided for webhook",
    )
    ctx.world.webhook = {"url": url}
    if p.flag("drop_pending_updates"):
        ctx.world.updates.drop_all()
    return True


async def delete_webhook(ctx: Context, p: Params) -> Any:
    ctx.world.webhook = {"url": ""}
    if p.flag("drop_pending_updates"):
        ctx.world.updates.drop_all()
    return True


async def get_webhook_info(ctx: Context, p: Params) -> Any:
    return {
        "url": ctx.world.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": ctx.world.updates.pending_count,
    }


async def return_true(ctx: Context, p: Params) -> Any:
    return True


# --- sending -----------------------------------------------------------------------------


async def send_message(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    content = ctx.text_content(p)
    if isinstance(p.get("link_preview_options"), dict):
        content["link_preview_options"] = p.get("link_preview_options")
    return ctx.post(chat, content, p, html=p.string("text")).snapshot()


def _media_sender(param: str) -> Handler:
    async def send(ctx: Context, p: Params) -> Any:
        chat = ctx.chat(p.get("chat_id"))
        caption = ctx.caption_content(
            p.get("caption"),
            p.get("parse_mode"),
            p.get("caption_entities"),
            p.flag("show_caption_above_media"),
        )
        content = {**ctx.media_content(param, p.get(param), p), **caption}
        html = p.get("caption")
        return ctx.post(chat, content, p, html=None if html is None else str(html)).snapshot()

    return send


async def send_location(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    lat, lon = float(p.get("latitude")), float(p.get("longitude"))
    require(-90 <= lat <= 90 and -180 <= lon <= 180, "wrong latitude or longitude specified")
    location: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if p.get("horizontal_accuracy") is not None:
        location["horizontal_accuracy"] = float(p.get("horizontal_accuracy"))
    return ctx.post(chat, {"location": location}, p).snapshot()


async def send_venue(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    lat, lon = float(p.get("latitude")), float(p.get("longitude"))
    require(-90 <= lat <= 90 and -180 <= lon <= 180, "wrong latitude or longitude specified")
    title, address = p.string("title"), p.string("address")
    require(bool(title.strip()), "venue title is empty")
    require(bool(address.strip()), "venue address is empty")
    location = {"latitude": lat, "longitude": lon}
    venue = {"location": location, "title": title, "address": address}
    return ctx.post(chat, {"venue": venue, "location": location}, p).snapshot()


async def send_contact(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    contact = {"phone_number": p.string("phone_number"), "first_name": p.string("first_name")}
    if p.get("last_name"):
        contact["last_name"] = p.string("last_name")
    return ctx.post(chat, {"contact": contact}, p).snapshot()


async def send_media_group(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    media = p.get("media")
    require(isinstance(media, list), "can't parse media JSON object")
    require(2 <= len(media) <= 10, "wrong number of media in the album: must be 2-10")
    types = {item.get("type") if isinstance(item, dict) else None for item in media}
    require(None not in types, "can't parse InputMedia JSON object")
    if len(types) > 1 and ("document" in types or "audio" in types):
        raise bad_request(
            "documents and audio files can't be mixed with other media types in an album"
        )
    group_id = str(secrets.randbelow(10**18) + 10**17)
    contents: list[dict[str, Any]] = []
    for item in media:
        kind = str(item["type"])
        require(kind in ("photo", "video", "document", "audio"), "wrong media type in the album")
        caption = ctx.caption_content(
            item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
        )
        built = ctx.media_content(kind, p.resolve(item.get("media")), None)
        contents.append({**built, **caption, "media_group_id": group_id})
    return [ctx.post(chat, content, p).snapshot() for content in contents]


async def send_chat_action(ctx: Context, p: Params) -> Any:
    ctx.chat(p.get("chat_id"))
    require(p.string("action") in _CHAT_ACTIONS, "wrong parameter action in request")
    return True


async def copy_message(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    source = ctx.chat(p.get("from_chat_id")).find(p.integer("message_id"))
    if source is None:
        raise bad_request("message to copy not found")
    content = {
        k: v for k, v in source.raw.items() if k in ("text", "entities", "location", "contact")
    }
    content.update(_media_of(source))
    if source.caption is not None or p.get("caption") is not None:
        if p.get("caption") is not None:
            content.update(
                ctx.caption_content(
                    p.get("caption"), p.get("parse_mode"), p.get("caption_entities")
                )
            )
        else:
            content["caption"] = source.caption
            if source.raw.get("caption_entities"):
                content["caption_entities"] = source.raw["caption_entities"]
    copied = ctx.post(chat, content, p, html=source.html)
    return {"message_id": copied.message_id}


async def forward_message(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    source = ctx.chat(p.get("from_chat_id")).find(p.integer("message_id"))
    if source is None:
        raise bad_request("message to forward not found")
    content = {
        k: v
        for k, v in source.raw.items()
        if k not in ("message_id", "from", "chat", "date", "edit_date", "reply_to_message")
        and k != "reply_markup"
    }
    content["forward_origin"] = {
        "type": "user",
        "sender_user": source.raw["from"],
        "date": source.date,
    }
    return ctx.world.add_message(chat, True, content, html=source.html).snapshot()


# --- editing and deleting ----------------------------------------------------------------


async def edit_message_text(ctx: Context, p: Params) -> Any:
    _, message = ctx.editable(p)
    content = ctx.text_content(p)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    markup = inline_markup_of(parse_reply_markup(p.get("reply_markup"), inline_only=True))
    if markup:
        content["reply_markup"] = markup
    keys = ("text", "entities", "reply_markup")
    if _content_key(message, keys) == {k: content.get(k) for k in keys}:
        raise bad_request(_NOT_MODIFIED)
    ctx.world.replace_content(message, content, keep=("reply_to_message", "forward_origin"))
    message.html, message.parse_mode = p.string("text"), p.get("parse_mode")
    return message.snapshot()


async def edit_message_caption(ctx: Context, p: Params) -> Any:
    _, message = ctx.editable(p)
    media = _media_of(message)
    if not media:
        raise bad_request("there is no caption in the message to edit")
    content = {
        **media,
        **ctx.caption_content(
            p.get("caption"),
            p.get("parse_mode"),
            p.get("caption_entities"),
            p.flag("show_caption_above_media"),
        ),
    }
    markup = inline_markup_of(parse_reply_markup(p.get("reply_markup"), inline_only=True))
    if markup:
        content["reply_markup"] = markup
    keys = ("caption", "caption_entities", "reply_markup")
    if _content_key(message, keys) == {k: content.get(k) for k in keys}:
        raise bad_request(_NOT_MODIFIED)
    ctx.world.replace_content(message, content, keep=("media_group_id", "reply_to_message"))
    caption = p.get("caption")
    message.html = None if caption is None else str(caption)
    return message.snapshot()


async def edit_message_reply_markup(ctx: Context, p: Params) -> Any:
    _, message = ctx.editable(p)
    markup = inline_markup_of(parse_reply_markup(p.get("reply_markup"), inline_only=True))
    if message.reply_markup == markup:
        raise bad_request(_NOT_MODIFIED)
    content = {
        k: v
        for k, v in message.raw.items()
        if k not in ("message_id", "from", "chat", "date", "edit_date", "reply_markup")
    }
    if markup:
        content["reply_markup"] = markup
    ctx.world.replace_content(message, content)
    return message.snapshot()


async def edit_message_media(ctx: Context, p: Params) -> Any:
    _, message = ctx.editable(p)
    if not _media_of(message):
        raise bad_request("there is no media in the message to edit")
    media = p.get("media")
    require(isinstance(media, dict), "can't parse InputMedia JSON object")
    kind = str(media.get("type"))
    require(kind in ("photo", "video", "document", "audio", "animation"), "wrong media type")
    content = {
        **ctx.media_content(kind, p.resolve(media.get("media")), None),
        **ctx.caption_content(
            media.get("caption"), media.get("parse_mode"), media.get("caption_entities")
        ),
    }
    markup = inline_markup_of(parse_reply_markup(p.get("reply_markup"), inline_only=True))
    if markup:
        content["reply_markup"] = markup
    unchanged = {k: message.raw.get(k) for k in content} == content and message.reply_markup == (
        markup
    )
    if unchanged:
        raise bad_request(_NOT_MODIFIED)
    ctx.world.replace_content(message, content, keep=("media_group_id",))
    return message.snapshot()


async def delete_message(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    message = chat.find(p.integer("message_id"))
    if message is None:
        raise bad_request("message to delete not found")
    if time.time() - message.date > DELETE_WINDOW_SECONDS:
        raise bad_request("message can't be deleted for everyone")
    ctx.world.delete_message(chat, message)
    return True


async def delete_messages(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    ids = p.get("message_ids")
    require(isinstance(ids, list) and 1 <= len(ids) <= 100, "message_ids must contain 1-100 items")
    for message_id in ids:
        message = chat.find(int(message_id))
        if message is not None:
            ctx.world.delete_message(chat, message)
    return True


# --- callbacks, commands and bot profile --------------------------------------------------


async def answer_callback_query(ctx: Context, p: Params) -> Any:
    record = ctx.world.callbacks.get(p.string("callback_query_id"))
    if record is None or record.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.get("text")
    if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    answer = {
        "callback_query_id": record.id,
        "message_id": record.message_id,
        "data": record.data,
        "text": text,
        "show_alert": p.flag("show_alert"),
        "url": p.get("url"),
        "cache_time": p.opt_int("cache_time"),
    }
    chat = ctx.world.chats[record.chat_id]
    chat.callback_answers.append(answer)
    ctx.world.emit({"type": "callback_answer", "chat_id": record.chat_id, "answer": dict(answer)})
    return True


def _command_key(ctx: Context, p: Params) -> tuple[str, str]:
    scope = scope_key(p.get("scope"), ctx.chat)
    return scope, check_language_code(p.string("language_code"))


async def set_my_commands(ctx: Context, p: Params) -> Any:
    commands = check_commands(p.get("commands"))
    key = _command_key(ctx, p)
    if commands:
        ctx.world.commands[key] = commands
    else:
        ctx.world.commands.pop(key, None)
    return True


async def get_my_commands(ctx: Context, p: Params) -> Any:
    return [dict(c) for c in ctx.world.commands.get(_command_key(ctx, p), [])]


async def delete_my_commands(ctx: Context, p: Params) -> Any:
    ctx.world.commands.pop(_command_key(ctx, p), None)
    return True


async def set_chat_menu_button(ctx: Context, p: Params) -> Any:
    button = p.get("menu_button") or {"type": "default"}
    require(
        isinstance(button, dict) and button.get("type") in ("commands", "web_app", "default"),
        "can't parse MenuButton JSON object",
    )
    if p.get("chat_id") is None:
        ctx.world.default_menu_button = (
            button if button["type"] != "default" else {"type": "commands"}
        )
    else:
        ctx.chat(p.get("chat_id")).menu_button = button if button["type"] != "default" else None
    return True


async def get_chat_menu_button(ctx: Context, p: Params) -> Any:
    if p.get("chat_id") is not None:
        own = ctx.chat(p.get("chat_id")).menu_button
        if own is not None:
            return own
    return ctx.world.default_menu_button


def _profile_setter(param: str, limit: int) -> Handler:
    async def setter(ctx: Context, p: Params) -> Any:
        value = p.string(param)
        require(len(value) <= limit, f"{param} is too long")
        key = (param, check_language_code(p.string("language_code")))
        if value:
            ctx.world.bot_texts[key] = value
        else:
            ctx.world.bot_texts.pop(key, None)
        return True

    return setter


def _profile_getter(param: str) -> Handler:
    async def getter(ctx: Context, p: Params) -> Any:
        lang = check_language_code(p.string("language_code"))
        texts = ctx.world.bot_texts
        value = texts.get((param, lang), texts.get((param, ""), ""))
        if param == "name" and not value:
            value = str(ctx.world.bot_user["first_name"])
        return {param: value}

    return getter


async def get_chat(ctx: Context, p: Params) -> Any:
    chat = ctx.chat(p.get("chat_id"))
    return {
        **chat.chat_dict(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


async def get_file(ctx: Context, p: Params) -> Any:
    stored = ctx.files.get(p.string("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    require(stored.size <= MAX_DOWNLOAD_BYTES, "file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "logOut": return_true,
    "close": return_true,
    "sendMessage": send_message,
    "sendPhoto": _media_sender("photo"),
    "sendDocument": _media_sender("document"),
    "sendVoice": _media_sender("voice"),
    "sendVideo": _media_sender("video"),
    "sendAudio": _media_sender("audio"),
    "sendAnimation": _media_sender("animation"),
    "sendVideoNote": _media_sender("video_note"),
    "sendSticker": _media_sender("sticker"),
    "sendLocation": send_location,
    "sendContact": send_contact,
    "sendVenue": send_venue,
    "sendMediaGroup": send_media_group,
    "sendChatAction": send_chat_action,
    "copyMessage": copy_message,
    "forwardMessage": forward_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "editMessageMedia": edit_message_media,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "answerCallbackQuery": answer_callback_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "setMyDescription": _profile_setter("description", 512),
    "getMyDescription": _profile_getter("description"),
    "setMyShortDescription": _profile_setter("short_description", 120),
    "getMyShortDescription": _profile_getter("short_description"),
    "setMyName": _profile_setter("name", 64),
    "getMyName": _profile_getter("name"),
    "getChat": get_chat,
    "getFile": get_file,
}
