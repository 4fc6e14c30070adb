"""Texts on desk pages: the chat's locale files (``bot/locales``), in the language the
person chose in the bot. A locale text is trusted markup and what fills it is escaped,
as in the chat, so a template writes ``{{ t("desk.queue.title", n=3) }}`` and whatever a
person wrote stays text."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from bot.i18n import LANGUAGES, Translator, pick_language, translator
from storage.users import User


class PageTexts:
    """``t(key, **values)`` for templates: the text as markup, its values escaped."""

    def __init__(self, t: Translator) -> None:
        self.translator = t
        self.language = t.language

    def __call__(self, key: str, /, **values: Any) -> Markup:
        return Markup(self.translator(key, **{k: escape(v) for k, v in values.items()}))

    def plain(self, key: str, /, **values: Any) -> str:
        """The text with its markup, for building a larger piece (escape the values)."""
        return self.translator(key, **values)


def texts_for(user: User | None, default: str) -> PageTexts:
    """The person's language as the bot speaks to them."""
    language = pick_language(
        user.language if user else None, user.telegram_language if user else None, default
    )
    return PageTexts(translator(language))


def texts_for_browser(accept_language: str | None, default: str) -> PageTexts:
    """Before anyone signed in: the browser's first language we have, else the default."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for language in LANGUAGES:
            if tag.startswith(language):
                return PageTexts(translator(language))
    return PageTexts(translator(default))
