"""The desk's partners at a glance: a community's orders waiting for a taker and its
partners' points this month, for whoever decides on its partners in the chat; nothing of
another community, no household's phone, and refused for whoever is not entitled, for
any id in the URL."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from emulator.world import EmulatedUser
from storage.partners import Application, OrderDraft, PartnerService, PartnerState
from storage.roles import Role, RoleAssignment
from storage.users import User
from tests.desk.client import DeskBrowser, signed_in
from tests.desk.test_security import _as_resident
from tests.harness import Harness, World

PHONE = "13800000001"


async def _partner(harness: Harness, person: EmulatedUser, name: str, skill: str) -> None:
    async with harness.app.services() as s:
        service = s.get(PartnerService)
        user = await s.session.get(User, person.id)
        assert user is not None
        await service.apply(user, Application(real_name=name, phone="13900000000", skills=(skill,)))
        partner = await service.partner(person.id)
        assert partner is not None
        partner.state, partner.decided_at = PartnerState.APPROVED, s.now()


async def _order(harness: Harness, person: EmulatedUser, skill: str, text: str) -> int:
    async with harness.app.services() as s:
        user = await s.session.get(User, person.id)
        assert user is not None
        order = await s.get(PartnerService).place(user, OrderDraft(skill=skill, description=text))
        return order.id


async def _scene(
    harness: Harness, world: World
) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, int, int, int]:
    """In 通海社区: 李师傅 (repair) with 3 points, an order waiting and one he took; in
    正阳社区: 张师傅 and an order waiting."""
    tree = world.tree
    officer = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    stranger = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟")
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英", phone=PHONE)
    li = await world.resident("老李", tree.building2)
    zhang = await world.resident("老张", tree.other_building)
    far = await world.resident("张桂兰", tree.other_building, phone="13900000009")
    await _partner(harness, li, "李师傅", "repair")
    await _partner(harness, zhang, "张师傅", "repair")
    waiting = await _order(harness, resident, "repair", "水龙头漏水")
    taken = await _order(harness, resident, "repair", "门锁坏了")
    theirs = await _order(harness, far, "repair", "灯不亮")
    async with harness.app.services() as s:
        service = s.get(PartnerService)
        await service.take(taken, li.id)
        await service.adjust(await s.staff.staffing(officer.id), li.id, 3, "社区活动")
    await harness.deliver()
    del worker
    return officer, stranger, resident, waiting, taken, theirs


async def test_waiting_orders_and_points_of_the_community_only(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    officer, _, _, waiting, taken, theirs = await _scene(harness, world)
    desk = await signed_in(harness, server, officer)
    page = await desk.get("/desk/partners")
    assert page.status == 200
    assert page.has("通海社区的合伙人") and page.has("等待接单（1 单）")
    assert f'data-order="{waiting}"' in page.text
    assert f'data-order="{taken}"' not in page.text  # taken: not waiting
    assert f'data-order="{theirs}"' not in page.text and not page.has("正阳社区")
    assert page.has("李师傅") and not page.has("张师傅")
    assert "<td>李师傅</td><td>3</td>" in page.text
    assert PHONE not in page.text and not page.has("水龙头漏水")  # no household's data
    assert page.has("在聊天中打开 /partners")
    assert 'href="/desk/partners" aria-current="page"' in page.text
    same = await desk.get(f"/desk/partners?node={tree.community.id}")
    assert same.status == 200 and f'data-order="{waiting}"' in same.text

    # A street officer sees both communities, one at a time.
    street = await world.staff(Role.STREET_STAFF, tree.street, "街道老周", language="en")
    wide = await signed_in(harness, server, street)
    first = await wide.get("/desk/partners")
    assert first.status == 200 and first.has("Waiting for a taker")
    other = await wide.get(f"/desk/partners?node={tree.other_community.id}")
    assert other.status == 200 and f'data-order="{theirs}"' in other.text
    assert other.has("张师傅") and not other.has("李师傅")


async def test_refused_for_another_node_a_resident_a_revoked_officer_and_nobody(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    officer, stranger, resident, waiting, _, _ = await _scene(harness, world)
    leaver = await world.staff(Role.COMMUNITY_STAFF, tree.community, "离职的人")
    leaver_browser = await signed_in(harness, server, leaver)
    async with harness.app.services() as s:
        grant = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == leaver.id)
            )
        ).scalar_one()
        await s.staff.revoke(grant, by=1, now=s.now())
    stranger_browser = await signed_in(harness, server, stranger)
    worker = await signed_in(harness, server, await world.staff(Role.WORKER, tree.grid2, "孙海涛"))
    paths = ["/desk/partners", f"/desk/partners?node={tree.community.id}"]
    for path in paths:
        for who, browser, refused in (
            ("another node", stranger_browser, {404}),
            ("a resident", await _as_resident(harness, server, resident.id), {401, 403}),
            ("revoked", leaver_browser, {401, 403}),
            ("nobody", DeskBrowser(server), {401}),
            ("a grid worker", worker, {404}),  # /partners is not theirs in the chat either
        ):
            page = await browser.get(path)
            if path == "/desk/partners" and who in ("another node", "a grid worker"):
                assert page.status == 200, who  # their own (or no) community
            else:
                assert page.status in refused, (path, who, page.status)
            assert f'data-order="{waiting}"' not in page.text and not page.has("李师傅"), who
    for path in (
        f"/desk/partners?node={tree.grid.id}",
        f"/desk/partners?node={tree.street.id}",
        "/desk/partners?node=99999999999",
        "/desk/partners?node=x",
    ):
        assert (await stranger_browser.get(path)).status == 404, path
    control = await signed_in(harness, server, officer)
    for path in paths:
        page = await control.get(path)
        assert page.status == 200 and f'data-order="{waiting}"' in page.text, path
