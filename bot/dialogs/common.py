"""What every dialog callback needs from the update's middleware data, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import User as TgUser
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from storage.appeal_policy import AppealPolicy
from storage.clock import Clock
from storage.staff import Staffing
from storage.users import User


@dataclass(frozen=True)
class Ctx:
    session: AsyncSession
    t: Translator
    user: User | None
    staffing: Staffing
    clock: Clock
    settings: Settings
    bot: Bot
    tg_user: TgUser
    policy: AppealPolicy

    @property
    def user_id(self) -> int:
        return self.tg_user.id


def ctx(manager: DialogManager) -> Ctx:
    data = manager.middleware_data
    return Ctx(
        session=data["session"],
        t=data["t"],
        user=data["user"],
        staffing=data["staffing"],
        clock=data["clock"],
        settings=data["settings"],
        bot=data["bot"],
        tg_user=data["event_from_user"],
        policy=data["policy"],
    )


def start_data(manager: DialogManager) -> dict[str, Any]:
    """The dialog's start data; every dialog here starts with a dict or nothing."""
    data = manager.start_data
    return data if isinstance(data, dict) else {}


class L(Text):
    """A text from the locale files, formatted with the window's getter data."""

    def __init__(self, key: str, when: Any = None) -> None:
        super().__init__(when=when)
        self.key = key

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        t: Translator = manager.middleware_data["t"]
        return t(self.key, **data)
