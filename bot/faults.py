"""Fault injection for the reliability tests: a named point where the process kills
itself (SIGKILL, as ``kill -9`` would) the n-th time it passes, so the tests can stop the
bot exactly between a send and its record, or between a commit and its reply.

Only an environment the tests set up enables it (GRIDBOT_CRASH_AT="point" or "point:n");
anywhere else every point is a no-op."""

from __future__ import annotations

import os
import signal
from collections import Counter

_passed: Counter[str] = Counter()


def _plan() -> dict[str, int]:
    raw = os.environ.get("GRIDBOT_CRASH_AT", "")
    plan = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, nth = item.partition(":")
        plan[name] = int(nth or "1")
    return plan


_PLAN = _plan()


def crash_point(name: str) -> None:
    if name not in _PLAN:
        return
    _passed[name] += 1
    if _passed[name] == _PLAN[name]:
        os.kill(os.getpid(), signal.SIGKILL)
