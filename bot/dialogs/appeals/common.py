"""What the appeal dialogs share: the service and policy for this update, where the
resident lives, turning a refusal into words, and collecting photos and texts."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message, ReplyKeyboardRemove
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Start

from bot.dialogs.onboarding.states import Onboarding
from bot.formatting import node_path
from bot.i18n import Translator
from bot.kit.context import Ctx
from bot.kit.text import L
from storage.appeals import (
    MAX_PHOTOS,
    MAX_TEXT,
    AppealError,
    AppealPolicy,
    AppealService,
    Problem,
)
from storage.hierarchy import Node, NodeKind


def service(c: Ctx) -> AppealService:
    return c.services.get(AppealService)


def policy(c: Ctx) -> AppealPolicy:
    return c.services.config(AppealPolicy)


def problem_text(t: Translator, problem: Problem | AppealError) -> str:
    if isinstance(problem, AppealError):
        problem = problem.problem
    return t(f"appeal.problem.{problem.value}")


async def resident_building(c: Ctx) -> Node | None:
    if c.user is None or c.user.building_id is None:
        return None
    node = await c.services.hierarchy.get(c.user.building_id)
    return node if node is not None and node.node_kind is NodeKind.BUILDING else None


async def building_path(c: Ctx, building: Node) -> str:
    return node_path(await c.services.hierarchy.ancestors(building))


def photos_of(manager: DialogManager, key: str = "photos") -> list[str]:
    return [str(p) for p in manager.dialog_data.get(key) or []]


def text_problem(t: Translator, text: str) -> str | None:
    """Why a text cannot be a description, or None when it can."""
    if not text.strip():
        return t("resident_appeal.input.empty")
    if len(text.strip()) > MAX_TEXT:
        return t("resident_appeal.input.too_long", length=len(text.strip()), max=MAX_TEXT)
    return None


async def remove_reply_keyboard(c: Ctx, text: str) -> None:
    await c.bot.send_message(c.user_id, text, reply_markup=ReplyKeyboardRemove())


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


async def not_bound_getter(c: Ctx) -> dict[str, Any]:
    """Window data for a resident who has no building yet: they are asked to bind one."""
    consented = c.user is not None and c.user.has_consented
    return {
        "bound": False,
        "unbound": True,
        "may_bind": consented,
        "need_building": c.t("resident_appeal.need_building"),
    }


def bind_button(widget_id: str = "bind") -> Start:
    return Start(
        L("resident_appeal.bind_button"),
        id=widget_id,
        state=Onboarding.community,
        data={"mode": "change"},
        when="may_bind",
    )
