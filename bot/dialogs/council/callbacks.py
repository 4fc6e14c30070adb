"""Buttons on pushed council messages (outside any dialog): RSVP under a reminder, a
ballot's options, "提议题" under the call for topics. ``ref`` is the meeting or vote id;
``arg`` the answer or option index."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class CouncilPress(CallbackData, prefix="cnl"):
    action: str  # "rsvp", "ballot", "tally", "propose"
    ref: int
    arg: int = 0
