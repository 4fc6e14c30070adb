"""What a hung test was waiting for, printed before pytest-timeout ends it.

A test that hangs on an idle event loop leaves nothing but "Timeout" behind: the one
thread is in select(), and the coroutine that waits forever is invisible to a thread
dump. So a timer thread, a while before the timeout, prints every asyncio task's stack
and, on PostgreSQL, the server's sessions that are not idle and the locks not granted:
what the next person needs to find the cause."""

from __future__ import annotations

import asyncio
import gc
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SECONDS = 420.0  # before pytest-timeout's 600 s, after any test that is merely slow


def _tasks_report() -> str:
    out = io.StringIO()
    tasks = [obj for obj in gc.get_objects() if isinstance(obj, asyncio.Task)]
    out.write(f"--- {len(tasks)} asyncio task(s)\n")
    for task in tasks:
        if task.done():
            continue
        out.write(f"* {task.get_name()} {task.get_coro()!r}\n")
        try:
            task.print_stack(limit=25, file=out)
        except Exception as exc:  # the loop may move on while we read: a report, not a test
            out.write(f"  (stack unavailable: {exc!r})\n")
    return out.getvalue()


def _postgres_report() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return ""
    query = (
        "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact_age,"
        " left(query, 300) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle';"
        " SELECT locktype, relation::regclass, mode, pid, classid, objid FROM pg_locks"
        " WHERE NOT granted;"
    )
    try:
        done = subprocess.run(
            ["psql", url, "-X", "-c", query], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"--- PostgreSQL: not asked ({exc!r})\n"
    return f"--- PostgreSQL sessions and waiting locks\n{done.stdout}{done.stderr}"


def report(test: str) -> str:
    return f"\n===== watchdog: {test} still running =====\n{_tasks_report()}{_postgres_report()}"


@contextmanager
def watch(test: str) -> Iterator[None]:
    seconds = float(os.environ.get("GRIDBOT_HANG_REPORT_SECONDS", DEFAULT_SECONDS))

    def fire() -> None:
        text = report(test)
        # To file descriptor 2, which pytest captures per test: the report shows up under
        # the test that pytest-timeout then fails.
        stream = sys.__stderr__
        if stream is not None:
            stream.write(text)
            stream.flush()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
