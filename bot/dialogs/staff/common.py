"""What the staff dialogs share: links, and refusing a press that is not allowed."""

from __future__ import annotations

from aiogram_dialog import DialogManager

from bot.kit.context import ctx
from bot.kit.menu import open_menu
from bot.kit.toast import toast

INVITE_PREFIX = "i_"
PAGE_HEIGHT = 8


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={INVITE_PREFIX}{token}"


async def deny(manager: DialogManager) -> None:
    """Refuse, and leave for the main menu: nothing on this screen is the user's to see."""
    c = ctx(manager)
    await toast(manager, c.t("common.not_allowed"), alert=True)
    await open_menu(manager)
