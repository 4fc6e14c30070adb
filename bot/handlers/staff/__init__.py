"""Staff: admins invite staff with one-time links scoped to a node, list them and revoke
them; staff choose what residents may see of them (a public card). Listed before
onboarding in bot.features: its /start handler takes invite links."""

from __future__ import annotations

from bot.dialogs.staff.invite import invite_dialog
from bot.dialogs.staff.members import staff_dialog
from bot.dialogs.staff.profile import profile_dialog
from bot.dialogs.staff.states import StaffAdmin, StaffInvite, StaffProfile
from bot.handlers.staff import commands
from bot.handlers.staff.renderers import RENDERERS
from bot.registry import ADMINS, Audience, Command, Feature, MenuEntry
from storage.staff import profiles

FEATURE = Feature(
    name="staff",
    routers=lambda: [commands.build_router()],
    dialogs=lambda: [invite_dialog(), staff_dialog(), profile_dialog()],
    renderers=RENDERERS,
    menu=(
        MenuEntry("profile", "menu.profile", StaffProfile.card, Audience.STAFF, rank=25),
        MenuEntry("invite", "menu.invite", StaffInvite.role, Audience.ADMIN, rank=80),
        MenuEntry("staff", "menu.staff", StaffAdmin.staff, Audience.ADMIN, rank=81),
    ),
    commands=(
        Command("invite", "staff.commands.invite", ADMINS, rank=40, help="staff.help.invite"),
        Command("staff", "staff.commands.staff", ADMINS, rank=41, help="staff.help.staff"),
    ),
    help_tips={ADMINS[0]: "staff.help_tip"},
    forget=profiles.forget,
    held=profiles.KEPT,
)
