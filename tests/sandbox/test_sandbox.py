"""`gridbot sandbox` through its JSON API and live feed: the real bot, long-polling the
emulator, with the demo database; personas act as Telegram users would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError
from emulator import sample_png
from sandbox import Sandbox, run_sandbox
from sandbox.audio import ogg_seconds
from storage.demo import DEMO_PERSONAS
from storage.users import User

RESIDENT = 9_000_001  # 王秀英, 通海社区 第一网格 1号楼
OTHER_RESIDENT = 9_000_002
WORKER = 9_000_007  # 赵丽娟, grid worker of 通海社区 第一网格
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区


async def until(predicate: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Poll a condition (the bot answers asynchronously over long polling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str) -> Any:
    async with http.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def post(
    http: aiohttp.ClientSession, path: str, body: dict[str, Any] | None = None, status: int = 200
) -> Any:
    async with http.post(path, json=body or {}) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def bot_messages(http: aiohttp.ClientSession, user_id: int) -> list[dict[str, Any]]:
    chat = await get(http, f"/api/chats/{user_id}")
    return [m for m in chat["messages"] if m["from_bot"]]


async def test_page_and_personas(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    async with http.get("/") as response:
        assert response.status == 200
        page = await response.text()
    assert "网格通" in page and "/static/app.js" in page
    for script, needle in (("app.js", "./render.js"), ("render.js", "renderEntities")):
        async with http.get(f"/static/{script}") as response:
            assert response.status == 200
            assert "javascript" in response.content_type
            assert needle in await response.text()

    state = await get(http, "/api/state")
    people = {p["id"]: p for p in state["personas"]}
    assert {p.user_id for p in DEMO_PERSONAS} <= set(people)
    assert state["defaults"] == [RESIDENT, WORKER, COMMUNITY_STAFF]
    assert people[RESIDENT]["role_label"] == "居民"
    assert people[RESIDENT]["place"] == "通海社区 · 第一网格 · 1号楼"
    assert people[WORKER]["role_label"] == "网格员"
    assert people[WORKER]["scope"] == "通海社区 · 第一网格"
    assert people[COMMUNITY_STAFF]["role_label"] == "社区工作者"
    assert people[RESIDENT]["phone"].startswith("+86")
    assert abs(people[RESIDENT]["latitude"] - 37.388) < 0.05
    assert abs(people[RESIDENT]["longitude"] - 121.603) < 0.05
    buildings = state["buildings"]
    assert len(buildings) > 20
    assert all(b["payload"].startswith("b_") for b in buildings)
    assert buildings[0]["link"].startswith("https://t.me/gridbot_sandbox_bot?start=b_")
    assert state["bot"]["username"] == "gridbot_sandbox_bot"

    async with http.get("/api/chats/12345") as response:
        assert response.status == 404


async def test_text_as_a_persona_gets_the_bots_reply_live(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect("/api/events") as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        await post(http, f"/api/chats/{RESIDENT}/text", {"text": "/start"})
        seen: list[dict[str, Any]] = []
        while not any(e["type"] == "message" and e["message"]["from_bot"] for e in seen):
            seen.append(await ws.receive_json(timeout=10))
    mine = seen[0]
    assert mine["type"] == "message" and mine["chat_id"] == RESIDENT
    assert mine["message"]["text"] == "/start" and not mine["message"]["from_bot"]
    reply = next(e for e in seen if e["type"] == "message" and e["message"]["from_bot"])
    assert reply["chat_id"] == RESIDENT
    assert "王秀英" in reply["message"]["text"]
    assert reply["seq"] > mine["seq"]
    # The snapshot tells the page which events it already contains.
    chat = await get(http, f"/api/chats/{RESIDENT}")
    assert chat["seq"] >= reply["seq"]
    assert chat["messages"][0]["text"] == "/start"
    assert chat["messages"][1]["reply_markup"]["inline_keyboard"]
    assert {c["command"] for c in chat["commands"]} >= {"start", "new", "appeals"}


async def test_pressing_a_button_and_staff_menus(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await post(http, f"/api/chats/{RESIDENT}/text", {"text": "/start"})
    menu = (await until(lambda: bot_messages(http, RESIDENT)))[-1]
    button = next(
        b for row in menu["reply_markup"]["inline_keyboard"] for b in row if "帮助" in b["text"]
    )
    await post(
        http,
        f"/api/chats/{RESIDENT}/press",
        {"message_id": menu["message_id"], "data": button["callback_data"]},
    )
    await until(lambda: _any_text(bot_messages(http, RESIDENT), "居民帮助"))
    # A button that is not on the message is refused, like a Telegram client would.
    refused = await post(
        http,
        f"/api/chats/{RESIDENT}/press",
        {"message_id": menu["message_id"], "data": "forged"},
        status=409,
    )
    assert "no button" in refused["error"]
    # Staff got their role's command menu, not the residents'.
    worker = await get(http, f"/api/chats/{WORKER}")
    assert {c["command"] for c in worker["commands"]} >= {"tasks", "stats"}
    assert "new" not in {c["command"] for c in worker["commands"]}


async def _any_text(messages: Any, needle: str) -> bool:
    return any(needle in (m.get("text") or "") for m in await messages)


async def test_media_location_and_contact(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    png = sample_png(40, 30)
    form = aiohttp.FormData()
    form.add_field("file", png, filename="wall.png", content_type="image/png")
    form.add_field("caption", "楼道墙皮脱落")
    async with http.post(f"/api/chats/{RESIDENT}/photo", data=form) as response:
        assert response.status == 200, await response.text()
    voice = aiohttp.FormData()
    voice.add_field("file", b"OggS" + b"\x00" * 200, filename="note.ogg")
    voice.add_field("duration", "7")
    async with http.post(f"/api/chats/{RESIDENT}/voice", data=voice) as response:
        assert response.status == 200, await response.text()
    await post(http, f"/api/chats/{RESIDENT}/location")
    await post(http, f"/api/chats/{RESIDENT}/contact")

    bad = aiohttp.FormData()
    bad.add_field("file", b"%PDF-1.4 not a picture", filename="x.pdf")
    async with http.post(f"/api/chats/{RESIDENT}/photo", data=bad) as response:
        assert response.status == 400

    chat = await get(http, f"/api/chats/{RESIDENT}")
    mine = [m for m in chat["messages"] if not m["from_bot"]]
    photo, note, place, contact = mine[:4]
    assert photo["caption"] == "楼道墙皮脱落"
    async with http.get(f"/api/files/{photo['photo'][-1]['file_id']}") as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == png
    assert note["voice"]["duration"] == 7
    persona = sandbox.directory.persona(RESIDENT)
    assert persona is not None
    assert place["location"] == {"latitude": persona.latitude, "longitude": persona.longitude}
    assert contact["contact"]["phone_number"] == persona.phone
    async with http.get("/api/files/nope") as response:
        assert response.status == 404


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(body: bytes, granule: int, sequence: int, flags: int = 0, serial: int = 7) -> bytes:
    lacing = bytes([255] * (len(body) // 255) + [len(body) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + lacing + body
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def ogg_voice(seconds: float, codec: str = "opus", pre_skip: int = 312) -> bytes:
    """An Ogg file laid out as an encoder writes one (identification header, comments,
    then audio pages whose granule positions count samples); the audio itself is blank."""
    if codec == "opus":
        rate, skip = 48_000, pre_skip
        head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 16_000, 0, 0)
        tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    else:
        rate, skip = 44_100, 0
        head = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, rate, 0, 64_000, 0, 0xB8, 1)
        tags = b"\x03vorbis" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0) + b"\x01"
    pages = [_ogg_page(head, 0, 0, flags=2), _ogg_page(tags, 0, 1)]
    total = skip + round(seconds * rate)
    granule, sequence = skip, 2
    while granule < total:
        granule = min(total, granule + rate)
        pages.append(_ogg_page(b"\x00" * 300, -1, sequence))  # a packet spanning pages
        pages.append(
            _ogg_page(b"\x00" * 40, granule, sequence + 1, flags=4 if granule == total else 0)
        )
        sequence += 2
    return b"".join(pages)


def test_an_ogg_file_tells_its_own_length() -> None:
    assert ogg_seconds(ogg_voice(4.0)) == pytest.approx(4.0)
    assert ogg_seconds(ogg_voice(2.5, pre_skip=3840)) == pytest.approx(2.5)
    assert ogg_seconds(ogg_voice(7.25, codec="vorbis")) == pytest.approx(7.25)
    # Not Ogg, or cut off before any audio page: the length is unknown.
    assert ogg_seconds(b"\x1aE\xdf\xa3" + bytes(200)) is None  # WebM
    assert ogg_seconds(ogg_voice(4.0)[:120]) is None
    assert ogg_seconds(b"") is None


async def test_a_voice_note_keeps_its_real_length(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """The page used to give a voice note whose length it could not read 3 s, and the
    emulator gives one the bot sends on by file_id 1 s; a 4 s note shows 4″ in both."""

    async def send(data: bytes, duration: str | None = None, status: int = 200) -> None:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="note.ogg")
        if duration is not None:
            form.add_field("duration", duration)
        async with http.post(f"/api/chats/{RESIDENT}/voice", data=form) as response:
            assert response.status == status, await response.text()

    async def lengths(user_id: int) -> list[int]:
        chat = await get(http, f"/api/chats/{user_id}")
        return [m["voice"]["duration"] for m in chat["messages"] if "voice" in m]

    await send(ogg_voice(4.2))  # no duration: the Ogg file says how long it is
    assert await lengths(RESIDENT) == [4]
    # The bot sends it on to the grid worker by file_id, as with an appeal.
    chat = await get(http, f"/api/chats/{RESIDENT}")
    await sandbox.app.bot.send_voice(WORKER, chat["messages"][0]["voice"]["file_id"])
    assert await lengths(WORKER) == [4]

    await send(ogg_voice(4.2), duration="9")  # the file is believed over the page
    await send(b"\x1aE\xdf\xa3" + bytes(500), duration="6.4")  # WebM: the page measured it
    await send(b"\x1aE\xdf\xa3" + bytes(500), duration="soon", status=400)
    await send(b"\x1aE\xdf\xa3" + bytes(500), duration="-3", status=400)
    assert await lengths(RESIDENT) == [4, 4, 6]


async def test_clock_advance_moves_the_reported_time(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    before = await get(http, "/api/clock")
    assert before["offset_seconds"] == 0
    assert before["zone"] == "Asia/Shanghai"
    result = await post(http, "/api/clock/advance", {"minutes": 90})
    after = result["clock"]
    assert after["offset_seconds"] == 90 * 60
    assert after["timestamp"] - before["timestamp"] >= 90 * 60
    assert (await get(http, "/api/clock"))["offset_seconds"] == 90 * 60
    # The bot reads the same clock.
    assert sandbox.app.clock.now().timestamp() - before["timestamp"] >= 90 * 60
    await post(http, "/api/clock/advance", {"minutes": -5}, status=400)
    await post(http, "/api/clock/advance", {"minutes": "soon"}, status=400)
    await post(http, "/api/clock/advance", {"minutes": 61 * 24 * 60}, status=400)


async def test_rejected_requests_are_listed_with_their_chat(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    assert await get(http, "/api/errors") == []
    # Telegram refuses the bot's next message to this chat.
    sandbox.emu.fail(OTHER_RESIDENT, status=400, description="Bad Request: message is too long")
    async with http.ws_connect("/api/events") as ws:
        await ws.receive_json(timeout=5)
        await post(http, f"/api/chats/{OTHER_RESIDENT}/text", {"text": "/start"})
        event = await _next_of_type(ws, "rejected")
    assert event["chat_id"] == OTHER_RESIDENT
    assert event["status"] == 400
    assert event["error"] == "Bad Request: message is too long"
    errors = await get(http, "/api/errors")
    assert [(e["chat_id"], e["method"], e["status"]) for e in errors] == [
        (OTHER_RESIDENT, event["method"], 400)
    ]
    chat = await get(http, f"/api/chats/{OTHER_RESIDENT}")
    assert [e["error"] for e in chat["errors"]] == ["Bad Request: message is too long"]
    assert (await get(http, f"/api/chats/{RESIDENT}"))["errors"] == []


async def _next_of_type(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = await ws.receive_json(timeout=10)
        if event["type"] == kind:
            return event


async def test_bad_requests_are_refused(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    await post(http, f"/api/chats/{RESIDENT}/text", {"text": "   "}, status=400)
    await post(http, f"/api/chats/{RESIDENT}/text", {"text": "x" * 4097}, status=400)
    await post(http, f"/api/chats/{RESIDENT}/press", {"message_id": "1"}, status=400)
    async with http.post(f"/api/chats/{RESIDENT}/text", data="not json") as response:
        assert response.status == 400
    async with http.post(f"/api/chats/{RESIDENT}/photo", json={}) as response:
        assert response.status == 400
    # Sharing people needs a user-picker button the bot showed, and people who exist.
    share = f"/api/chats/{RESIDENT}/users"
    await post(http, share, {"request_id": 3001, "user_ids": [OTHER_RESIDENT]}, status=400)
    await post(http, share, {"request_id": 3001, "user_ids": []}, status=400)
    await post(http, share, {"request_id": "x", "user_ids": [OTHER_RESIDENT]}, status=400)
    await post(http, share, {"request_id": 3001, "user_ids": [123]}, status=400)


async def test_run_sandbox_serves_until_cancelled_and_keeps_a_named_db(tmp_path: Path) -> None:
    db = tmp_path / "sb" / "sandbox.db"
    urls: list[str] = []
    task = asyncio.create_task(run_sandbox(db, "127.0.0.1", 0, ready=urls.append))
    await until(lambda: urls or task.done(), seconds=30)
    assert urls, task.exception()
    async with aiohttp.ClientSession() as http:
        async with http.get(urls[0] + "api/state") as response:
            assert response.status == 200
            state = json.loads(await response.text())
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(urls[0]):
                pass
    assert db.exists()
    # Something played in the first run: 王秀英 moved out of her building.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE users SET building_id = NULL WHERE id = ?", (RESIDENT,))
    # A second run reuses the database and does not seed (and so undo) it again.
    async with Sandbox(db) as again:
        assert [p.id for p in again.directory.personas] == [p["id"] for p in state["personas"]]
        async with again.app.sessionmaker() as session:
            user = await session.get(User, RESIDENT)
            assert user is not None and user.building_id is None


async def test_a_busy_port_is_a_one_line_error(sandbox: Sandbox) -> None:
    second = Sandbox(port=sandbox.emu.port)
    with pytest.raises(ConfigError, match=f"--port {sandbox.emu.port}: cannot listen"):
        await second.start()
    await second.stop()  # stopping what never started is harmless
