"""The live feed behind the page: every emulator event (a message, an edit, a deletion,
a callback answer, a request Telegram would have rejected) gets a sequence number and the
sandbox's time and goes to every open page. Pages load a chat's snapshot together with
the sequence number it reflects and apply only later events, so nothing is lost or shown
twice between the two."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator import BotAPIEmulator
from storage.clock import Clock

# A page that falls this far behind is disconnected; it reconnects and reloads.
QUEUE_LIMIT = 2000
# Rejected requests keep this much of each parameter: enough to recognise the message.
PARAM_PREVIEW = 300


class Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.closed = False

    def push(self, event: dict[str, Any] | None) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close()
            return
        if event is None:
            self.closed = True

    def close(self) -> None:
        """Replace whatever is queued by the end marker."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        self.closed = True


class EventHub:
    def __init__(self, emu: BotAPIEmulator, clock: Clock) -> None:
        self.emu = emu
        self.clock = clock
        self.seq = 0
        self.errors: list[dict[str, Any]] = []
        # The emulator stamps messages with real time; the page shows the sandbox's time,
        # which runs ahead once the clock has been advanced.
        self._times: dict[tuple[int, int], float] = {}
        # The emulator gives a voice note the bot re-sends by file_id a length of 1 s (it
        # keeps no length with the file); Telegram keeps the recording's. Seconds by
        # file_unique_id, for the voice notes sent from the page.
        self._voice_seconds: dict[str, int] = {}
        self._subscriptions: set[Subscription] = set()
        emu.on_event(self._on_emulator_event)

    # --- subscriptions ------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def close(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.push(None)
        self._subscriptions.clear()

    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event["seq"] = self.seq
        for subscription in list(self._subscriptions):
            subscription.push(event)
            if subscription.closed:
                self._subscriptions.discard(subscription)
        return event

    # --- emulator events ----------------------------------------------------------------

    def _on_emulator_event(self, raw: dict[str, Any]) -> None:
        # Called synchronously inside the emulator's request handling, so the chat
        # state read here is exactly the state this event produced.
        event = dict(raw)
        kind = event.get("type")
        chat_id = event.get("chat_id")
        now = self.clock.now().timestamp()
        event["sandbox_at"] = now
        if kind in ("message", "edit") and isinstance(chat_id, int):
            message = dict(event["message"])
            key = (chat_id, int(message["message_id"]))
            self._times.setdefault(key, now)
            event["message"] = self.message_json(chat_id, message)
            event["reply_keyboard"] = self.reply_keyboard(chat_id)
        elif kind == "rejected":
            event["params"] = _preview(event.get("params") or {})
            self.errors.append(event)
        self.publish(event)

    # --- views the API shares with the feed ---------------------------------------------

    def remember_voice(self, file_unique_id: str, seconds: int) -> None:
        self._voice_seconds[file_unique_id] = seconds

    def message_json(self, chat_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        message = dict(raw)
        message_id = int(message["message_id"])
        voice = message.get("voice")
        if isinstance(voice, dict) and voice.get("file_unique_id") in self._voice_seconds:
            message["voice"] = {**voice, "duration": self._voice_seconds[voice["file_unique_id"]]}
        message["from_bot"] = bool((message.get("from") or {}).get("is_bot"))
        message["sandbox_date"] = self._times.get((chat_id, message_id), float(message["date"]))
        return message

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        state = self.emu.world.chats.get(chat_id)
        return dict(state.reply_keyboard) if state and state.reply_keyboard else None

    def errors_of(self, chat_id: int) -> list[dict[str, Any]]:
        return [e for e in self.errors if e.get("chat_id") == chat_id]


def _preview(params: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and len(value) > PARAM_PREVIEW:
            value = value[:PARAM_PREVIEW] + f"… ({len(value)} chars)"
        elif not isinstance(value, str | int | float | bool) and value is not None:
            text = str(value)  # nested markup: a readable line is enough here
            value = text if len(text) <= PARAM_PREVIEW else text[:PARAM_PREVIEW] + "…"
        shown[key] = value
    return shown
