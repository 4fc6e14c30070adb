"""The real bot as a process, killed with SIGKILL at chosen points (a fault-injection hook
only these tests enable), restarted, run twice at once, fed the same update twice and a
burst of residents: what was acknowledged is never lost, nothing is filed twice, pushes
arrive at least once with at most one copy per crash, deadlines fire once, nobody waits
long and every update gets an answer. On SQLite (one process) and on PostgreSQL + Redis
(the scale path, several processes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from emulator import BotAPIEmulator
from emulator.errors import EmulatorUsageError
from emulator.world import EmulatedUser
from storage.appeals import Appeal, AppealEvent, AppealPolicy, AppealService, Draft
from storage.clock import SystemClock
from storage.migrate import upgrade
from storage.roles import Role, StaffRepo
from storage.sessions import create_engine, create_sessionmaker
from storage.users import User
from tests.conftest import BACKENDS
from tests.factories import Tree, build_tree
from tests.processes import BotProcess, database, wait_for

REDIS = os.environ.get("TEST_REDIS_URL")
WORKER, COMMUNITY = 2001, 3001
FILED = "已提交"
CARD = "井盖丢了"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_for(kind: str) -> str | None:
    """PostgreSQL runs the way a district does: with Redis beside it."""
    if kind != "postgresql":
        return None
    if not REDIS:
        pytest.fail("TEST_REDIS_URL must be set alongside TEST_DATABASE_URL")
    return REDIS


async def _seed(url: str, residents: int, *, staff: bool = True) -> Tree:
    engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    clock = SystemClock()
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        now = clock.now()
        for i in range(residents):
            session.add(
                User(
                    id=10_000 + i,
                    first_name=f"居民{i}",
                    telegram_language="zh-hans",
                    building_id=tree.building.id,
                    consent_at=now,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        if staff:
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
        await session.commit()
    await engine.dispose()
    return tree


def _people(emu: BotAPIEmulator, residents: int) -> list[EmulatedUser]:
    for user_id in (WORKER, COMMUNITY):
        emu.add_user(user_id=user_id, first_name=f"staff{user_id}", language_code="zh-hans")
        emu.world.chats[user_id].opened = True
    people = []
    for i in range(residents):
        person = emu.add_user(user_id=10_000 + i, first_name=f"居民{i}", language_code="zh-hans")
        emu.world.chats[person.id].opened = True
        people.append(person)
    return people


async def _count(url: str, model: type, *where: object) -> int:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            stmt = select(func.count()).select_from(model)
            if where:
                stmt = stmt.where(*where)  # type: ignore[arg-type]
            return int((await session.execute(stmt)).scalar_one())
    finally:
        await engine.dispose()


def _texts(emu: BotAPIEmulator, user_id: int) -> list[str]:
    return [m.text or m.caption or "" for m in emu.chat(user_id).bot_messages]


def _last(emu: BotAPIEmulator, user_id: int) -> str:
    texts = _texts(emu, user_id)
    return texts[-1] if texts else ""


async def _step(emu: BotAPIEmulator, user: EmulatedUser, action: object, expect: str) -> None:
    before = _texts(emu, user.id)
    assert callable(action)
    action()
    assert await wait_for(lambda: _changed(emu, user.id, before, expect), seconds=60), (
        f"{user.id} waited for {expect!r}; chat: {_texts(emu, user.id)[-3:]}"
    )


def _changed(emu: BotAPIEmulator, user_id: int, before: list[str], expect: str) -> bool:
    """A message sent or edited since ``before`` says ``expect``."""
    now = _texts(emu, user_id)
    return any(expect in t and (i >= len(before) or before[i] != t) for i, t in enumerate(now))


async def _file_up_to_confirm(emu: BotAPIEmulator, user: EmulatedUser) -> None:
    await _step(emu, user, lambda: emu.send_command(user, "new"), "类别")
    await _step(emu, user, lambda: emu.press_button(user, "环境卫生"), "描述")
    await _step(emu, user, lambda: emu.send_text(user, "楼道里堆满了杂物"), "请核对")


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A migrated database of the test's own (a copy: migrating is the subject of
    test_two_processes_starting_together_on_an_empty_database and test_migrations)."""
    async with database(request.param, tmp_path, migrated=True) as url:
        yield request.param, url


