"""What the resident's appeal dialogs share: the service for this update, where the
resident lives, the one-line notice a window shows after an input, and going back to
whatever opened the dialog."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram_dialog import DialogManager, StartMode
from aiogram_dialog.widgets.kbd import Button

from bot.dialogs.common import Ctx
from bot.dialogs.states import MainMenu
from bot.formatting import node_path
from bot.i18n import Translator
from storage.appeals import MAX_PHOTOS, MAX_TEXT, AppealError, AppealService
from storage.hierarchy import HierarchyRepo, Node, NodeKind


def service(c: Ctx) -> AppealService:
    return AppealService(c.session, c.policy, c.clock.now())


def problem_text(t: Translator, exc: AppealError) -> str:
    return t(f"appeal.problem.{exc.problem.value}")


async def resident_building(c: Ctx) -> Node | None:
    if c.user is None or c.user.building_id is None:
        return None
    node = await HierarchyRepo(c.session).get(c.user.building_id)
    return node if node is not None and node.node_kind is NodeKind.BUILDING else None


async def building_path(c: Ctx, building: Node) -> str:
    return node_path(await HierarchyRepo(c.session).ancestors(building))


def notice(manager: DialogManager) -> str:
    return str(manager.dialog_data.get("notice") or "")


def say(manager: DialogManager, *parts: str) -> None:
    manager.dialog_data["notice"] = "\n".join(p for p in parts if p)


def clear_notice(manager: DialogManager) -> None:
    manager.dialog_data.pop("notice", None)


def photos_of(manager: DialogManager, key: str = "photos") -> list[str]:
    return [str(p) for p in manager.dialog_data.get(key) or []]


def text_problem(t: Translator, text: str) -> str | None:
    """Why a text cannot be a description, or None when it can."""
    if not text.strip():
        return t("resident_appeal.input.empty")
    if len(text.strip()) > MAX_TEXT:
        return t("resident_appeal.input.too_long", length=len(text.strip()), max=MAX_TEXT)
    return None


def stack_depth(manager: DialogManager) -> int:
    return len(manager.current_stack().intents)


async def close_to_menu(manager: DialogManager) -> None:
    """Back to whatever opened this dialog, or the main menu if it was opened by a
    command (then nothing is underneath)."""
    if stack_depth(manager) > 1:
        await manager.done()
    else:
        await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


async def remove_reply_keyboard(c: Ctx, text: str) -> None:
    await c.bot.send_message(c.user_id, text, reply_markup=ReplyKeyboardRemove())


async def cancel_to_menu(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await close_to_menu(manager)


def take_photo(
    manager: DialogManager, message: Message, key: str = "photos", already: int = 0
) -> tuple[bool, str]:
    """Add the message's photo if there is room (``already``: photos stored before):
    (added, what to tell the resident)."""
    t: Translator = manager.middleware_data["t"]
    photos = photos_of(manager, key)
    assert message.photo
    count = already + len(photos)
    if count >= MAX_PHOTOS:
        return False, t("resident_appeal.input.too_many_photos", max=MAX_PHOTOS, count=count)
    photos.append(message.photo[-1].file_id)
    manager.dialog_data[key] = photos
    return True, t("resident_appeal.input.photo_added", count=count + 1)


async def notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}
