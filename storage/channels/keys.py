"""API keys of channels: 192 random bits behind a recognisable prefix. Only the SHA-256
is stored; a key is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "g311_"
HINT_LENGTH = len(PREFIX) + 4


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(24)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_hint(key: str) -> str:
    return key[:HINT_LENGTH]
