"""The desk's council at a glance: a community's next councils with the RSVPs per
building, its open votes and its decisions overdue, for whoever hosts its council in the
chat; nothing of another community, and refused for whoever is not entitled, for any id
in the URL."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from emulator.world import EmulatedUser
from storage.clock import ManualClock
from storage.council import Answer
from storage.council.decisions import DecisionService
from storage.hierarchy import Node
from storage.roles import Role, RoleAssignment
from storage.users import User
from tests.desk.client import DeskBrowser, signed_in
from tests.desk.test_security import _as_resident
from tests.harness import Harness, World


async def _council(
    harness: Harness,
    clock: ManualClock,
    host: EmulatedUser,
    community: Node,
    label: str,
    owner: EmulatedUser,
) -> tuple[int, int]:
    """This month's council held with a vote left open and a decision due a day later."""
    async with harness.app.services() as s:
        meeting = await s.get(DecisionService).next_meeting(community.id)
        starts = meeting.starts_at
    if clock.now() < starts + timedelta(hours=1):
        clock.set(starts + timedelta(hours=1))
    async with harness.app.services() as s:
        service = s.get(DecisionService)
        staffing = await s.staff.staffing(host.id)
        vote = await service.open_vote(staffing, meeting.id, f"{label}加装路灯？")
        decision = await service.decide(
            staffing,
            meeting.id,
            f"{label}清理楼道杂物",
            s.now() + timedelta(days=1),
            owner_id=owner.id,
        )
        return vote.id, decision.id


async def _scene(
    harness: Harness, world: World, clock: ManualClock
) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, int, int, int]:
    tree = world.tree
    officer = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    stranger = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟")
    resident = await world.resident("王秀英")
    li = await world.resident("李建国", tree.building3)
    zhang = await world.resident("张桂兰", tree.other_building)
    vote, decision = await _council(harness, clock, officer, tree.community, "通海", resident)
    await _council(harness, clock, stranger, tree.other_community, "正阳", zhang)
    clock.advance(timedelta(days=2))
    async with harness.app.services() as s:
        service = s.get(DecisionService)
        meeting = await service.next_meeting(tree.community.id)
        await service.next_meeting(tree.other_community.id)
        for person, answer in ((resident, Answer.YES), (li, Answer.MAYBE)):
            user = await s.session.get(User, person.id)
            assert user is not None
            await service.rsvp(meeting.id, user, answer)
    return officer, stranger, resident, meeting.id, vote, decision


async def test_next_councils_open_votes_and_decisions_overdue_of_the_community_only(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    officer, _, _, meeting, vote, decision = await _scene(harness, world, clock)
    desk = await signed_in(harness, server, officer)
    page = await desk.get("/desk/council")
    assert page.status == 200
    assert page.has("通海社区的议事会")
    assert f'data-meeting="{meeting}"' in page.text
    assert page.has("报名回复：参加 1 · 不参加 0 · 待定 1")
    assert "<td>1号楼</td><td>1</td><td>0</td><td>0</td>" in page.text
    assert "<td>3号楼</td><td>0</td><td>0</td><td>1</td>" in page.text
    assert f'data-vote="{vote}"' in page.text and page.has("通海加装路灯？")
    assert f'data-decision="{decision}"' in page.text and page.has("通海清理楼道杂物")
    assert not page.has("正阳")
    assert page.has("在聊天中打开 /council")
    assert 'href="/desk/council" aria-current="page"' in page.text
    same = await desk.get(f"/desk/council?node={tree.community.id}")
    assert same.status == 200 and f'data-vote="{vote}"' in same.text

    street = await world.staff(Role.STREET_STAFF, tree.street, "街道老周", language="en")
    wide = await signed_in(harness, server, street)
    other = await wide.get(f"/desk/council?node={tree.other_community.id}")
    assert other.status == 200 and other.has("正阳加装路灯？")
    assert not other.has("通海加装") and not other.has("通海清理")
    assert f'href="/desk/council?node={tree.community.id}"' in other.text  # the other one
    assert other.has("Decisions overdue (1)")


async def test_refused_for_another_node_a_resident_a_revoked_officer_and_nobody(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    officer, stranger, resident, _, vote, _ = await _scene(harness, world, clock)
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
    worker = await signed_in(harness, server, await world.staff(Role.WORKER, tree.grid, "赵丽娟"))
    paths = ["/desk/council", f"/desk/council?node={tree.community.id}"]
    for path in paths:
        for who, browser, refused in (
            ("another node", stranger_browser, {404}),
            ("a resident", await _as_resident(harness, server, resident.id), {401, 403}),
            ("revoked", leaver_browser, {401, 403}),
            ("nobody", DeskBrowser(server), {401}),
            ("a grid worker", worker, {404}),  # hosting is for community staff and up
        ):
            page = await browser.get(path)
            if path == "/desk/council" and who in ("another node", "a grid worker"):
                assert page.status == 200, who  # their own (or no) community
            else:
                assert page.status in refused, (path, who, page.status)
            assert f'data-vote="{vote}"' not in page.text and not page.has("通海加装路灯"), who
    for path in (
        f"/desk/council?node={tree.grid.id}",
        f"/desk/council?node={tree.street.id}",
        "/desk/council?node=99999999999",
        "/desk/council?node=-1",
    ):
        assert (await stranger_browser.get(path)).status == 404, path
    control = await signed_in(harness, server, officer)
    for path in paths:
        page = await control.get(path)
        assert page.status == 200 and f'data-vote="{vote}"' in page.text, path
