"""The sandbox's demo channel: "12345 热线 (演示)" with a key made at start, shown on
the page; the README's curl recipe files an appeal into the demo district that arrives
in 赵丽娟's pane and reads back as she accepts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
from tests.sandbox.test_sandbox import WORKER, bot_messages, get, post, until


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as running:
        yield running


async def test_the_demo_channel_files_into_the_workers_pane(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.url) as http:
        state = await get(http, "/api/state")
        demo = state["open311"]
        assert demo["channel"] == "12345 热线 (演示)" and demo["key"].startswith("g311_")
        async with http.get("/") as page:
            assert 'id="open311"' in await page.text()
        async with aiohttp.ClientSession() as api:
            form = {
                "api_key": demo["key"],
                "service_code": "sanitation",
                "address_id": demo["address_id"],
                "phone": "13800000000",
                "description": "楼道里堆满了杂物",
                "attribute[external_id]": "T-0001",
            }
            async with api.post(demo["url"] + "requests.json", data=form) as filed:
                assert filed.status == 201, await filed.text()
                number = (await filed.json())[0]["service_request_id"]

            async def card() -> dict[str, Any] | None:
                for message in await bot_messages(http, WORKER):
                    if number in (message.get("text") or ""):
                        return message
                return None

            pushed = await until(card)
            assert "12345 热线 (演示)" in pushed["text"]
            accept = next(
                b
                for row in pushed["reply_markup"]["inline_keyboard"]
                for b in row
                if "受理" in b["text"]
            )
            await post(
                http,
                f"/api/chats/{WORKER}/press",
                {"message_id": pushed["message_id"], "data": accept["callback_data"]},
            )

            async def accepted() -> bool:
                url = f"{demo['url']}requests/{number}.json"
                async with api.get(url, params={"api_key": demo["key"]}) as read:
                    return bool((await read.json())[0]["status_notes"] == "已受理")

            await until(accepted)
