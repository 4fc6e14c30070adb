"""Buttons on pushed partner messages (outside any dialog): an order card's 接单, 已上门,
已完成, the resident's confirmation with a rating, staff's 派单 and decisions on an
application. ``ref`` is the order id, or the applicant's user id for ``approve``/``reject``."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class PartnerPress(CallbackData, prefix="ptn"):
    action: str
    ref: int
