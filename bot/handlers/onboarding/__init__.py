"""Onboarding: the privacy consent, binding to a building by its QR code or from menus,
and the printable QR codes (``gridbot qr``)."""

from __future__ import annotations

from bot.dialogs.onboarding.binding import onboarding_dialog
from bot.dialogs.onboarding.states import Onboarding
from bot.handlers.onboarding import start
from bot.registry import RESIDENTS, Audience, Command, Feature, MenuEntry

FEATURE = Feature(
    name="onboarding",
    routers=lambda: [start.build_router()],
    dialogs=lambda: [onboarding_dialog()],
    menu=(
        MenuEntry(
            "building",
            "menu.change_building",
            Onboarding.community,
            Audience.EVERYONE,
            rank=60,
            data={"mode": "change"},
        ),
    ),
    commands=(
        Command("start", "onboarding.commands.start", RESIDENTS, rank=0),
        Command("building", "onboarding.commands.building", RESIDENTS, rank=50),
    ),
    help_tips={None: "onboarding.help_tip"},
)
