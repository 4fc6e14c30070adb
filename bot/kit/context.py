"""What every dialog callback needs from the update's middleware data, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import User as TgUser
from aiogram_dialog import DialogManager
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from bot.registry import Registry
from storage.clock import Clock
from storage.roles import Staffing
from storage.scope import Scoped
from storage.services import Services
from storage.users import User


@dataclass(frozen=True)
class Ctx:
    services: Services
    t: Translator
    user: User | None
    staffing: Staffing
    settings: Settings
    bot: Bot
    tg_user: TgUser
    features: Registry

    @property
    def user_id(self) -> int:
        return self.tg_user.id

    @property
    def session(self) -> AsyncSession:
        return self.services.session

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    async def scoped(self) -> Scoped:
        """The reads by id within this person's scope (storage.scope): every id that
        came from a button or a typed number is looked up through these."""
        return await Scoped.of(self.services, self.staffing)

    async def rollback(self) -> None:
        """After a refused write (a concurrent change won): undo it and reload what the
        middleware loaded, so the rest of the update can still read it."""
        nodes = [g.node for g in self.staffing.grants if g.node is not None]
        await self.services.rollback(self.user, *nodes)


def ctx(manager: DialogManager) -> Ctx:
    data = manager.middleware_data
    return Ctx(
        services=data["services"],
        t=data["t"],
        user=data["user"],
        staffing=data["staffing"],
        settings=data["settings"],
        bot=data["bot"],
        tg_user=data["event_from_user"],
        features=data["features"],
    )


def start_data(manager: DialogManager) -> dict[str, Any]:
    """The dialog's start data; every dialog here starts with a dict or nothing."""
    data = manager.start_data
    return data if isinstance(data, dict) else {}
