"""Clients nobody here wrote, and the spec's field list: the ``georeport`` package from
PyPI reads the running service in JSON and XML; every document is checked against the
GeoReport v2 fields and types; and 100 appeals from two channels at once (one retrying
half of its POSTs) are 100 appeals, each pushed once, each readable back as it moves
through accept, escalate, resolve and rate."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp.test_utils import TestServer
from georeport import GeoReport
from sqlalchemy import func, select

from bot.config import load_settings
from storage.appeals import Appeal, AppealService
from storage.channels.limits import ChannelLimits
from storage.outbox import OutboxMessage
from storage.roles import Role
from tests.channels.conftest import BASE, Open311, make_channel
from tests.channels.test_open311 import _form
from tests.harness import Harness, World

# GeoReport v2: each field of a document and its type ("dt": a w3 time with its zone).
SERVICE = {
    "service_code": str,
    "service_name": str,
    "description": str,
    "metadata": bool,
    "type": str,
    "keywords": str,
    "group": str,
}
ATTRIBUTE = {
    "variable": bool,
    "code": str,
    "datatype": str,
    "required": bool,
    "datatype_description": str,
    "order": int,
    "description": str,
    "values": list,
}
REQUEST = {
    "service_request_id": str,
    "status": str,
    "status_notes": str,
    "service_name": str,
    "service_code": str,
    "description": str,
    "agency_responsible": str,
    "service_notice": str,
    "requested_datetime": "dt",
    "updated_datetime": "dt",
    "expected_datetime": "dt",
    "address": str,
    "address_id": str,
    "zipcode": str,
    "lat": float,
    "long": float,
    "media_url": str,
}
REQUIRED = {"service_request_id", "status", "service_code", "requested_datetime"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def _check_json(record: dict[str, Any], fields: dict[str, Any], required: set[str]) -> None:
    assert set(record) == set(fields), set(record) ^ set(fields)
    for name, kind in fields.items():
        value = record[name]
        if value is None:
            assert name not in required, name
        elif kind == "dt":
            assert datetime.fromisoformat(value).utcoffset() is not None, name
        elif kind is float:
            assert isinstance(value, int | float) and not isinstance(value, bool), name
        else:
            assert isinstance(value, kind), (name, value)


def _check_xml(element: ET.Element, fields: dict[str, Any], required: set[str]) -> None:
    assert {child.tag for child in element} == set(fields)
    for name, kind in fields.items():
        text = element.findtext(name) or ""
        if not text:
            assert name not in required, name
        elif kind == "dt":
            assert datetime.fromisoformat(text).utcoffset() is not None, name
        elif kind is float:
            float(text)
        elif kind is bool:
            assert text in ("true", "false"), name
        elif kind is int:
            int(text)


async def test_documents_match_the_specs_fields_and_types(
    harness: Harness, world: World, api: Open311
) -> None:
    _, key = await make_channel(harness, world)
    for service in (await api.get("/services.json")).json():
        _check_json(service, SERVICE, {"service_code", "service_name", "metadata", "type"})
        assert service["type"] in ("realtime", "batch", "blackbox")
    for element in (await api.get("/services.xml")).xml().findall("service"):
        _check_xml(element, SERVICE, {"service_code", "service_name", "metadata", "type"})
    definition = (await api.get("/services/facilities.json")).json()
    for attribute in definition["attributes"]:
        _check_json(attribute, ATTRIBUTE, {"code", "datatype", "variable", "required", "order"})
        assert attribute["datatype"] in DATATYPES
    posted = await api.post("/requests.json", _form(key, lat="37.38", long="121.6"))
    [answer] = posted.json()
    assert isinstance(answer["service_request_id"], str) and answer["account_id"] is None
    xml_answer = (await api.post("/requests.xml", _form(key))).xml()
    assert xml_answer.tag == "service_requests"
    assert xml_answer.findtext("request/service_request_id")
    for record in (await api.get("/requests.json", api_key=key)).json():
        _check_json(record, REQUEST, REQUIRED)
        assert record["status"] in ("open", "closed")
    for element in (await api.get("/requests.xml", api_key=key)).xml().findall("request"):
        _check_xml(element, REQUEST, REQUIRED)


async def test_the_georeport_client_reads_the_running_service(
    harness: Harness, world: World, api: Open311, server: TestServer
) -> None:
    harness.app.settings = load_settings(
        **{**harness.app.settings.model_dump(), "public_page": True}
    )
    worker = await world.staff(Role.WORKER, world.tree.grid)
    _, key = await make_channel(harness, world)
    number = (await api.post("/requests.json", _form(key))).json()[0]["service_request_id"]
    for step in ("accept", "resolve"):
        async with harness.app.services() as s:
            staffing = await s.staff.staffing(worker.id)
            service = s.get(AppealService)
            if step == "accept":
                await service.accept(int(number), staffing)
            else:
                await service.resolve(int(number), staffing, "已清理")
    root = str(server.make_url(BASE))
    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = await asyncio.to_thread(client.get_service_list)
        assert [s["service_code"] for s in services][:2] == ["sanitation", "property"]
        definition = await asyncio.to_thread(client.get_service_definition, "safety")
        assert definition["service_code"] == "safety"
        # The client sends no key: it reads what the public page shows, finished appeals.
        found = await asyncio.to_thread(client.get_service_requests, status="closed")
        record = found[0] if isinstance(found, list) else found
        assert record["service_request_id"] == number and record["status"] == "closed"
        assert not record["address"] and not record["description"]
        one = await asyncio.to_thread(client.get_service_request, number)
        assert one["status_notes"] == "已办结"


async def test_a_hundred_appeals_from_two_channels_at_once(
    harness: Harness, world: World, api: Open311
) -> None:
    tree = world.tree
    # 75 POSTs from one key at once: above the default burst, which is not tested here.
    harness.app.config = harness.app.config.with_overrides([ChannelLimits(rate=500, burst=500)])
    worker1 = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    worker2 = await world.staff(Role.WORKER, tree.grid2, "孙伟")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    _, hotline = await make_channel(harness, world)
    _, website = await make_channel(harness, world, "区政府网站")
    buildings = [tree.building.code, tree.building2.code, tree.building3.code]

    def form(key: str, ticket: str, i: int) -> dict[str, str]:
        return _form(
            key,
            address_id=buildings[i % 3],
            description=f"第 {i} 件：路灯不亮",
            **{"attribute[external_id]": ticket},
        )

    posts = [api.post("/requests.json", form(hotline, f"H{i}", i)) for i in range(50)]
    posts += [api.post("/requests.json", form(website, f"W{i}", i)) for i in range(50)]
    # The website retries half of its POSTs, while the first try is still in flight.
    posts += [api.post("/requests.json", form(website, f"W{i}", i)) for i in range(0, 50, 2)]
    answers = await asyncio.gather(*posts)
    assert all(a.status in (200, 201) for a in answers), [a.text for a in answers][:3]
    assert sorted(a.status for a in answers).count(201) == 100
    numbers = [a.json()[0]["service_request_id"] for a in answers]
    assert len(set(numbers)) == 100
    assert numbers[100:] == numbers[50:100:2]  # each retry got the first try's appeal

    async with harness.app.services() as s:
        assert (await s.session.execute(select(func.count()).select_from(Appeal))).scalar() == 100
        pushes = (
            (
                await s.session.execute(
                    select(OutboxMessage.subject_id).where(OutboxMessage.kind == "appeal.task")
                )
            )
            .scalars()
            .all()
        )
    assert Counter(pushes) == {int(n): 1 for n in set(numbers)}
    await harness.deliver()
    seen = Counter(
        n
        for w in (worker1, worker2)
        for text in harness.texts(w)
        for n in set(numbers)
        if f"#{n}" in text or f"{n}" in text
    )
    assert set(seen) == set(numbers) and set(seen.values()) == {1}

    async def statuses(key: str) -> dict[str, tuple[str, str]]:
        rows = (await api.get("/requests.json", api_key=key)).json()
        return {r["service_request_id"]: (r["status"], r["status_notes"]) for r in rows}

    assert set((await statuses(hotline)).values()) == {("open", "提交诉求")}
    # Accepted in the chat by the grid's worker (her newest card's button) ...
    await harness.press_key(worker1, "appeal.button.accept")
    async with harness.app.services() as s:
        owned = (
            (await s.session.execute(select(Appeal.id).where(Appeal.owner_id == worker1.id)))
            .scalars()
            .all()
        )
    assert len(owned) == 1
    # ... and nine more through the same service the buttons call.
    first = [owned[0], *[int(n) for n in numbers[:10] if int(n) != owned[0]][:9]]
    for n in first:
        appeal = await _appeal_of(harness, n)
        if appeal.owner_id is None:
            async with harness.app.services() as s:
                worker = worker1 if appeal.grid_id == tree.grid.id else worker2
                await s.get(AppealService).accept(n, await s.staff.staffing(worker.id))
    now = await statuses(hotline)
    assert {now[f"{n:06d}"] for n in first} == {("open", "已受理")}
    # The rest miss the accept promise: escalated to the community.
    harness.app.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    await harness.tick()
    now = await statuses(website)
    rest = [n for n in numbers if int(n) not in first]
    assert {now[n][1] for n in rest} == {"超时，自动上报"}
    rows = (await api.get("/requests.json", api_key=website)).json()
    assert {r["agency_responsible"] for r in rows if r["service_request_id"] in rest} == {
        "社区：通海社区"
    }
    for n in first:
        async with harness.app.services() as s:
            appeal = await s.session.get(Appeal, n)
            assert appeal is not None and appeal.owner_id is not None
            owner = await s.staff.staffing(appeal.owner_id)
            await s.get(AppealService).resolve(n, owner, "已修好")
    hotline_first = [n for n in first if f"{n:06d}" in numbers[:50]]
    for n in hotline_first:
        rated = await api.post(
            "/servicerequestupdates.json",
            {
                "api_key": hotline,
                "service_request_id": f"{n:06d}",
                "status": "closed",
                "attribute[satisfaction]": "satisfied",
            },
        )
        assert rated.status == 200, rated.text
    now = await statuses(hotline)
    assert {now[f"{n:06d}"] for n in hotline_first} == {("closed", "结案归档")}
    assert community.id  # the community's staff hold the escalated ones
    assert harness.emu.errors == []


async def _appeal_of(harness: Harness, appeal_id: int) -> Appeal:
    async with harness.app.services() as s:
        appeal = await s.session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal
