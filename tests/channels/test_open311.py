"""The Open311 GeoReport v2 service over HTTP: discovery and services, filing appeals
with a channel's key into the same grid queue as the chat (pushed, timed, in the
history with the channel's name), retries that file once, reads scoped to the key's
node that never carry a person's data, and the spec's errors."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.config import load_settings
from bot.dialogs.appeals.views import Viewing, task_card
from bot.i18n import translator
from storage.appeals import Appeal, AppealEvent, AppealPolicy, AppealService, Level, State
from storage.audit import AuditEntry
from storage.channels.models import BuildingPoint
from storage.channels.service import ChannelService
from storage.outbox import OutboxMessage
from storage.roles import Role
from tests.channels.conftest import Open311, make_channel
from tests.harness import Harness, World

PHONE = "13912345678"


def _form(key: str, **extra: str) -> dict[str, str]:
    form = {
        "api_key": key,
        "service_code": "sanitation",
        "address_id": "D-S-C1-G1-B1",
        "description": "楼道里堆满了杂物，影响通行",
        "first_name": "秀英",
        "last_name": "王",
        "phone": PHONE,
        "email": "wang@example.com",
    }
    form.update(extra)
    return form


async def _appeal(harness: Harness, number: str) -> Appeal:
    async with harness.app.services() as s:
        appeal = await s.session.get(Appeal, int(number))
        assert appeal is not None
        return appeal


async def _count(harness: Harness, model: type, *where: object) -> int:
    async with harness.app.services() as s:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int((await s.session.execute(stmt)).scalar_one())


async def test_discovery_and_services_in_json_and_xml(harness: Harness, api: Open311) -> None:
    found = await api.get("/discovery.json")
    assert found.status == 200
    assert found.headers["Content-Type"].startswith("application/json")
    assert found.headers["Cache-Control"] == "no-store"
    endpoint = found.json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    xml = (await api.get("/discovery.xml")).xml()
    assert xml.tag == "discovery"
    assert [f.text for f in xml.iter("format")] == ["application/json", "text/xml"]

    services = (await api.get("/services.json")).json()
    codes = [s["service_code"] for s in services]
    assert codes[:3] == ["sanitation", "property", "facilities"]
    sanitation = services[0]
    assert sanitation["service_name"] == "环境卫生"
    assert sanitation["metadata"] is True and sanitation["type"] == "realtime"
    assert sanitation["group"] == "居住环境"
    assert "Sanitation" in sanitation["keywords"]
    enquiry = next(s for s in services if s["service_code"] == "enquiry")
    assert enquiry["metadata"] is False
    xml = (await api.get("/services.xml")).xml()
    assert xml.tag == "services"
    assert [e.findtext("service_code") for e in xml.findall("service")] == codes
    assert xml.find("service/metadata").text == "true"  # type: ignore[union-attr]

    definition = (await api.get("/services/safety.json")).json()
    assert definition["service_code"] == "safety"
    urgent = definition["attributes"][0]
    assert urgent["code"] == "urgent" and urgent["description"] == "紧急"
    assert urgent["datatype"] == "singlevaluelist" and urgent["variable"] is True
    assert [v["key"] for v in urgent["values"]] == ["true", "false"]
    assert definition["attributes"][1]["description"] == "联系电话"
    xml = (await api.get("/services/safety.xml")).xml()
    assert xml.tag == "service_definition"
    assert [k.text for k in xml.iter("key")] == ["true", "false"]

    english = await api.http.get(
        str(api.server.make_url("/open311/v2/services.json")),
        headers={"Accept-Language": "en-GB"},
    )
    assert (await english.json())[0]["service_name"] == "Sanitation"


async def test_errors_are_the_specs_list(harness: Harness, world: World, api: Open311) -> None:
    _, key = await make_channel(harness, world)
    missing = await api.get("/services/nope.json")
    assert missing.status == 404
    assert missing.json() == [{"code": 404, "description": "没有这个 service_code：nope"}]
    xml = (await api.get("/services/nope.xml")).xml()
    assert xml.tag == "errors" and xml.findtext("error/code") == "404"
    assert (await api.get("/services.csv")).status == 404
    unknown = await api.get("/nothing/here.json")
    assert unknown.status == 404 and unknown.json()[0]["code"] == 404
    assert (await api.get("/requests/999999.json", api_key=key)).status == 404

    no_key = await api.post("/requests.json", {k: v for k, v in _form("").items() if v})
    assert no_key.status == 403
    assert no_key.json() == [{"code": 403, "description": "缺少 api_key"}]
    wrong = await api.post("/requests.xml", _form("g311_wrong"))
    assert wrong.status == 403 and wrong.xml().findtext("error/code") == "403"
    # Without a key and without the public page, nobody reads requests.
    assert (await api.get("/requests.json")).status == 403

    bad = await api.post("/requests.json", _form(key, lat="31.5"))
    assert bad.status == 400 and "long" in bad.json()[0]["description"]
    bad = await api.post("/requests.json", _form(key, address_id="NOPE"))
    assert bad.status == 400 and "address_id" in bad.json()[0]["description"]
    bad = await api.post("/requests.json", _form(key, **{"attribute[color]": "red"}))
    assert bad.status == 400 and "attribute[color]" in bad.json()[0]["description"]
    bad = await api.post("/requests.json", _form(key, description=""))
    assert bad.status == 400 and "description" in bad.json()[0]["description"]
    bad = await api.post("/requests.json", _form(key, description="长" * 4001))
    assert bad.status == 400 and "description" in bad.json()[0]["description"]
    bad = await api.post("/requests.json", _form(key, service_code="nope"))
    assert bad.status == 404
    bad = await api.get("/requests.json", api_key=key, start_date="yesterday")
    assert bad.status == 400 and "start_date" in bad.json()[0]["description"]
    bad = await api.get("/requests.json", api_key=key, status="pending")
    assert bad.status == 400 and "status" in bad.json()[0]["description"]
    bad = await api.get("/requests.json", api_key=key, page_size="5000")
    assert bad.status == 400 and "page_size" in bad.json()[0]["description"]
    assert await _count(harness, Appeal) == 0


async def test_a_hotline_appeal_reaches_the_grid_worker_like_one_from_the_chat(
    harness: Harness, world: World, api: Open311
) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    _, key = await make_channel(harness, world)
    filed = await api.post("/requests.json", _form(key, **{"attribute[external_id]": "T-1"}))
    assert filed.status == 201, filed.text
    [answer] = filed.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    number = answer["service_request_id"]
    assert answer["service_notice"] == "24 小时内受理，48 小时内办结"
    await harness.deliver()
    card = harness.last_text(worker)
    assert f"#{number}" in card or number in card
    assert "📞 来自12345 热线" in card
    assert PHONE not in card  # only once she owns it
    appeal = await _appeal(harness, number)
    assert appeal.resident_id is None and appeal.level == Level.GRID
    assert appeal.building_id == world.tree.building.id
    assert appeal.first_accept_due == appeal.submitted_at + timedelta(hours=24)

    # The key in the query string of a POST, as some clients send it, works too.
    url = str(api.server.make_url(f"/open311/v2/requests.json?api_key={key}"))
    form = {k: v for k, v in _form(key, **{"attribute[external_id]": "T-1"}).items()}
    del form["api_key"]
    async with api.http.post(url, data=form) as queried:
        assert queried.status == 200  # the same ticket: the same appeal
        # The retry of the same ticket files nothing and pushes nothing.
    again = await api.post("/requests.json", _form(key, **{"attribute[external_id]": "T-1"}))
    assert again.status == 200 and again.json()[0]["service_request_id"] == number
    assert await _count(harness, Appeal) == 1
    assert await _count(harness, OutboxMessage, OutboxMessage.kind == "appeal.task") == 1

    # Accepted in the chat: her card now shows the caller's number.
    async with harness.app.services() as s:
        await s.get(AppealService).accept(appeal.id, await s.staff.staffing(worker.id))
    async with harness.app.services() as s:
        v = Viewing(
            s.session, translator("zh"), harness.app.settings.zone, s.config(AppealPolicy), s.now()
        )
        loaded = await s.session.get(Appeal, appeal.id)
        assert loaded is not None
        text = await task_card(v, loaded, await s.staff.staffing(worker.id))
        assert f"📞 来自12345 热线 · 王 秀英 · {PHONE}" in html.unescape(text)
        events = (
            (await s.session.execute(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id)))
            .scalars()
            .all()
        )
        assert events[0].kind == "submitted" and events[0].data["channel"] == "12345 热线"
        assert events[0].actor_id is None

    read = (await api.get(f"/requests/{number}.json", api_key=key)).json()[0]
    assert read["status"] == "open" and read["status_notes"] == "已受理"
    assert read["agency_responsible"] == "网格：第一网格"
    audit = await _count(harness, AuditEntry, AuditEntry.action == "open311.request")
    assert audit == 4


async def test_reads_never_carry_a_persons_data_and_words_go_back_only_to_the_filer(
    harness: Harness, world: World, api: Open311
) -> None:
    _, hotline = await make_channel(harness, world)
    _, website = await make_channel(harness, world, "区政府网站")
    filed = await api.post("/requests.json", _form(hotline))
    number = filed.json()[0]["service_request_id"]
    resident = await world.resident("李四", phone="13700000000")
    chat_id = await world.appeal(resident, "小区门口路灯不亮")

    mine = (await api.get("/requests.json", api_key=hotline)).json()
    assert [r["service_request_id"] for r in mine] == [f"{chat_id:06d}", number]
    fields = {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
    for record in mine:
        assert set(record) == fields
        for stamp in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert datetime.fromisoformat(record[stamp]).utcoffset() is not None
    hotline_view = {r["service_request_id"]: r for r in mine}
    assert hotline_view[number]["description"] == "楼道里堆满了杂物，影响通行"
    assert hotline_view[f"{chat_id:06d}"]["description"] is None  # a resident's words
    assert hotline_view[number]["address"] == "牟平区宁海街道通海社区1号楼"
    assert hotline_view[number]["address_id"] == "D-S-C1-G1-B1"
    other = (await api.get(f"/requests/{number}.json", api_key=website)).json()[0]
    assert other["description"] is None and other["address_id"] == "D-S-C1-G1-B1"
    for body in (
        (await api.get("/requests.json", api_key=hotline)).text,
        (await api.get("/requests.xml", api_key=website)).text,
    ):
        for secret in (PHONE, "秀英", "wang@example.com", "李四", "13700000000", str(resident.id)):
            assert secret not in body
    xml = (await api.get("/requests.xml", api_key=hotline)).xml()
    assert xml.tag == "service_requests"
    assert {e.tag for e in xml.find("request")} == fields  # type: ignore[union-attr]

    filtered = await api.get(
        "/requests.json", api_key=hotline, service_request_id=f"{number},{chat_id}"
    )
    assert len(filtered.json()) == 2
    assert (await api.get("/requests.json", api_key=hotline, status="closed")).json() == []
    assert (await api.get("/requests.json", api_key=hotline, service_code="safety")).json() == []
    paged = await api.get("/requests.json", api_key=hotline, page="2", page_size="1")
    assert [r["service_request_id"] for r in paged.json()] == [number]


async def test_a_key_never_files_or_reads_outside_its_node(
    harness: Harness, world: World, api: Open311
) -> None:
    tree = world.tree
    # A street's channel: the district's other streets are outside it.
    async with harness.app.services() as s:
        other_street = await s.hierarchy.create(
            kind=tree.street.node_kind,
            code="D-S2",
            name="文化街道",
            parent=tree.district,
            now=s.now(),
        )
        community = await s.hierarchy.create(
            kind=tree.community.node_kind,
            code="D-S2-C",
            name="北关社区",
            parent=other_street,
            now=s.now(),
        )
        grid = await s.hierarchy.create(
            kind=tree.grid.node_kind,
            code="D-S2-C-G",
            name="北关一网格",
            parent=community,
            now=s.now(),
        )
        far = await s.hierarchy.create(
            kind=tree.building.node_kind,
            code="D-S2-C-G-B",
            name="北关9号楼",
            parent=grid,
            now=s.now(),
        )
    _, key = await make_channel(harness, world, "宁海街道网站", other_street)
    refused = await api.post("/requests.json", _form(key))
    assert refused.status == 400
    assert "address_id" in refused.json()[0]["description"]
    resident = await world.resident()
    inside = await world.appeal(resident)
    assert (await api.get(f"/requests/{inside}.json", api_key=key)).status == 404
    assert (await api.get("/requests.json", api_key=key)).json() == []
    ok = await api.post("/requests.json", _form(key, address_id=far.code))
    assert ok.status == 201


async def test_where_an_appeal_goes_by_point_address_or_by_hand(
    harness: Harness, world: World, api: Open311
) -> None:
    tree = world.tree
    worker2 = await world.staff(Role.WORKER, tree.grid2, "孙伟")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    _, key = await make_channel(harness, world)
    async with harness.app.services() as s:
        s.session.add(BuildingPoint(building_id=tree.building3.id, latitude=37.38, longitude=121.6))
    point = _form(key, lat="37.3810", long="121.6005")
    del point["address_id"]
    by_point = (await api.post("/requests.json", point)).json()[0]["service_request_id"]
    assert (await _appeal(harness, by_point)).building_id == tree.building3.id

    named = _form(key, address_string="宁海街道 通海社区 2号楼 3单元")
    del named["address_id"]
    by_name = (await api.post("/requests.json", named)).json()[0]["service_request_id"]
    assert (await _appeal(harness, by_name)).building_id == tree.building2.id

    vague = _form(key, address_string="通海社区北边的小广场")
    del vague["address_id"]
    unplaced = (await api.post("/requests.json", vague)).json()[0]["service_request_id"]
    appeal = await _appeal(harness, unplaced)
    assert appeal.building_id is None and appeal.level == Level.COMMUNITY
    assert appeal.community_id == tree.community.id and appeal.state == State.SUBMITTED
    await harness.deliver()
    card = harness.last_text(community)
    assert "待定位" in card and "通海社区北边的小广场" in card
    read = (await api.get(f"/requests/{unplaced}.json", api_key=key)).json()[0]
    assert read["address"] == "牟平区宁海街道通海社区（待定位）"
    assert read["agency_responsible"] == "社区：通海社区" and read["address_id"] is None

    # Placed by hand: passed on to a grid, it is that grid's like any other.
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(community.id)
        await s.get(AppealService).transfer(appeal.id, staffing, tree.grid2, "在第二网格")
    await harness.deliver()
    assert f"{appeal.number}" in harness.last_text(worker2)

    nowhere = _form(key)
    del nowhere["address_id"]
    missing = await api.post("/requests.json", nowhere)
    assert missing.status == 400


async def test_revoked_and_rotated_keys_stop_at_once(
    harness: Harness, world: World, api: Open311
) -> None:
    channel_id, key = await make_channel(harness, world)
    admin = await world.staff(Role.ADMIN, None)
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(admin.id)
        _, new_key = await s.get(ChannelService).rotate(staffing, channel_id)
    assert (await api.get("/requests.json", api_key=key)).status == 403
    assert (await api.get("/requests.json", api_key=new_key)).status == 200
    async with harness.app.services() as s:
        await s.get(ChannelService).revoke(await s.staff.staffing(admin.id), channel_id)
    assert (await api.get("/requests.json", api_key=new_key)).status == 403
    refused = await _count(harness, AuditEntry, AuditEntry.action == "open311.refused")
    assert refused == 2


async def test_updates_follow_every_state_change(
    harness: Harness, world: World, api: Open311
) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid)
    _, key = await make_channel(harness, world)
    number = (await api.post("/requests.json", _form(key))).json()[0]["service_request_id"]
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(worker.id)
        await s.get(AppealService).accept(int(number), staffing)
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(worker.id)
        await s.get(AppealService).resolve(int(number), staffing, "已清理干净")
    updates = (await api.get("/servicerequestupdates.json", api_key=key)).json()
    assert [u["status"] for u in updates] == ["open", "in_progress", "fixed"]
    assert updates[-1]["description"] == "已办结：已清理干净"
    assert all(u["service_request_id"] == number for u in updates)
    xml = (await api.get("/servicerequestupdates.xml", api_key=key)).xml()
    assert xml.tag == "service_request_updates"
    assert [u.findtext("status") for u in xml.findall("request_update")][-1] == "fixed"
    assert (await api.get("/servicerequestupdates.json")).status == 403


async def test_the_public_reads_finished_appeals_only_without_a_place(
    harness: Harness, world: World, api: Open311
) -> None:
    harness.app.settings = load_settings(
        **{**harness.app.settings.model_dump(), "public_page": True}
    )
    _, key = await make_channel(harness, world)
    await api.post("/requests.json", _form(key))
    assert (await api.get("/requests.json")).json() == []


async def test_an_urgent_call_from_the_hotline_goes_to_the_grid_and_community_at_once(
    harness: Harness, world: World, api: Open311
) -> None:
    worker = await world.staff(Role.WORKER, world.tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    _, key = await make_channel(harness, world)
    form = _form(key, service_code="safety", **{"attribute[urgent]": "true"})
    del form["phone"]
    form["attribute[callback_phone]"] = "13611112222"
    filed = await api.post("/requests.json", form)
    assert filed.status == 201
    [answer] = filed.json()
    assert answer["service_notice"] == "紧急诉求：30 分钟内响应，24 小时内办结"
    appeal = await _appeal(harness, answer["service_request_id"])
    assert appeal.urgent and appeal.contact_phone == "13611112222"
    assert appeal.first_accept_due == appeal.submitted_at + timedelta(minutes=30)
    await harness.deliver()
    # An urgent call shows the caller's number to everyone it reaches, as in the chat.
    for person in (worker, community):
        assert "13611112222" in harness.last_text(person)
    bad = await api.post("/requests.json", _form(key, **{"attribute[urgent]": "maybe"}))
    assert bad.status == 400 and "attribute[urgent]" in bad.json()[0]["description"]
