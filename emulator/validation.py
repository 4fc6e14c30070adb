"""Request parameter decoding and the checks Telegram applies before doing anything."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from .api_methods import METHODS
from .errors import bad_request
from .formatting import Entity, HtmlParseError, detect_entities, parse_html, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_REQUESTS = (
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_INT_RE = re.compile(r"^-?\d+$")


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


def _empty_reason(name: str, kind: str) -> str:
    if name == "text":
        return "message text is empty"
    if kind == "file":
        return f"there is no {name} in the request"
    return f"{name} is empty"


class Params:
    """Typed access to request parameters after Telegram-style coercion."""

    def __init__(
        self, method: str, raw: dict[str, Any], uploads: dict[str, Upload] | None = None
    ) -> None:
        self.method = method
        self.spec = METHODS[method]
        self.uploads = uploads or {}
        self.values: dict[str, Any] = {}
        for name, value in raw.items():
            kind = self.spec.get(name, ("raw", False))[0]
            self.values[name] = self._coerce(name, kind, value)

    def _coerce(self, name: str, kind: str, value: Any) -> Any:
        if value is None or isinstance(value, Upload):
            return value
        if kind == "int":
            if isinstance(value, bool) or not _INT_RE.match(str(value).strip()):
                raise bad_request(f'field "{name}" must be of type Integer')
            return int(str(value).strip())
        if kind == "float":
            try:
                return float(value)
            except (TypeError, ValueError):
                raise bad_request(f'field "{name}" must be of type Float') from None
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("true", "1")
        if kind == "id":
            text = str(value).strip()
            return int(text) if _INT_RE.match(text) else text
        if kind == "json" and isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {name} JSON object") from None
        if kind == "file" and isinstance(value, str) and value.startswith("attach://"):
            upload = self.uploads.get(value[len("attach://") :])
            if upload is None:
                raise bad_request(f"there is no {name} in the request")
            return upload
        if kind == "str" and not isinstance(value, str):
            return str(value) if not isinstance(value, (dict, list)) else json.dumps(value)
        return value

    def check_required(self) -> None:
        for name, (kind, required) in self.spec.items():
            if required and self.get(name) in (None, ""):
                raise bad_request(_empty_reason(name, kind))

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def string(self, name: str, default: str = "") -> str:
        value = self.get(name)
        return default if value is None else str(value)

    def integer(self, name: str, default: int = 0) -> int:
        value = self.get(name)
        return default if value is None else int(value)

    def opt_int(self, name: str) -> int | None:
        value = self.get(name)
        return None if value is None else int(value)

    def flag(self, name: str) -> bool:
        return bool(self.get(name, False))

    def resolve(self, value: Any) -> Any:
        """Resolve ``attach://`` references inside JSON params (e.g. InputMedia.media)."""
        if isinstance(value, str) and value.startswith("attach://"):
            upload = self.uploads.get(value[len("attach://") :])
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return upload
        return value

    def recorded(self) -> dict[str, Any]:
        """Params as they go into request records: decoded, files summarised."""
        out: dict[str, Any] = {}
        for name, value in self.values.items():
            if isinstance(value, Upload):
                out[name] = {"upload": value.filename, "size": len(value.data)}
            else:
                out[name] = value
        return out


# --- text ----------------------------------------------------------------------------------


def format_text(
    text: str, parse_mode: str | None, entities: Any, *, strict_html: bool
) -> tuple[str, list[Entity]]:
    """Visible text and entities for a text/caption as Telegram would store it."""
    mode = (parse_mode or "").strip()
    if mode.lower() == "html":
        try:
            visible, parsed = parse_html(text, strict=strict_html)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        return visible, detect_entities(visible, parsed)
    if mode and mode.lower() not in ("markdown", "markdownv2"):
        raise bad_request(f"unsupported parse_mode {mode!r}")
    given = entities if isinstance(entities, list) and not mode else []
    return text, detect_entities(text, [dict(e) for e in given if isinstance(e, dict)])


def check_text(visible: str) -> None:
    if not visible.strip():
        raise bad_request("message text is empty")
    if utf16_len(visible) > MAX_TEXT:
        raise bad_request("message is too long")


def check_caption(visible: str) -> None:
    if utf16_len(visible) > MAX_CAPTION:
        raise bad_request("message caption is too long")


# --- keyboards -----------------------------------------------------------------------------


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _rows(markup: dict[str, Any], key: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" must be an Array of Array')
    return rows


def _check_url(url: Any) -> None:
    parsed = urlparse(str(url))
    ok = parsed.scheme in ("http", "https", "tg", "ton") and bool(parsed.netloc or parsed.path)
    if parsed.scheme in ("http", "https"):
        host = parsed.hostname or ""
        ok = ok and "." in host and not host.startswith(".")
    if not ok:
        raise bad_request("BUTTON_URL_INVALID")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [a for a in _INLINE_ACTIONS if button.get(a) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used, "
            f"got {', '.join(actions)}"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        _check_url(button["url"])
    if "web_app" in actions:
        web_app = button["web_app"]
        url = web_app.get("url") if isinstance(web_app, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request(
                f"inline keyboard button web app url '{url}' is invalid: "
                "only https links are allowed"
            )


def _check_reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    requests = [r for r in _REPLY_REQUESTS if button.get(r)]
    if len(requests) > 1:
        raise bad_request("can't parse keyboard button: only one of the request fields can be used")
    return dict(button)


def parse_reply_markup(value: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate and normalise a reply_markup param; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    markup = _without_nulls(value)
    if "inline_keyboard" in markup:
        for row in _rows(markup, "inline_keyboard"):
            for button in row:
                _check_inline_button(button)
        return {"inline_keyboard": markup["inline_keyboard"]}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = [[_check_reply_button(b) for b in row] for row in _rows(markup, "keyboard")]
        if not any(rows):
            raise bad_request("keyboard must be non-empty")
        return {**markup, "keyboard": rows}
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_markup_of(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only inline keyboards are attached to (and returned with) the message itself."""
    if markup and "inline_keyboard" in markup and any(markup["inline_keyboard"]):
        return markup
    return None


# --- bot settings --------------------------------------------------------------------------


def check_commands(commands: Any) -> list[dict[str, str]]:
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    result: list[dict[str, str]] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = item.get("command")
        description = item.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.match(name.removeprefix("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        result.append({"command": name.removeprefix("/"), "description": description})
    return result


def check_language_code(code: str) -> str:
    if code and not re.match(r"^[a-z]{2}$", code):
        raise bad_request("LANG_CODE_INVALID")
    return code


def scope_key(scope: Any, known_chat: Any) -> str:
    """Storage key for a BotCommandScope; ``known_chat(chat_id)`` raises if unknown."""
    if scope is None:
        return "default"
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat_id = scope.get("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        known_chat(chat_id)
        if kind == "chat_member":
            return f"chat_member:{chat_id}:{scope.get('user_id')}"
        return f"{kind}:{chat_id}"
    raise bad_request("wrong BotCommandScope type specified")


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise bad_request(reason)
