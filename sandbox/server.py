"""``gridbot sandbox``: run the sandbox until Ctrl-C (or SIGTERM), then stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from sandbox.core import Sandbox


def _announce(url: str) -> None:
    print(f"网格通 sandbox is running: open {url}  (Ctrl-C stops it)", flush=True)


async def run_sandbox(
    db_path: Path | None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Runs until cancelled (Ctrl-C under ``asyncio.run`` cancels the main task) or
    until SIGTERM, which returns normally; either way through the ``finally`` below."""
    # One line per handled update would bury the URL the user needs to see.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    sandbox = Sandbox(db_path, host, port)
    loop = asyncio.get_running_loop()
    terminated = asyncio.Event()
    handles_term = False
    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, not main thread
        loop.add_signal_handler(signal.SIGTERM, terminated.set)
        handles_term = True
    try:
        url = await sandbox.start()
        (ready or _announce)(url)
        if ready is None and sandbox.open311:
            demo = sandbox.open311
            print(
                f"Open311: {demo['url']}  demo channel {demo['channel']}, api_key={demo['key']}",
                flush=True,
            )
        await terminated.wait()
    finally:
        if handles_term:
            loop.remove_signal_handler(signal.SIGTERM)
        await sandbox.stop()
