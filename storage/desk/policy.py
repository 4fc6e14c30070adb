"""How long the desk's ways in last. These are security timings, measured on the wall
clock (``clock``), not on the domain clock that promises and deadlines follow: the
sandbox moves that one by days, and a session must not end because a demo jumped a day
(tests give their own clock here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from storage.clock import Clock, SystemClock


@dataclass(frozen=True)
class DeskPolicy:
    link_ttl: timedelta = timedelta(minutes=5)
    session_ttl: timedelta = timedelta(hours=12)
    # Telegram signs the Mini App's data when it opens; older data is refused.
    miniapp_max_age: timedelta = timedelta(hours=1)
    clock: Clock = field(default_factory=SystemClock)
