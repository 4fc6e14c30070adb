"""The chat app's own people picker (a reply keyboard's ``request_users`` button): asking
for one or more people this way never makes anyone type a name or an account."""

from __future__ import annotations

from aiogram.types import KeyboardButton, KeyboardButtonRequestUsers, ReplyKeyboardMarkup


def user_picker(label: str, request_id: int, *, most: int = 1) -> ReplyKeyboardMarkup:
    """One button that opens the picker for up to ``most`` people (not bots), their
    names shared along so a refusal can say whom it is about."""
    button = KeyboardButton(
        text=label,
        request_users=KeyboardButtonRequestUsers(
            request_id=request_id, user_is_bot=False, max_quantity=most, request_name=True
        ),
    )
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)
