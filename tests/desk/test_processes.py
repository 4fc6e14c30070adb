"""Several bot processes behind one URL serve the desk equally: a session opened on one
is known to the other (it lives in the database), and a change committed by one process
reaches the live page another holds open (Redis pub/sub), within a second. Two real
`gridbot run` processes by webhook on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from emulator import BotAPIEmulator
from storage.appeals import Appeal, AppealPolicy, AppealService, Draft
from storage.clock import SystemClock
from storage.desk import DeskAuth, DeskPolicy
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.conftest import BACKENDS
from tests.desk.client import Stream
from tests.factories import build_tree
from tests.processes import BotProcess, database, wait_for

WORKER, COMMUNITY, RESIDENT = 2001, 3001, 10_001
SECRET = "s3cret-Token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(url: str) -> tuple[int, int, str]:
    """The district, a worker, community staff, a resident with two appeals filed, and
    a desk sign-in link for the community staff (what /web makes)."""
    engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    clock = SystemClock()
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        now = clock.now()
        session.add(
            User(
                id=RESIDENT,
                first_name="王秀英",
                telegram_language="zh-hans",
                building_id=tree.building.id,
                consent_at=now,
                created_at=now,
                last_seen_at=now,
            )
        )
        for user_id, role, node in (
            (WORKER, Role.WORKER, tree.grid),
            (COMMUNITY, Role.COMMUNITY_STAFF, tree.community),
        ):
            session.add(
                User(id=user_id, first_name=f"staff{user_id}", created_at=now, last_seen_at=now)
            )
            await session.flush()
            await StaffRepo(session).grant(
                user_id=user_id, role=role, node=node, granted_by=None, now=now
            )
        building = await session.get(type(tree.building), tree.building.id)
        assert building is not None
        service = AppealService(session, AppealPolicy(), now)
        first = await service.file(
            RESIDENT, building, Draft(category="sanitation", text="楼道灯坏了")
        )
        second = await service.file(
            RESIDENT, building, Draft(category="property", text="垃圾没人收")
        )
        issued = await DeskAuth(session, DeskPolicy()).issue_link(COMMUNITY)
        await session.commit()
    await engine.dispose()
    return first.id, second.id, issued.token


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs TEST_DATABASE_URL")
async def test_two_processes_share_sessions_and_live_changes(
    emu: BotAPIEmulator, tmp_path: Path
) -> None:
    redis = os.environ.get("TEST_REDIS_URL")
    if not redis:
        pytest.fail("TEST_REDIS_URL must be set alongside TEST_DATABASE_URL")
    for user_id in (WORKER, COMMUNITY, RESIDENT):
        emu.add_user(user_id=user_id, first_name=f"u{user_id}", language_code="zh-hans")
        emu.world.chats[user_id].opened = True
    async with database("postgresql", tmp_path) as url:
        first, second, token = await _seed(url)
        prefix = f"desk-{uuid.uuid4().hex[:8]}"
        ports = [_free_port(), _free_port()]
        bots = [
            BotProcess(
                emu,
                url,
                tmp_path,
                redis_url=redis,
                webhook_port=port,
                extra_env={"REDIS_PREFIX": prefix, "WEB_BASE_URL": f"http://127.0.0.1:{port}"},
            )
            for port in ports
        ]
        for bot in bots:  # one after the other: a loaded machine starts each in time
            await bot.start()
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        try:
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                # Signed in on A...
                async with http.post(
                    f"{a}/desk/signin", data={"token": token}, allow_redirects=False
                ) as entered:
                    assert entered.status == 303, await entered.text()
                cookie = next(c.value for c in jar if c.key == "gridbot_desk")
                headers = {"Cookie": f"gridbot_desk={cookie}"}
                # ...and known to B: the session lives in the database.
                async with aiohttp.ClientSession() as other:
                    async with other.get(f"{b}/desk/appeals", headers=headers) as page:
                        assert page.status == 200
                        text = await page.text()
                        csrf = re.search(r'name="csrf" value="([^"]+)"', text)
                        assert csrf is not None
                    # A holds the live page open.
                    live = await other.get(f"{a}/desk/live", headers=headers)
                    assert live.status == 200
                    stream = Stream(live)

                    # The worker accepts the first from her pushed card, through B.
                    assert await wait_for(
                        lambda: any(
                            "楼道灯坏了" in (m.text or "") for m in emu.chat(WORKER).bot_messages
                        )
                    )
                    card = next(
                        m for m in emu.chat(WORKER).bot_messages if "楼道灯坏了" in (m.text or "")
                    )
                    accept = next(
                        data
                        for row in card.inline_buttons()
                        for text_, data in row
                        if data and data.startswith("task:accept:")
                    )
                    update = emu.press(WORKER, card.message_id, accept, queue=False)
                    started = time.monotonic()
                    async with other.post(
                        f"{b}/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    ) as posted:
                        assert posted.status == 200
                    assert await stream.until("changed", seconds=10) == f"appeal-{first}"
                    chat_to_desk = time.monotonic() - started

                    # The community staff take the second on B's desk: A's page hears it.
                    started = time.monotonic()
                    async with other.post(
                        f"{b}/desk/appeals/{second}/accept",
                        data={"csrf": csrf.group(1)},
                        headers=headers,
                        allow_redirects=False,
                    ) as taken:
                        assert taken.status == 303, await taken.text()
                    assert await stream.until("changed", seconds=10) == f"appeal-{second}"
                    desk_to_desk = time.monotonic() - started
                    stream.close()
            print(
                f"B's commit reached A's open page in {chat_to_desk:.3f} s (chat) "
                f"and {desk_to_desk:.3f} s (desk)"
            )
            engine = create_engine(url)
            async with create_sessionmaker(engine)() as session:
                owners = dict((await session.execute(select(Appeal.id, Appeal.owner_id))).all())
            await engine.dispose()
            assert owners == {first: WORKER, second: COMMUNITY}
        finally:
            codes = await asyncio.gather(*(bot.stop() for bot in bots))
        assert codes == [0, 0], [bot.log() for bot in bots]
