"""Telegram's flood limits, enforced or only counted, plus injected 429s for benchmarks.

Telegram documents (Bots FAQ, "My bot is hitting limits"): in a single chat avoid more
than one message per second (short bursts are tolerated, not modelled here: the limit is
strict and configurable); overall no more than about 30 messages per second for bulk
sending to different chats; over the limit the Bot API answers HTTP 429
``{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after N",
"parameters": {"retry_after": N}}`` and the bot must wait N seconds before sending again.

What counts as a message: the methods that create messages in a chat (``MESSAGE_METHODS``:
sendMessage, the send<Media> methods, sendLocation/Venue/Contact/Poll/Dice/…,
sendMediaGroup, copyMessage(s), forwardMessage(s)), one per request (an album is one).
Edits, deletions, callback answers, chat actions, getUpdates and the rest do not count
and are never refused here. A message counts when it is let through by this layer, even
if the method then fails (400, or 403 from a blocked chat): Telegram counts the attempt.

Counting is a sliding window over the last second, overall and per chat (integer chat
ids only), measured with an injectable monotonic clock. Timestamps a hair (1 µs) short
of a full window old have already left it, so a sender spacing calls exactly 1/rate
apart with accumulated floating-point error is not flagged.

Modes (``Limits``): ``enforce=True`` refuses an over-limit message with the 429 above,
``retry_after`` being the whole seconds until the window frees (at least 1), and records
a ``Violation``; ``enforce=False, count=True`` lets it through and only records it.
Either way, after any 429 this layer gives (an enforced refusal or an injected one, and
``BotApiServer.fail(..., penalty=True)``), the bot is in a penalty until ``retry_after``
passes: every message in it is refused with 429 and the remaining seconds and recorded
as a ``"penalty"`` violation, whatever the mode, because the bot was told to wait.
Injected 429s (``inject_429_every``) work with or without ``Limits`` and are not
violations themselves. Limits are off by default.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .errors import too_many_requests

Monotonic = Callable[[], float]
ViolationKind = Literal["global", "per_chat", "penalty"]

MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendVideo",
        "sendVideoNote",
        "sendAudio",
        "sendAnimation",
        "sendSticker",
        "sendLivePhoto",
        "sendPaidMedia",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendChecklist",
        "sendDice",
        "sendGame",
        "sendInvoice",
        "sendRichMessage",
        "sendMediaGroup",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)

WINDOW = 1.0  # seconds
_EPSILON = 1e-6


@dataclass(frozen=True)
class Limits:
    """Flood limits to apply; ``BotApiServer.limits = Limits()`` turns them on."""

    global_per_second: int = 30
    per_chat_per_second: int = 1
    enforce: bool = True  # refuse over-limit messages with 429 (else let them through)
    count: bool = True  # record over-limit messages in ``violations`` (always if enforce)

    def __post_init__(self) -> None:
        if self.global_per_second < 1 or self.per_chat_per_second < 1:
            raise ValueError("limits must allow at least one message per second")


@dataclass(frozen=True)
class Violation:
    method: str
    chat_id: int | None
    kind: ViolationKind  # "global", "per_chat", or "penalty" (sent while told to wait)
    at: float  # the flood clock's reading
    refused: bool  # answered 429 (enforced) or let through (counted only)
    retry_after: int  # what Telegram would say: whole seconds until allowed again


@dataclass
class _Injection:
    every: int
    retry_after: int
    penalty: bool
    seen: int = 0


@dataclass
class FloodControl:
    """The state behind ``Limits``: windows, the penalty, injections, violations."""

    clock: Monotonic = time.monotonic
    limits: Limits | None = None
    violations: list[Violation] = field(default_factory=list)
    injected_429s: int = 0
    _global: deque[float] = field(default_factory=deque)
    _chats: dict[int, deque[float]] = field(default_factory=dict)
    _prune_at: int = 1024
    _penalty_until: float = -math.inf
    _injection: _Injection | None = None

    def configure(self, limits: Limits | None) -> None:
        """New limits start with empty windows and no penalty; violations are kept."""
        self.limits = limits
        self._global.clear()
        self._chats.clear()
        self._penalty_until = -math.inf

    def inject_every(self, every: int | None, retry_after: int, penalty: bool) -> None:
        if every is None or every <= 0:
            self._injection = None
            return
        if retry_after < 1:
            raise ValueError("retry_after must be at least 1 second")
        self._injection = _Injection(every, retry_after, penalty)

    def penalize(self, retry_after: int) -> None:
        """Refuse messages for ``retry_after`` seconds from now (a 429 was given)."""
        self._penalty_until = max(self._penalty_until, self.clock() + retry_after)

    def penalty_remaining(self) -> float:
        return max(0.0, self._penalty_until - self.clock())

    @property
    def tracked_chats(self) -> int:
        """Chats with a per-chat window kept in memory."""
        return len(self._chats)

    def clear(self) -> None:
        self.violations.clear()
        self.injected_429s = 0

    def admit(self, method: str, chat_id: int | None) -> None:
        """Let one request through or raise the 429 Telegram would answer."""
        if method not in MESSAGE_METHODS:
            return
        now = self.clock()
        if now < self._penalty_until:
            retry_after = _whole_seconds(self._penalty_until - now)
            self.violations.append(Violation(method, chat_id, "penalty", now, True, retry_after))
            raise too_many_requests(retry_after)
        over = self._over_limit(chat_id, now)
        if over is not None:
            kind, retry_after = over
            assert self.limits is not None
            if self.limits.enforce:
                self.violations.append(Violation(method, chat_id, kind, now, True, retry_after))
                self.penalize(retry_after)
                raise too_many_requests(retry_after)
            if self.limits.count:
                self.violations.append(Violation(method, chat_id, kind, now, False, retry_after))
        injection = self._injection
        if injection is not None:
            injection.seen += 1
            if injection.seen % injection.every == 0:
                self.injected_429s += 1
                if injection.penalty:
                    self.penalize(injection.retry_after)
                raise too_many_requests(injection.retry_after)
        if self.limits is not None:
            self._global.append(now)
            if chat_id is not None:
                self._chats.setdefault(chat_id, deque()).append(now)
                if len(self._chats) > self._prune_at:
                    self._prune(now - WINDOW + _EPSILON)

    def _prune(self, horizon: float) -> None:
        """Forget chats with nothing left in their window (a broadcast to many chats)."""
        self._chats = {c: s for c, s in self._chats.items() if s[-1] > horizon}
        self._prune_at = max(1024, 2 * len(self._chats))

    def _over_limit(self, chat_id: int | None, now: float) -> tuple[ViolationKind, int] | None:
        limits = self.limits
        if limits is None:
            return None
        horizon = now - WINDOW + _EPSILON
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is not None:
                _expire(chat, horizon)
                if not chat:
                    del self._chats[chat_id]
                elif len(chat) >= limits.per_chat_per_second:
                    return "per_chat", _free_in(chat, limits.per_chat_per_second, now)
        _expire(self._global, horizon)
        if len(self._global) >= limits.global_per_second:
            return "global", _free_in(self._global, limits.global_per_second, now)
        return None


def _expire(stamps: deque[float], horizon: float) -> None:
    while stamps and stamps[0] <= horizon:
        stamps.popleft()


def _free_in(stamps: deque[float], capacity: int, now: float) -> int:
    """Whole seconds until the window holds fewer than ``capacity`` messages."""
    # The window has room once all but capacity-1 of its stamps have left it.
    leaving = stamps[len(stamps) - capacity]
    return _whole_seconds(leaving + WINDOW - now)


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds - _EPSILON))
