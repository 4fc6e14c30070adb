"""`gridbot run` for real: migrations, long polling against the emulator, clean shutdown on
SIGTERM; and the webhook endpoint with its secret token."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import bootstrap
from bot.config import Settings, load_settings
from bot.runner import build_webhook_app
from emulator import BotAPIEmulator
from storage.clock import ManualClock
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from tests.conftest import START, TOKEN
from tests.factories import build_tree


async def _wait_for(predicate: object, seconds: float = 30.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if callable(predicate) and predicate():
            return True
        await asyncio.sleep(0.1)
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STAFF = 60  # two seconds of menus at the default 30 messages a second


async def _district_with_staff(db: Path, emu: BotAPIEmulator) -> None:
    """A restart's database: migrated, with staff whose menus the bot sends again."""
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        clock = ManualClock(START)
        tree = await build_tree(sessionmaker, clock)
        async with sessionmaker() as session:
            for i in range(STAFF):
                person = emu.add_user(user_id=7000 + i, first_name=f"网格员{i}")
                emu.send_command(person, "start", queue=False)  # their chat with the bot exists
                await StaffRepo(session).grant(
                    user_id=person.id, role=Role.WORKER, node=tree.grid, granted_by=None, now=START
                )
            await session.commit()
    finally:
        await engine.dispose()


async def test_run_polls_answers_and_stops_on_sigterm(emu: BotAPIEmulator, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    await _district_with_staff(db, emu)
    web_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS", "WEB_"))},
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.base_url,
        "DATABASE_URL": f"sqlite:///{db}",
        "LOG_LEVEL": "INFO",
        "WEB_PORT": str(web_port),
    }
    env.pop("WEBHOOK_URL", None)
    mark = len(emu.requests)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        user = emu.add_user(user_id=5001, first_name="老李")
        emu.send_command(user, "start")
        assert await _wait_for(lambda: emu.chat(5001).last_bot_message is not None), (
            "the bot never answered"
        )
        assert "保存什么" in (emu.chat(5001).last_bot_message.text or "")  # type: ignore[union-attr]

        # Updates are read while the staff's own menus are still being sent, not after.
        def staff_menus() -> list[int]:
            return [
                i
                for i, r in enumerate(emu.requests)
                if r.method == "setMyCommands"
                and r.ok
                and "chat_id" in str(r.params.get("scope", ""))
            ]

        def default_menus() -> list[int]:
            return [
                i
                for i, r in enumerate(emu.requests)
                if r.method == "setMyCommands"
                and r.ok
                and "chat_id" not in str(r.params.get("scope", ""))
            ]

        assert await _wait_for(lambda: len(staff_menus()) == STAFF), len(staff_menus())
        assert await _wait_for(lambda: len(default_menus()) == 2), len(default_menus())
        first_poll = next(i for i, r in enumerate(emu.requests) if r.method == "getUpdates")
        assert first_poll < staff_menus()[-1]
        # One getMe: asked when checking the token, and kept for polling, which asks
        # again before its first getUpdates.
        assert [r.method for r in emu.requests[mark:]].count("getMe") == 1
        # Polling serves the web faces too, on WEB_PORT.
        async with ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{web_port}/healthz") as health:
                assert health.status == 200
                assert await health.text() == "ok"
            async with http.get(f"http://127.0.0.1:{web_port}/public") as public:
                assert public.status == 404  # PUBLIC_PAGE is off by default
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output.decode()
    assert b"stopped" in output
    tables = {
        row[0]
        for row in sqlite3.connect(db).execute("select name from sqlite_master where type='table'")
    }
    assert {"nodes", "users", "invites", "role_assignments", "audit_log"} <= tables


async def test_webhook_checks_the_secret_token(
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    settings: Settings,
) -> None:
    hooked = load_settings(
        **{
            **settings.model_dump(),
            "webhook_url": "https://bot.example.org",
            "webhook_secret": "s3cret-Token",
        }
    )
    app = bootstrap(hooked, sessionmaker, clock=clock)
    server = TestServer(build_webhook_app(app, hooked))
    user = emu.add_user(user_id=5002, first_name="老周")
    update = emu.send_command(user, "help", queue=False)
    async with TestClient(server) as client:
        refused = await client.post(
            "/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        assert refused.status == 401
        assert emu.chat(5002).last_bot_message is None
        accepted = await client.post(
            "/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"}
        )
        assert accepted.status == 200
    assert await _wait_for(lambda: emu.chat(5002).last_bot_message is not None, seconds=10)
    assert "居民帮助" in (emu.chat(5002).last_bot_message.text or "")  # type: ignore[union-attr]
    await app.bot.session.close()


async def test_run_refuses_a_token_the_bot_api_rejects(emu: BotAPIEmulator, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS"))},
        "BOT_TOKEN": "999999:WRONG-token-for-this-server",
        "TELEGRAM_API_URL": emu.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    assert stderr.decode().strip().splitlines()[-1] == (
        f"gridbot: configuration error: BOT_TOKEN: {emu.base_url} does not accept this token "
        "— copy it again from @BotFather"
    )
