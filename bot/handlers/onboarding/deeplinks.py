"""Deep-link payloads carried by /start. A building's QR code opens ``b_<token>``;
Telegram allows 1-64 characters of A-Z a-z 0-9 _ -. Other features own other prefixes
(the staff feature's invites are ``i_<token>``)."""

from __future__ import annotations

import re

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BUILDING_PREFIX = "b_"


def building_token(raw: str | None) -> str | None:
    """The QR token of a building link, or None for anything else."""
    if not raw or not PAYLOAD_RE.match(raw) or not raw.startswith(BUILDING_PREFIX):
        return None
    return raw[len(BUILDING_PREFIX) :] or None


def building_link(bot_username: str, qr_token: str) -> str:
    return f"https://t.me/{bot_username}?start={BUILDING_PREFIX}{qr_token}"
