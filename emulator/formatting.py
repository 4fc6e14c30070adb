"""Telegram message formatting: the HTML parse mode and automatic entity detection.

The HTML parser follows tdlib's ``parse_html`` (the code behind the Bot API server) so the
error descriptions and byte offsets match what the real server answers. With
``strict=True`` it additionally rejects unknown named entities (``&nbsp;``) and bare ``&``,
which Telegram silently shows as literal text: in a bot that is always an escaping bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Entity = dict[str, Any]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_ALL_TAGS = {*_SIMPLE_TAGS, "a", "span", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"


class HtmlParseError(ValueError):
    """Becomes ``Bad Request: can't parse entities: <message>``."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_offset: int
    result_index: int
    attrs: dict[str, str]


class _HtmlParser:
    def __init__(self, text: str, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[Entity] = []

    def char(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def fail(self, message: str) -> HtmlParseError:
        return HtmlParseError(message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def decode_entity(self, text: str, start: int) -> tuple[str, int] | None:
        """Decode ``&...`` at ``start``; returns (character, next index) like tdlib."""
        i = start + 1
        if i < len(text) and text[i] == "#":
            i += 1
            hexa = i < len(text) and text[i] in "xX"
            if hexa:
                i += 1
            digits_start = i
            allowed = "0123456789abcdefABCDEF" if hexa else "0123456789"
            while i < len(text) and text[i] in allowed:
                i += 1
            digits = text[digits_start:i]
            if not digits or i - start >= 10:
                return None
            code = int(digits, 16 if hexa else 10)
            if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            value = chr(code)
        else:
            while i < len(text) and text[i].isascii() and text[i].isalpha():
                i += 1
            name = text[start + 1 : i]
            if name not in _NAMED_ENTITIES:
                return None
            value = _NAMED_ENTITIES[name]
        if i < len(text) and text[i] == ";":
            i += 1
        elif self.strict:
            return None
        return value, i

    def strict_entity_error(self, start: int) -> HtmlParseError:
        match = re.match(r"&#?[0-9A-Za-z]*;?", self.text[start:])
        token = match.group(0) if match else "&"
        offset = _byte_offset(self.text, start)
        if len(token) > 1 and token.endswith(";"):
            return self.fail(f'Unsupported HTML entity "{token}" at byte offset {offset}')
        return self.fail(f'Character "&" must be escaped as "&amp;" at byte offset {offset}')

    def parse(self) -> tuple[str, list[Entity]]:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c == "&":
                decoded = self.decode_entity(text, self.pos)
                if decoded is not None:
                    self.emit(decoded[0])
                    self.pos = decoded[1]
                    continue
                if self.strict:
                    raise self.strict_entity_error(self.pos)
            if c != "<":
                self.emit(c)
                self.pos += 1
                continue
            if self.char(1) == "/":
                self.close_tag()
            else:
                self.open_tag()
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def open_tag(self) -> None:
        text = self.text
        begin = self.pos
        offset = _byte_offset(text, begin)
        self.pos += 1
        while self.char() and self.char() not in _SPACES and self.char() != ">":
            self.pos += 1
        if not self.char():
            raise self.fail(f"Unclosed start tag at byte offset {offset}")
        tag = text[begin + 1 : self.pos].lower()
        if tag not in _ALL_TAGS:
            raise self.fail(f'Unsupported start tag "{tag}" at byte offset {offset}')
        attrs: dict[str, str] = {}
        while self.char() != ">":
            while self.char() and self.char() in _SPACES:
                self.pos += 1
            if self.char() == ">":
                break
            name_start = self.pos
            while self.char() and self.char() not in _SPACES and self.char() not in "=>":
                self.pos += 1
            name = text[name_start : self.pos]
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
            while self.char() and self.char() in _SPACES:
                self.pos += 1
            if self.char() != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise self.fail(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {offset}'
                )
            self.pos += 1
            while self.char() and self.char() in _SPACES:
                self.pos += 1
            if not self.char():
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {offset}')
            attrs[name] = self.attribute_value(offset)
        self.pos += 1
        argument = self.tag_argument(tag, attrs, offset)
        self.stack.append(_Open(tag, argument, self.utf16, len(self.out), attrs))

    def attribute_value(self, tag_offset: int) -> str:
        text = self.text
        if self.char() not in "'\"":
            start = self.pos
            while self.char() and (self.char().isalnum() or self.char() in ".-"):
                self.pos += 1
            if not self.char() or (self.char() not in _SPACES and self.char() != ">"):
                raise self.fail(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
                )
            return text[start : self.pos].lower()
        quote = self.char()
        end = text.find(quote, self.pos + 1)
        if end < 0:
            raise self.fail(f"Unclosed start tag at byte offset {tag_offset}")
        raw = text[self.pos + 1 : end]
        self.pos = end + 1
        if not self.char() or (self.char() not in _SPACES and self.char() != ">"):
            raise self.fail(f"Unclosed start tag at byte offset {tag_offset}")
        value: list[str] = []
        i = 0
        while i < len(raw):
            if raw[i] == "&":
                decoded = self.decode_entity(raw, i)
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                    continue
            value.append(raw[i])
            i += 1
        return "".join(value)

    def tag_argument(self, tag: str, attrs: dict[str, str], offset: int) -> str:
        if tag == "a":
            return attrs.get("href", "")
        if tag == "code":
            cls = attrs.get("class", "")
            return cls[len("language-") :] if cls.startswith("language-") else ""
        if tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise self.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            return ""
        if tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise self.fail(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
                )
            return emoji_id
        if tag == "blockquote":
            return "expandable" if "expandable" in attrs else ""
        if tag == "tg-time":
            unix = attrs.get("unix", "")
            if not unix.isdigit():
                raise self.fail(f'Tag "tg-time" must have attribute "unix" at byte offset {offset}')
            return unix
        return ""

    def close_tag(self) -> None:
        text = self.text
        begin = self.pos
        offset = _byte_offset(text, begin)
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {offset}")
        self.pos += 2
        while self.char() and self.char() not in _SPACES and self.char() != ">":
            self.pos += 1
        end_name = text[begin + 2 : self.pos].lower()
        while self.char() and self.char() in _SPACES:
            self.pos += 1
        if self.char() != ">":
            raise self.fail(f"Unclosed end tag at byte offset {offset}")
        self.pos += 1
        opened = self.stack.pop()
        if end_name and end_name != opened.tag:
            raise self.fail(
                f'Unmatched end tag at byte offset {offset}, expected "</{opened.tag}>", '
                f'found "</{end_name}>"'
            )
        length = self.utf16 - opened.utf16_offset
        if length > 0:
            self.add_entity(opened, length)

    def add_entity(self, opened: _Open, length: int) -> None:
        start, tag, arg = opened.utf16_offset, opened.tag, opened.argument
        entity: Entity = {"offset": start, "length": length}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (start, length)
        if tag in _SIMPLE_TAGS or tag == "span":
            entity["type"] = _SIMPLE_TAGS.get(tag, "spoiler")
        elif tag == "a":
            url = arg or "".join(self.out[opened.result_index :])
            if not _looks_like_url(url):
                return  # tdlib drops links it can't parse instead of failing
            if "://" not in url:
                url = "http://" + url
            entity.update(type="text_link", url=url)
        elif tag == "code":
            if last is not None and same_span and last["type"] == "pre" and arg:
                last["language"] = arg
                return
            entity["type"] = "code"
            if arg:
                entity["language"] = arg  # only kept if a <pre> around it claims it
        elif tag == "pre":
            if last is not None and same_span and last["type"] == "code" and "language" in last:
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if arg else "blockquote"
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=arg)
        else:  # tg-time
            entity.update(type="date_time", unix_time=int(arg))
            if opened.attrs.get("format"):
                entity["date_time_format"] = opened.attrs["format"]
        self.entities.append(entity)


def _looks_like_url(url: str) -> bool:
    return bool(re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^\s/?#]+\.?[^\s]*$", url)) and (
        "://" in url or "." in url
    )


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[Entity]]:
    """Return (visible text, entities) or raise HtmlParseError."""
    visible, entities = _HtmlParser(text, strict).parse()
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return visible, entities


# A bot command is not recognised after a word character, "/", "<" or ">" (tdlib's rule),
# so the "/b" of a typed "</b>" stays text.
_AUTO_PATTERNS = (
    (
        "bot_command",
        re.compile(r"(?<![\w/<>@#$])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>#@])"),
    ),
    ("url", re.compile(r"(?<![\w@/.])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)
_EXCLUSIVE = {"code", "pre", "text_link", "url", "email", "bot_command", "mention", "hashtag"}


def detect_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """Add the entities Telegram recognises by itself (commands, links, mentions...)."""
    result = list(existing or [])
    taken = [(e["offset"], e["offset"] + e["length"]) for e in result if e["type"] in _EXCLUSIVE]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            result.append({"type": kind, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return result
