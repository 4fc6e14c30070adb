"""Deep-link payloads carried by /start: ``b_<token>`` for a building's QR code and
``i_<token>`` for a staff invite. Telegram allows 1-64 characters of A-Z a-z 0-9 _ -."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BUILDING_PREFIX = "b_"
INVITE_PREFIX = "i_"


@dataclass(frozen=True)
class Payload:
    kind: Literal["building", "invite", "invalid"]
    token: str = ""


def parse_payload(raw: str | None) -> Payload | None:
    if not raw:
        return None
    if not PAYLOAD_RE.match(raw):
        return Payload("invalid")
    if raw.startswith(BUILDING_PREFIX) and len(raw) > len(BUILDING_PREFIX):
        return Payload("building", raw[len(BUILDING_PREFIX) :])
    if raw.startswith(INVITE_PREFIX) and len(raw) > len(INVITE_PREFIX):
        return Payload("invite", raw[len(INVITE_PREFIX) :])
    return Payload("invalid")


def building_link(bot_username: str, qr_token: str) -> str:
    return f"https://t.me/{bot_username}?start={BUILDING_PREFIX}{qr_token}"
