"""A browser of the desk for tests: its own cookie jar, the CSRF token of the last page
it read, and signing in the way a person does (the link from /web, opened, posted)."""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from emulator.world import EmulatedUser
from storage.desk import DeskAuth
from tests.harness import Harness

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Every browser a test opened, closed after it whatever happened (tests.desk.conftest).
OPEN: list[DeskBrowser] = []


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]
    location: str | None = None

    def has(self, fragment: str) -> bool:
        return fragment in html.unescape(self.text)


@dataclass
class DeskBrowser:
    server: TestServer | str  # a test server, or the base URL of a running one
    http: ClientSession = field(init=False)
    csrf: str | None = None

    def __post_init__(self) -> None:
        # unsafe: cookies for an address like 127.0.0.1, as a browser keeps them.
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))
        OPEN.append(self)

    def url(self, path: str) -> str:
        if isinstance(self.server, str):
            return self.server + path
        return str(self.server.make_url(path))

    async def _page(self, response: ClientResponse) -> Page:
        text = (await response.read()).decode("utf-8", errors="replace")
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        headers = {k: v for k, v in response.headers.items()}
        return Page(response.status, text, headers, response.headers.get("Location"))

    async def get(self, path: str, **headers: str) -> Page:
        async with self.http.get(self.url(path), headers=headers, allow_redirects=False) as r:
            return await self._page(r)

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **headers: str
    ) -> Page:
        form = dict(data or {})
        if csrf and self.csrf is not None:
            form.setdefault("csrf", self.csrf)
        async with self.http.post(
            self.url(path), data=form, headers=headers, allow_redirects=False
        ) as r:
            return await self._page(r)

    async def open_link(self, link: str) -> Page:
        """Open a sign-in link as a person does: the page, then what its script posts."""
        path = urlsplit(link).path
        page = await self.get(path)
        assert page.status == 200, page.text
        token = path.rsplit("/", 1)[-1]
        return await self.post("/desk/signin", {"token": token}, csrf=False)

    def cookie(self) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == "gridbot_desk":
                return cookie.value
        return None

    async def close(self) -> None:
        if not self.http.closed:
            await self.http.close()


async def link_for(harness: Harness, person: EmulatedUser | int) -> str:
    """A one-time sign-in link made by the storage code /web uses."""
    user_id = person if isinstance(person, int) else person.id
    async with harness.app.services() as s:
        issued = await s.get(DeskAuth).issue_link(user_id)
    return f"/desk/signin/{issued.token}"


async def signed_in(harness: Harness, server: TestServer, person: EmulatedUser) -> DeskBrowser:
    browser = DeskBrowser(server)
    entered = await browser.open_link(await link_for(harness, person))
    assert entered.status == 303, entered.text
    page = await browser.get("/desk/appeals")
    assert page.status == 200, page.text
    return browser


def init_data(token: str, user: dict[str, Any], auth_date: datetime, **extra: str) -> str:
    """Mini App data as Telegram signs it for the bot with ``token``."""
    fields = {"auth_date": str(int(auth_date.timestamp())), "user": json.dumps(user), **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


class Stream:
    """The server-sent events a desk page listens to, read as they come, as the
    browser's EventSource reads them (an event's ``data:`` lines joined with newlines)."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self._buffer = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    @classmethod
    async def open(cls, browser: DeskBrowser, path: str = "/desk/live") -> Stream:
        response = await browser.http.get(browser.url(path))
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return cls(response)

    async def event(self, seconds: float = 10.0) -> tuple[str, str]:
        """The next event (name, data); comments and the retry line are skipped."""
        return await asyncio.wait_for(self._next(), seconds)

    async def until(self, name: str, seconds: float = 10.0) -> str:
        """The data of the next event called ``name``, skipping others."""

        async def wait() -> str:
            while True:
                got, data = await self._next()
                if got == name:
                    return data

        return await asyncio.wait_for(wait(), seconds)

    async def _next(self) -> tuple[str, str]:
        while True:
            while "\n\n" in self._buffer:
                block, self._buffer = self._buffer.split("\n\n", 1)
                name, data = None, []
                for line in block.split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "event":
                        name = value
                    elif field == "data":
                        data.append(value)
                if name is not None:
                    return name, "\n".join(data)
            chunk = await self.response.content.readany()
            if not chunk:
                raise EOFError("the stream ended")
            self._buffer += self._decoder.decode(chunk)

    def close(self) -> None:
        self.response.close()
