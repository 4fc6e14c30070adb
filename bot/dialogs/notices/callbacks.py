"""Buttons on pushed messages (outside any dialog): 已收到 under a notice, and the
sender's pause / resume / cancel under its progress message."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class NoticeAckPress(CallbackData, prefix="nack"):
    notice_id: int


class NoticeControl(CallbackData, prefix="nctl"):
    action: str  # pause, resume, cancel, cancel_yes, cancel_no
    notice_id: int
