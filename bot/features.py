"""The one list of features. Adding a feature is a sub-package in bot/handlers,
bot/dialogs, storage and tests, plus a line here (docs/adding-a-feature.md).

Order matters twice: handler routers are tried in this order (staff before onboarding,
whose /start takes every link the staff feature's invite handler did not), and menu
entries and commands sort by their own rank."""

from __future__ import annotations

from bot.handlers import (
    appeals,
    channels,
    council,
    desk,
    home,
    notices,
    onboarding,
    partners,
    privacy,
    staff,
)
from bot.registry import Feature

FEATURES: tuple[Feature, ...] = (
    home.FEATURE,
    staff.FEATURE,
    onboarding.FEATURE,
    privacy.FEATURE,
    appeals.FEATURE,
    notices.FEATURE,
    partners.FEATURE,
    council.FEATURE,
    desk.FEATURE,
    channels.FEATURE,
)
