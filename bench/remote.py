"""The Bot API emulator in a process of its own, for benchmarks of one bot process.

Telegram does not run inside the bot's process; an emulator that does takes its CPU
(aiohttp's server side, the checks, the JSON) from the bot it is measuring, twice over
for a bot that makes two calls where the echo makes one. Here the bot talks HTTP to a
child process, and the benchmark acts as users and reads what they got through
:meth:`RemoteEmulator.ask`: a module-level function of the emulator run there, its
result sent back.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import multiprocessing
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from emulator import BotAPIEmulator

R = TypeVar("R")


class RemoteEmulator:
    def __init__(self, token: str, bot_username: str) -> None:
        self._token, self._username = token, bot_username
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._lock = asyncio.Lock()
        self.base_url = ""

    async def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of this process's loop
        ours, theirs = context.Pipe()
        self._proc = context.Process(
            target=_serve, args=(theirs, self._token, self._username), daemon=True
        )
        self._proc.start()
        self._conn = ours
        self.base_url = await self.ask(_base_url)

    async def ask(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(emulator, *args)`` in the emulator's process (awaited if a coroutine)."""
        assert self._conn is not None, "start() first"
        conn = self._conn
        async with self._lock:
            conn.send((fn, args))
            ok, value = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        if not ok:
            raise RuntimeError(f"in the emulator's process: {value}")
        return value  # type: ignore[no-any-return]

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.send(None)
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._proc.join, 10)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc = None


def _serve(conn: Connection, token: str, bot_username: str) -> None:
    asyncio.run(_main(conn, token, bot_username))


async def _main(conn: Connection, token: str, bot_username: str) -> None:
    # Telegram's servers do not stall on this bot's traffic; the emulator's automatic
    # collections did: a full pass over what a storm had built held every answer in
    # flight for 40-160 ms, and the clusters of late presses followed them to the
    # second. It collects (and freezes) between the benchmark's steps instead.
    gc.disable()
    emu = BotAPIEmulator(token=token, bot_username=bot_username)
    await emu.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            asked = await loop.run_in_executor(None, conn.recv)
            if asked is None:
                return
            fn, args = asked
            try:
                value = fn(emu, *args)
                if inspect.isawaitable(value):
                    value = await value
                # The emulator's world (every chat and message so far) stays until the end:
                # out of its collector's sight.
                gc.collect()
                gc.freeze()
                conn.send((True, value))
            except Exception as exc:  # told to the benchmark, which fails loudly
                conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        await emu.stop()


# --- what the benchmarks ask of it ----------------------------------------------------------


def _base_url(emu: BotAPIEmulator) -> str:
    return emu.base_url


def add_users(emu: BotAPIEmulator, people: Iterable[tuple[int, str, str]]) -> int:
    """(id, first name, language): users who have opened their chat with the bot."""
    count = 0
    for uid, first_name, language in people:
        emu.add_user(user_id=uid, first_name=first_name, language_code=language)
        emu.world.chats[uid].opened = True
        count += 1
    return count


def texts(emu: BotAPIEmulator, first: int, n: int) -> list[tuple[int, str, dict[str, Any]]]:
    """One text from each of ``n`` new chats, as updates to feed (chat, key, update)."""
    raws = []
    for i in range(n):
        user = emu.add_user(user_id=first + i, first_name="echo")
        raws.append((user.id, str(user.id), emu.send_text(user, f"你好 {i}", queue=False)))
    return raws


def cards(emu: BotAPIEmulator, chats: list[int], prefix: str) -> dict[int, int | None]:
    """Per chat, the bot's message with a button whose data starts with ``prefix``."""
    found: dict[int, int | None] = {}
    for chat in chats:
        found[chat] = None
        for message in emu.chat(chat).bot_messages:
            datas = (d or "" for row in message.inline_buttons() for _, d in row)
            if any(d.startswith(prefix) for d in datas):
                found[chat] = message.message_id
                break
    return found


def presses(
    emu: BotAPIEmulator, wanted: list[tuple[int, int, str]]
) -> list[tuple[int, str, dict[str, Any]]]:
    """(chat, message, data) pressed, as updates to feed (chat, query id, update)."""
    raws = []
    for chat, message_id, data in wanted:
        raw = emu.press(chat, message_id, data, queue=False)
        raws.append((chat, str(raw["callback_query"]["id"]), raw))
    return raws


def error_count(emu: BotAPIEmulator) -> int:
    return len(emu.errors)


def errors_since(emu: BotAPIEmulator, start: int) -> list[tuple[str, str]]:
    return [(r.method, str(r.error)) for r in emu.errors[start:]]


def answers(emu: BotAPIEmulator, asked: list[tuple[int, str]]) -> list[dict[str, Any] | None]:
    """Per (chat, query id), how the bot answered that press (None: not at all)."""
    told: list[dict[str, Any] | None] = []
    for chat, key in asked:
        mine = [a for a in emu.chat(chat).callback_answers if a["callback_query_id"] == key]
        told.append(mine[0] if mine else None)
    return told


def got_text(emu: BotAPIEmulator, chats: list[int], needle: str) -> int:
    """How many of ``chats`` have a message from the bot containing ``needle``."""
    return sum(1 for c in chats if any(needle in (m.text or "") for m in emu.chat(c).bot_messages))
