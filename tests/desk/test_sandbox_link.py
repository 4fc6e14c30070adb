"""The sandbox opens the desk as a pane's persona: a one-time link made by the same
storage code as /web, on the desk the sandbox serves beside its page (same data, same
clock); residents have none."""

from __future__ import annotations

import aiohttp

from sandbox import Sandbox
from tests.desk.client import DeskBrowser

RESIDENT = 9_000_001  # 王秀英
COMMUNITY_STAFF = 9_000_011  # 郑红梅, 通海社区


async def test_a_staff_pane_opens_the_desk_as_its_persona() -> None:
    async with Sandbox() as sandbox, aiohttp.ClientSession(base_url=sandbox.url) as http:
        async with http.post(f"/api/chats/{COMMUNITY_STAFF}/desk", json={}) as answer:
            assert answer.status == 200
            link = (await answer.json())["url"]
        assert link.startswith(sandbox.web_url + "/desk/signin/")
        async with http.post(f"/api/chats/{RESIDENT}/desk", json={}) as refused:
            assert refused.status == 400
            assert "居民没有指挥台" in (await refused.json())["error"]

        browser = DeskBrowser(sandbox.web_url)
        try:
            entered = await browser.open_link(link)
            assert entered.status == 303
            queue = await browser.get("/desk/appeals")
            assert queue.status == 200 and queue.has("郑红梅")
            # Opened once: the same link again is refused.
            again = DeskBrowser(sandbox.web_url)
            assert (await again.open_link(link)).status == 410
            await again.close()
        finally:
            await browser.close()