@pytest.fixture(params=BACKENDS)
async def empty_backend(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    async with database(request.param, tmp_path) as url:
        yield request.param, url


async def test_killed_right_after_filing_the_resident_is_told_once_and_nothing_is_filed_twice(
    emu: BotAPIEmulator, backend: tuple[str, str], tmp_path: Path
) -> None:
    kind, url = backend
    await _seed(url, 1)
    [resident] = _people(emu, 1)
    # Only the restart's knowing its predecessor can free the confirmation in seconds.
    env = _prefix() | {"OUTBOX_SILENT_SECONDS": "60"}
    bot = BotProcess(emu, url, tmp_path, redis_url=_redis_for(kind), extra_env=env)
    # Updates 1-3 fill the form; the 4th, confirm, commits and the process dies at once,
    # before the form says anything.
    await bot.start(crash_at="update.committed:4")
    try:
        await _file_up_to_confirm(emu, resident)
        emu.press_button(resident, "确认提交")
        assert await bot.died() == -9, bot.log()
        assert await _count(url, Appeal) == 1
        assert not any(FILED in t for t in _texts(emu, resident.id))

        await bot.start()
        restarted = asyncio.get_running_loop().time()
        # The confirmation was owed with the appeal (claimed by the form that died): the
        # restarted bot delivers it within seconds.
        assert await wait_for(lambda: any(FILED in t for t in _texts(emu, resident.id)))
        assert asyncio.get_running_loop().time() - restarted < 25, bot.log()
        # Confirming the same form again, where the old button is still there (the form
        # lives on in Redis), files nothing more.
        with contextlib.suppress(EmulatorUsageError):
            emu.press_button(resident, "确认提交")
        await asyncio.sleep(1.5)
        assert await _count(url, Appeal) == 1
        assert sum(FILED in t for t in _texts(emu, resident.id)) == 1
        assert not any("出了点问题" in t for t in _texts(emu, resident.id))
    finally:
        await bot.stop()


async def test_killed_between_a_push_and_its_record_sends_it_once_more_at_most(
    emu: BotAPIEmulator, backend: tuple[str, str], tmp_path: Path
) -> None:
    kind, url = backend
    tree = await _seed(url, 1)
    [resident] = _people(emu, 1)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        building = await session.get(type(tree.building), tree.building.id)
        assert building is not None
        await AppealService(session, AppealPolicy(), SystemClock().now()).file(
            resident.id, building, Draft(category="sanitation", text="井盖丢了")
        )
        await session.commit()
    await engine.dispose()
    bot = BotProcess(emu, url, tmp_path, redis_url=_redis_for(kind), extra_env=_prefix())
    await bot.start(crash_at="delivery.sent:1", ready=False)
    try:
        assert await bot.died() == -9, bot.log()
        # The first message went out and its record did not. The two chats are delivered
        # side by side, so on a busy machine the other one can reach Telegram too before
        # the process dies, with or without its record.
        before = {"resident": _texts(emu, resident.id), "worker": _texts(emu, WORKER)}
        assert 1 <= len(before["resident"]) + len(before["worker"]) <= 2, before
        await bot.start()
        assert await wait_for(lambda: any(FILED in t for t in _texts(emu, resident.id)))
        assert await wait_for(lambda: any(CARD in t for t in _texts(emu, WORKER)))
        await asyncio.sleep(1.5)
        # At least once each; a second copy only of one that was in flight at the crash,
        # and the one the crash interrupted did go twice.
        counts = {
            "resident": sum(FILED in t for t in _texts(emu, resident.id)),
            "worker": sum(CARD in t for t in _texts(emu, WORKER)),
        }
        for chat, count in counts.items():
            assert count == 1 or (count == 2 and before[chat]), (counts, before)
        assert sum(counts.values()) >= 3, (counts, before)
    finally:
        await bot.stop()


async def test_killed_while_sending_a_confirmation_the_chat_hears_it_within_seconds(
    emu: BotAPIEmulator, backend: tuple[str, str], tmp_path: Path
) -> None:
    """The restarted process knows its predecessor is gone: what that one was sending,
    and what the chat had queued behind it, arrive at once, not after a minute (nor after
    the silence that tells a live process another one died: set longer than the wait)."""
    kind, url = backend
    tree = await _seed(url, 1, staff=False)
    [resident] = _people(emu, 1)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        building = await session.get(type(tree.building), tree.building.id)
        assert building is not None
        service = AppealService(session, AppealPolicy(), SystemClock().now())
        for words in ("井盖丢了", "路灯不亮"):
            await service.file(resident.id, building, Draft(category="sanitation", text=words))
        await session.commit()
    await engine.dispose()
    env = _prefix() | {"OUTBOX_SILENT_SECONDS": "60"}
    bot = BotProcess(emu, url, tmp_path, redis_url=_redis_for(kind), extra_env=env)
    await bot.start(crash_at="delivery.sent:1", ready=False)
    try:
        assert await bot.died() == -9, bot.log()
        assert [t for t in _texts(emu, resident.id) if "#000001" in t], _texts(emu, resident.id)
        await bot.start()
        loop = asyncio.get_running_loop()
        restarted = loop.time()
        assert await wait_for(
            lambda: any("#000002" in t for t in _texts(emu, resident.id)), seconds=45
        ), (_texts(emu, resident.id), bot.log())
        # Seconds (more on a loaded machine); waiting out the lease made it a minute.
        assert loop.time() - restarted < 25, bot.log()
        await asyncio.sleep(0.5)
        # At least once: the one in flight at the kill came once more, in order.
        numbers = [n for t in _texts(emu, resident.id) for n in ("#000001", "#000002") if n in t]
        assert numbers == ["#000001", "#000001", "#000002"], numbers
    finally:
        await bot.stop()


async def test_killed_inside_a_sweep_escalates_once(
    emu: BotAPIEmulator, backend: tuple[str, str], tmp_path: Path
) -> None:
    kind, url = backend
    tree = await _seed(url, 3)
    people = _people(emu, 3)
    engine = create_engine(url)
    filed_at = datetime.now(UTC) - timedelta(hours=25)  # the accept window passed
    async with create_sessionmaker(engine)() as session:
        building = await session.get(type(tree.building), tree.building.id)
        assert building is not None
        service = AppealService(session, AppealPolicy(), filed_at)
        for person in people:
            await service.file(person.id, building, Draft(category="sanitation", text="积水"))
        await session.commit()
    await engine.dispose()
    bot = BotProcess(emu, url, tmp_path, redis_url=_redis_for(kind), extra_env=_prefix())
    await bot.start(crash_at="sweep.fired:2", ready=False)
    try:
        assert await bot.died() == -9, bot.log()
        await bot.start()
        assert await wait_for(
            lambda: sum("超时上报" in t for t in _texts(emu, COMMUNITY)) == 3, seconds=90
        ), _texts(emu, COMMUNITY)
        await asyncio.sleep(1.5)
        assert await _count(url, AppealEvent, AppealEvent.kind == "escalated") == 3
        assert sum("超时上报" in t for t in _texts(emu, COMMUNITY)) == 3
    finally:
        await bot.stop()


async def test_the_same_update_twice_by_polling_is_handled_once(
    emu: BotAPIEmulator, tmp_path: Path
) -> None:
    async with database("sqlite", tmp_path, migrated=True) as url:
        await _seed(url, 0, staff=False)
        bot = BotProcess(emu, url, tmp_path)
        await bot.start()
        try:
            newcomer = emu.add_user(user_id=55_001, first_name="新人", language_code="zh-hans")
            update = emu.send_command(newcomer, "start", queue=False)
            emu.enqueue(update)
            emu.enqueue(update)
            assert await wait_for(lambda: len(_texts(emu, newcomer.id)) >= 1)
            await asyncio.sleep(1.5)
            assert len(_texts(emu, newcomer.id)) == 1
            assert emu.errors == []
        finally:
            await bot.stop()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs TEST_DATABASE_URL")
async def test_two_webhook_processes_share_updates_once_and_fire_deadlines_once(
    emu: BotAPIEmulator, tmp_path: Path
) -> None:
    async with database("postgresql", tmp_path, migrated=True) as url:
        tree = await _seed(url, 20)
        people = _people(emu, 20)
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session:
            building = await session.get(type(tree.building), tree.building.id)
            assert building is not None
            service = AppealService(
                session, AppealPolicy(), datetime.now(UTC) - timedelta(hours=25)
            )
            for person in people[:5]:
                await service.file(person.id, building, Draft(category="sanitation", text="积水"))
            await session.commit()
        await engine.dispose()
        env = _prefix()
        bots = [
            BotProcess(
                emu,
                url,
                tmp_path,
                redis_url=_redis_for("postgresql"),
                webhook_port=_free_port(),
                extra_env=env,
            )
            for _ in range(2)
        ]
        # Both start at once on a database they share: they take turns migrating.
        await asyncio.gather(*(b.start() for b in bots))
        try:
            async with aiohttp.ClientSession() as http:

                async def post(bot: BotProcess, update: dict[str, object]) -> int:
                    async with http.post(
                        f"http://127.0.0.1:{bot.webhook_port}/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"},
                    ) as response:
                        return response.status

                # Each resident's /menu goes to one process, and again to the other
                # (a retried webhook landing elsewhere): handled once.
                for i, person in enumerate(people[5:]):
                    update = emu.send_command(person, "menu", queue=False)
                    statuses = await asyncio.gather(
                        post(bots[i % 2], update), post(bots[(i + 1) % 2], update)
                    )
                    assert statuses == [200, 200]
            for person in people[5:]:
                assert await wait_for(lambda p=person: len(_texts(emu, p.id)) >= 1)
            assert await wait_for(
                lambda: sum("超时上报" in t for t in _texts(emu, COMMUNITY)) == 5, seconds=90
            )
            await asyncio.sleep(2)
            for person in people[5:]:
                assert len(_texts(emu, person.id)) == 1, person.id
            assert await _count(url, AppealEvent, AppealEvent.kind == "escalated") == 5
            assert sum("超时上报" in t for t in _texts(emu, COMMUNITY)) == 5
        finally:
            codes = await asyncio.gather(*(b.stop() for b in bots))
        assert codes == [0, 0], [b.log() for b in bots]


