"""Home: the main menu, /menu, /help and /language."""

from __future__ import annotations

from bot.dialogs.home.menu import main_menu_dialog
from bot.handlers.home import commands, fallback, language
from bot.registry import EVERYONE, Command, Feature

FEATURE = Feature(
    name="home",
    routers=lambda: [commands.build_router(), language.build_router()],
    dialogs=lambda: [main_menu_dialog()],
    fallbacks=lambda: [fallback.build_router()],
    commands=(
        Command("menu", "menu.commands.menu", EVERYONE, rank=10),
        Command("language", "language.commands.language", EVERYONE, rank=70),
        Command("help", "menu.commands.help", EVERYONE, rank=80),
    ),
)
