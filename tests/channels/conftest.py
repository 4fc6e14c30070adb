"""Open311 tests: the bot as in every test, its web application on a local port, and a
client speaking GeoReport v2 to it over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from storage.channels.service import ChannelService
from storage.hierarchy import Node
from storage.roles import Role
from tests.harness import Harness, World
from web.server import build_web_app

BASE = "/open311/v2"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Open311:
    server: TestServer
    http: ClientSession

    async def get(self, path: str, **params: str) -> Answer:
        url = str(self.server.make_url(BASE + path))
        async with self.http.get(url, params=params) as r:
            return Answer(r.status, await r.read(), dict(r.headers))

    async def post(self, path: str, form: dict[str, str], **headers: str) -> Answer:
        url = str(self.server.make_url(BASE + path))
        async with self.http.post(url, data=form, headers=headers) as r:
            return Answer(r.status, await r.read(), dict(r.headers))


@pytest.fixture
async def server(harness: Harness) -> AsyncIterator[TestServer]:
    served = TestServer(build_web_app(harness.app))
    await served.start_server()
    yield served
    await served.close()


@pytest.fixture
async def api(server: TestServer) -> AsyncIterator[Open311]:
    async with ClientSession() as http:
        yield Open311(server, http)


async def make_channel(
    harness: Harness, world: World, name: str = "12345 热线", node: Node | None = None
) -> tuple[int, str]:
    """A channel of the district (or ``node``) made by an admin: (id, key)."""
    admin = await world.staff(Role.ADMIN, None, "管理员")
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(admin.id)
        channel, key = await s.get(ChannelService).create(
            staffing, node or world.tree.district, name
        )
        return channel.id, key
