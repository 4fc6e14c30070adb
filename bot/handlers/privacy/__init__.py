"""Privacy: what the bot stores about a person, who sees it, and deleting it across every
feature (each feature's ``forget`` hook)."""

from __future__ import annotations

from bot.dialogs.privacy.overview import privacy_dialog
from bot.dialogs.privacy.states import Privacy
from bot.handlers.privacy import commands
from bot.registry import RESIDENTS, WORKERS, Command, Feature, MenuEntry

FEATURE = Feature(
    name="privacy",
    routers=lambda: [commands.build_router()],
    dialogs=lambda: [privacy_dialog()],
    menu=(MenuEntry("privacy", "menu.privacy", Privacy.overview, rank=70),),
    commands=(
        Command(
            "privacy",
            "privacy.commands.privacy",
            RESIDENTS + WORKERS,
            rank=60,
            help="privacy.help.privacy",
        ),
    ),
)
