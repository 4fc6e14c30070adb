"""Texts in dialog windows come from the locale files."""

from __future__ import annotations

from typing import Any

from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.text import Format, Text

from bot.i18n import Translator


class L(Text):
    """A text from the locale files, formatted with the window's getter data."""

    def __init__(self, key: str, when: Any = None) -> None:
        super().__init__(when=when)
        self.key = key

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        t: Translator = manager.middleware_data["t"]
        return t(self.key, **data)


def notice_text() -> Format:
    """The one-line notice a window shows above itself after an input (see kit.notice)."""
    return Format("{notice}\n", when="notice")
