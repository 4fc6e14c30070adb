"""/partner (apply, or a partner's points and orders), /order (a service; for a grid
worker, on behalf of a household) and /partners (community staff)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.partners.states import OrderForm, PartnerAdmin, PartnerHome, Showcase
from bot.i18n import Translator
from storage.partners.rules import DECIDERS
from storage.roles import Role, Staffing
from storage.users import User


async def on_partner(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(PartnerHome.main, mode=StartMode.RESET_STACK)


async def on_order(
    message: Message,
    dialog_manager: DialogManager,
    staffing: Staffing,
    user: User | None,
    t: Translator,
) -> None:
    if staffing.has(Role.WORKER) and (user is None or user.building_id is None):
        await dialog_manager.start(
            OrderForm.building, data={"proxy": True}, mode=StartMode.RESET_STACK
        )
        return
    if user is None or user.building_id is None:
        await message.answer(t("partner.problem.not_resident"))
        return
    await dialog_manager.start(OrderForm.skill, mode=StartMode.RESET_STACK)


async def on_partners(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.scopes(DECIDERS):
        # Mostly a resident who meant /partner (one letter apart): say where that is.
        await message.answer(t("partner.admin.not_staff"))
        return
    await dialog_manager.start(PartnerAdmin.main, mode=StartMode.RESET_STACK)


async def on_showcase(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(Showcase.main, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="partners.commands")
    router.message.register(on_partner, Command("partner"))
    router.message.register(on_order, Command("order"))
    router.message.register(on_partners, Command("partners"))
    router.message.register(on_showcase, Command("showcase"))
    return router
