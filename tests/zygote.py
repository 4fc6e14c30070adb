"""A parent for the bot processes of the tests that has the libraries imported already.

Every ``python -m bot.cli run`` a reliability test starts spent about four seconds of CPU
before its first request, most of it importing aiogram (pydantic builds the schema of
every Telegram type) and the other libraries; the suite starts some thirty. This process
imports those libraries once (never the project's own modules, nor anything the bot
imports only for some settings, such as Redis) and then forks one child per start: the
child takes the test's environment, working directory and output file, and runs
``bot.cli`` as ``-m`` would. It is still a process of its own that SIGKILL ends; this
parent reports how each child ended.

Protocol, one JSON object a line: in, ``{"argv": [...], "env": {...}, "cwd": ..., "out":
...}``; out, ``{"pid": n}`` for each start in order, and ``{"exit": pid, "code": c}`` (as
Popen.returncode: -9 for SIGKILL) whenever a child ends."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import selectors
import signal
import sys

# Imported by every `gridbot run` whatever its settings (bot/app.py tells Redis storage by
# whether aiogram's Redis module was ever loaded: that one must stay out).
PRELOAD = (
    "aiogram",
    "aiogram.client.session.aiohttp",
    "aiogram.fsm.storage.memory",
    "aiogram_dialog",
    "aiohttp.web",
    "aiosqlite",
    "apscheduler.schedulers.asyncio",
    "asyncpg",
    "jinja2",
    "pydantic_settings",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.orm",
    "yaml",
)
OWN = ("bot", "storage", "web", "emulator", "sandbox", "tests")


def _child(request: dict[str, object]) -> None:
    """In the forked child: become ``python -m <module> <args>`` and never return."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the rest are as Python sets them
        out = os.open(str(request["out"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(str(request["cwd"]))
        argv = request["argv"]
        assert isinstance(argv, list)
        module, *args = argv
        sys.argv = [module, *args]
        sys.path[0] = os.getcwd()  # as ``python -m`` puts it
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def main() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    own = [m for m in sys.modules if m.split(".")[0] in OWN and m not in ("tests", "tests.zygote")]
    assert not own, "the zygote must not import the project's own modules"
    assert "aiogram.fsm.storage.redis" not in sys.modules

    reader, waker = os.pipe()
    os.set_blocking(reader, False)
    os.set_blocking(waker, False)
    signal.set_wakeup_fd(waker)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    select = selectors.DefaultSelector()
    select.register(sys.stdin.fileno(), selectors.EVENT_READ, "in")
    select.register(reader, selectors.EVENT_READ, "child")
    pending = b""

    def say(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    while True:
        for key, _ in select.select():
            if key.data == "child":
                try:
                    while os.read(reader, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
                continue
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                return  # the test process is gone
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    select.close()
                    os.close(reader)
                    os.close(waker)
                    _child(request)
                say({"pid": pid})
        reap()


if __name__ == "__main__":
    main()
