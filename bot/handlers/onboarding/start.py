"""/start, plain or with a building's QR payload, and /building."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.dialogs.onboarding.states import Onboarding
from bot.handlers.onboarding.deeplinks import building_token
from bot.i18n import Translator
from bot.kit.menu import open_menu
from storage.services import Services
from storage.users import User


async def on_start(
    message: Message,
    command: CommandObject,
    dialog_manager: DialogManager,
    services: Services,
    user: User | None,
    t: Translator,
) -> None:
    token = building_token(command.args)
    building = await services.hierarchy.by_qr_token(token) if token else None
    bad_link = bool(command.args) and building is None
    consented = user is not None and user.has_consented
    if building is not None and consented and user is not None:
        if user.building_id == building.id:
            await open_menu(dialog_manager)
        else:
            await dialog_manager.start(
                Onboarding.switch, mode=StartMode.RESET_STACK, data={"building_id": building.id}
            )
        return
    if consented and user is not None and user.building_id is not None:
        await open_menu(dialog_manager, t("onboarding.bad_link") if bad_link else "")
        return
    if consented:
        await dialog_manager.start(
            Onboarding.community, mode=StartMode.RESET_STACK, data={"bad_link": bad_link}
        )
        return
    await dialog_manager.start(
        Onboarding.consent,
        mode=StartMode.RESET_STACK,
        data={"building_id": building.id if building else None, "bad_link": bad_link},
    )


async def on_building(message: Message, dialog_manager: DialogManager, user: User | None) -> None:
    if user is None or not user.has_consented:
        await dialog_manager.start(Onboarding.consent, mode=StartMode.RESET_STACK, data={})
        return
    await dialog_manager.start(
        Onboarding.community, mode=StartMode.RESET_STACK, data={"mode": "change"}
    )


def build_router() -> Router:
    router = Router(name="onboarding")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_start, CommandStart())
    router.message.register(on_building, Command("building"))
    return router