async def test_two_processes_starting_together_on_an_empty_database(
    emu: BotAPIEmulator, empty_backend: tuple[str, str], tmp_path: Path
) -> None:
    kind, url = empty_backend
    env = _prefix()
    bots = [
        BotProcess(
            emu, url, tmp_path, redis_url=_redis_for(kind), webhook_port=_free_port(), extra_env=env
        )
        for _ in range(2)
    ]
    await asyncio.gather(*(b.start() for b in bots))
    try:
        assert all(b.alive for b in bots)
    finally:
        codes = await asyncio.gather(*(b.stop() for b in bots))
    assert codes == [0, 0], [b.log() for b in bots]


async def test_200_residents_filing_at_once_are_all_answered(
    emu: BotAPIEmulator, backend: tuple[str, str], tmp_path: Path
) -> None:
    kind, url = backend
    await _seed(url, 200, staff=False)
    people = _people(emu, 200)
    bot = BotProcess(emu, url, tmp_path, redis_url=_redis_for(kind), extra_env=_prefix())
    await bot.start()
    try:
        steps: list[tuple[object, str]] = [
            (lambda p: emu.send_command(p, "new"), "类别"),
            (lambda p: emu.press_button(p, "环境卫生"), "描述"),
            (lambda p: emu.send_text(p, "楼道里堆满了杂物"), "请核对"),
            (lambda p: emu.press_button(p, "确认提交"), FILED),
        ]
        for act, expect in steps:
            marks = {p.id: _texts(emu, p.id) for p in people}
            for person in people:  # everybody at once
                assert callable(act)
                act(person)
            done = await wait_for(
                lambda e=expect, m=marks: all(_changed(emu, p.id, m[p.id], e) for p in people),
                seconds=90,
            )
            missing = [p.id for p in people if not _changed(emu, p.id, marks[p.id], expect)]
            assert done, (
                f"{len(missing)} residents never saw {expect!r}: {missing[:5]}\n{bot.log()}"
            )
        assert await _count(url, Appeal) == 200
        every_text = [t for p in people for t in _texts(emu, p.id)]
        assert not any("出了点问题" in t for t in every_text)
        assert emu.errors == []
    finally:
        await bot.stop()


def _prefix() -> dict[str, str]:
    """Redis keys of their own for this test's bots."""
    return {"REDIS_PREFIX": f"rel-{uuid.uuid4().hex[:8]}"}
