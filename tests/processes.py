"""The real bot as a separate process (``python -m bot.cli run``) against the emulator in
the test's own process, so a test can kill it with SIGKILL, start it again and count what
reached whom; and databases of their own for it (a SQLite file, or a PostgreSQL database
created for the test)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from emulator import BotAPIEmulator
from storage.sessions import create_engine, normalize_url

TOKEN = "123456:TEST-TOKEN-gridbot"
BOT_USERNAME = "gridbot_test_bot"


async def wait_for(predicate: object, seconds: float = 60.0, every: float = 0.05) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if callable(predicate) and predicate():
            return True
        await asyncio.sleep(every)
    return bool(callable(predicate) and predicate())


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL of its own: a SQLite file, or a PostgreSQL database made for the
    test (TEST_DATABASE_URL names the server) and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    server = normalize_url(os.environ["TEST_DATABASE_URL"])
    name = f"rel_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class BotProcess:
    """One ``gridbot run`` process."""

    emu: BotAPIEmulator
    database_url: str
    workdir: Path
    redis_url: str | None = None
    webhook_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None
    output: bytearray = field(default_factory=bytearray)
    _reader: asyncio.Task[None] | None = None

    def env(self, crash_at: str | None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEST_", "REDIS", "WEBHOOK", "WEB_", "GRIDBOT_"))
        }
        env.update(
            BOT_TOKEN=TOKEN,
            BOT_USERNAME=BOT_USERNAME,
            TELEGRAM_API_URL=self.emu.base_url,
            DATABASE_URL=self.database_url,
            LOG_LEVEL="INFO",
            WEB_PORT="0",  # several bots (and test runs) on one machine: any free port
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.webhook_port is not None:
            env.update(
                WEBHOOK_URL="https://bot.example.org",
                WEBHOOK_SECRET="s3cret-Token",
                WEBHOOK_HOST="127.0.0.1",
                WEBHOOK_PORT=str(self.webhook_port),
            )
        if crash_at:
            env["GRIDBOT_CRASH_AT"] = crash_at
        env.update(self.extra_env)
        return env

    async def start(self, crash_at: str | None = None, *, ready: bool = True) -> None:
        marks = len(self.emu.requests)
        self.output.clear()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=self.env(crash_at),
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        if ready:
            started = "setWebhook" if self.webhook_port is not None else "getUpdates"
            up = await wait_for(
                lambda: (
                    any(r.method == started for r in self.emu.requests[marks:])
                    or (self.proc is not None and self.proc.returncode is not None)
                ),
                seconds=60,
            )
            assert up and self.alive, f"the bot did not start:\n{self.log()}"
            if self.webhook_port is not None:
                assert await wait_for(self._port_open, seconds=30), self.log()

    def _port_open(self) -> bool:
        import socket

        assert self.webhook_port is not None
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.webhook_port), timeout=0.2),
        ):
            return True
        return False

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output += line

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log(self) -> str:
        return self.output.decode(errors="replace")[-4000:]

    async def died(self, seconds: float = 60) -> int | None:
        """Wait for the process to end by itself (a crash point); its return code."""
        assert self.proc is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), timeout=seconds)
        return self.proc.returncode

    async def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
        await self._reap()

    async def stop(self) -> int | None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), timeout=30)
        await self._reap()
        return self.proc.returncode if self.proc else None

    async def _reap(self) -> None:
        if self.proc is not None:
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, timeout=5)
