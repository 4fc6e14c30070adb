"""The real bot as a separate process (``python -m bot.cli run``) against the emulator in
the test's own process, so a test can kill it with SIGKILL, start it again and count what
reached whom; and databases of their own for it (a SQLite file, or a PostgreSQL database
created for the test)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from emulator import BotAPIEmulator
from storage.migrate import upgrade
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
async def database(kind: str, tmp_path: Path, *, migrated: bool = False) -> AsyncIterator[str]:
    """A database URL of its own: a SQLite file, or a PostgreSQL database made for the
    test (TEST_DATABASE_URL names the server) and dropped afterwards. ``migrated``: a copy
    of one this test process migrated once (a file copy, or CREATE DATABASE ... TEMPLATE),
    instead of seconds of migrations in every test."""
    if kind == "sqlite":
        path = tmp_path / "bot.db"
        if migrated:
            shutil.copyfile(await _sqlite_template(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = normalize_url(os.environ["TEST_DATABASE_URL"])
    name = f"rel_{uuid.uuid4().hex[:10]}"
    template = f' TEMPLATE "{await _pg_template(server)}"' if migrated else ""
    admin = create_engine(server)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
    base, _, _ = server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


_templates: dict[str, str] = {}


async def _sqlite_template() -> Path:
    found = _templates.get("sqlite")
    if found:
        return Path(found)
    path = Path(tempfile.mkdtemp(prefix="gridbot-template-")) / "migrated.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()  # the last connection closed: the WAL is folded into the file
    _templates["sqlite"] = str(path)
    return path


async def _pg_template(server: str) -> str:
    """A database migrated once per test process, never connected to afterwards (a
    template must have no sessions while it is copied)."""
    found = _templates.get("postgresql")
    if found:
        return found
    name = f"rel_template_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    base, _, _ = server.rpartition("/")
    engine = create_engine(f"{base}/{name}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    _templates["postgresql"] = name
    return name


def has_templates() -> bool:
    return bool(_templates)


async def drop_templates() -> None:
    """At the end of the test process: the PostgreSQL template goes, the SQLite one too."""
    folder = _templates.pop("sqlite", None)
    if folder:
        shutil.rmtree(Path(folder).parent, ignore_errors=True)
    name = _templates.pop("postgresql", None)
    if name and os.environ.get("TEST_DATABASE_URL"):
        admin = create_engine(normalize_url(os.environ["TEST_DATABASE_URL"]))
        try:
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()


class Zygote:
    """The test process's one tests.zygote (started at the first bot start, ended with
    the test process): a start costs a fork instead of importing the libraries again.
    Plain threads, not asyncio: every test runs in an event loop of its own."""

    _instance: Zygote | None = None

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.lock = threading.Lock()
        self.started: queue.Queue[int] = queue.Queue()
        self.codes: dict[int, int] = {}
        self.ended = threading.Condition()
        threading.Thread(target=self._listen, name="zygote", daemon=True).start()
        atexit.register(self.close)

    @classmethod
    def get(cls) -> Zygote:
        if cls._instance is None or cls._instance.proc.poll() is not None:
            cls._instance = cls()
        return cls._instance

    def _listen(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            if "pid" in message:
                self.started.put(int(message["pid"]))
            else:
                with self.ended:
                    self.codes[int(message["exit"])] = int(message["code"])
                    self.ended.notify_all()
        self.started.put(0)  # the zygote died: whoever waits for a pid hears it

    def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, out: Path) -> Forked:
        request = {"argv": argv, "env": env, "cwd": str(cwd), "out": str(out)}
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            pid = self.started.get(timeout=60)
        assert pid, "tests.zygote died"
        return Forked(self, pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class Forked:
    """A child of the zygote, with what the tests use of asyncio's Process."""

    zygote: Zygote
    pid: int

    @property
    def returncode(self) -> int | None:
        with self.zygote.ended:
            return self.zygote.codes.get(self.pid)

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        def block() -> int:
            with self.zygote.ended:
                while not self.zygote.ended.wait_for(
                    lambda: self.pid in self.zygote.codes, timeout=1
                ):
                    # Nobody would report the end: the loop's executor must not hang.
                    assert self.zygote.proc.poll() is None, "tests.zygote died"
                return self.zygote.codes[self.pid]

        return await asyncio.to_thread(block)


@dataclass
class BotProcess:
    """One ``gridbot run`` process."""

    emu: BotAPIEmulator
    database_url: str
    workdir: Path
    redis_url: str | None = None
    webhook_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # A real ``python -m bot.cli run`` from nothing (the benches: a restart's stall is
    # part of what they measure), not a fork of the warmed tests.zygote.
    cold: bool = False
    proc: Forked | asyncio.subprocess.Process | None = None
    _out: Path | None = None
    _runs: int = 0

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
        # A getUpdates is recorded when it returns, which a long poll with nothing to
        # fetch does only at its timeout (ten seconds): its arrival is counted at once.
        polls = self.emu.world.updates.poll_generation
        self._runs += 1
        self._out = self.workdir / f"bot-{id(self):x}-{self._runs}.log"
        if self.cold:
            with self._out.open("wb") as out:
                self.proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "run",
                    env=self.env(crash_at),
                    cwd=self.workdir,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                )
        else:
            self.proc = Zygote.get().spawn(
                ["bot.cli", "run"], self.env(crash_at), self.workdir, self._out
            )
        if ready:

            def started() -> bool:
                if self.webhook_port is not None:
                    return any(r.method == "setWebhook" for r in self.emu.requests[marks:])
                return self.emu.world.updates.poll_generation > polls

            up = await wait_for(
                lambda: started() or (self.proc is not None and self.proc.returncode is not None),
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

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log(self) -> str:
        if self._out is None or not self._out.exists():
            return ""
        return self._out.read_bytes().decode(errors="replace")[-4000:]

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
