"""Unique dialog intent ids.

aiogram-dialog 2.6 builds intent ids from the current second plus one of 100 random
values, so two dialogs started within one second collide one time in a hundred: the
dialog then believes it never switched, renders twice, and in a shared stack one context
can overwrite another. 40 random bits keep the id short (it rides in every callback_data)
and make a collision negligible."""

from __future__ import annotations

import secrets

import aiogram_dialog.api.entities.stack as stack


def _random_int_id() -> int:
    return secrets.randbits(40) or 1


def install_unique_intent_ids() -> None:
    stack.new_int_id = _random_int_id
