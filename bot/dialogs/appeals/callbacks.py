"""Callback data of buttons on messages the bot pushes (outside any dialog). Every
handler re-checks who presses and the appeal's state: a forged or stale button changes
nothing it should not."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TaskAction(CallbackData, prefix="task"):
    """Staff buttons on a pushed appeal: accept, reject, callup, progress, transfer,
    resolve, open."""

    action: str
    appeal_id: int


class RateAction(CallbackData, prefix="rate"):
    """Resident's rating buttons on the "resolved" message: satisfied, basically,
    unsatisfied."""

    appeal_id: int
    rating: str


class AppealOpen(CallbackData, prefix="appeal"):
    """Resident: open the appeal's timeline from a status message."""

    appeal_id: int
