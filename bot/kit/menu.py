"""The main menu every dialog returns to: its state, the one "back to the menu" button
and handler, and closing a dialog to whatever opened it."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, StartMode
from aiogram_dialog.widgets.kbd import Button

from bot.kit.text import L


class MainMenu(StatesGroup):
    main = State()


async def open_menu(manager: DialogManager, notice: str = "") -> None:
    """The main menu, afresh: whatever dialogs were open are closed."""
    data = {"notice": notice} if notice else {}
    await manager.start(MainMenu.main, mode=StartMode.RESET_STACK, data=data)


async def to_menu(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await open_menu(manager)


def menu_button(key: str = "common.to_menu", widget_id: str = "to_menu") -> Button:
    return Button(L(key), id=widget_id, on_click=to_menu)


def stack_depth(manager: DialogManager) -> int:
    return len(manager.current_stack().intents)


async def close_to_menu(manager: DialogManager) -> None:
    """Back to whatever opened this dialog, or the main menu if it was opened by a
    command (then nothing is underneath)."""
    if stack_depth(manager) > 1:
        await manager.done()
    else:
        await open_menu(manager)


async def close(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await close_to_menu(manager)
