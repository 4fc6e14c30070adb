"""Every desk page and action re-checks who asks on the server: a staff member of
another node, a resident, a revoked staff member and nobody signed in are each refused,
beside a control where the entitled person succeeds; an id changed in the URL or the
form never shows or changes anything outside one's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from emulator import sample_png
from storage.appeals import Appeal, AppealEvent, AppealMedia, AppealService
from storage.clock import ManualClock
from storage.desk import DeskAuth
from storage.roles import Role, RoleAssignment
from tests.desk.client import DeskBrowser, signed_in
from tests.harness import Harness, World

SECRET = "只有本社区能看到的诉求内容"
# Pages that show the person's own area without an id: another node's staff see theirs.
OWN = ("/desk/ranking", "/desk/heat", "/desk/notices", "/desk/partners", "/desk/council")


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    form: dict[str, str]
    ok: int  # what the entitled person gets


async def _history(harness: Harness) -> list[tuple[int, str]]:
    async with harness.app.services() as s:
        rows = await s.session.execute(
            select(AppealEvent.appeal_id, AppealEvent.kind).order_by(AppealEvent.id)
        )
        return [(int(a), str(k)) for a, k in rows.all()]


async def _owners(harness: Harness) -> dict[int, int | None]:
    async with harness.app.services() as s:
        rows = await s.session.execute(select(Appeal.id, Appeal.owner_id))
        return {int(i): o for i, o in rows.all()}


async def _as_resident(harness: Harness, server: TestServer, user_id: int) -> DeskBrowser:
    """A resident holding a session anyway (a link cannot give one): every page still
    refuses them."""
    browser = DeskBrowser(server)
    async with harness.app.services() as s:
        opened = await s.get(DeskAuth).open(user_id, via="link")
    browser.http.cookie_jar.update_cookies(
        {"gridbot_desk": opened.token}, server.make_url("/desk/")
    )
    browser.csrf = opened.session.csrf
    return browser


async def test_each_page_and_action_refuses_whoever_is_not_entitled(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    stranger = await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟")
    leaver = await world.staff(Role.COMMUNITY_STAFF, tree.community, "离职的人")
    resident = await world.resident("王秀英", phone="13800000001")
    photo = harness.emu.files.add("photo", sample_png(), "photo.png")
    to_take = await world.appeal(resident, SECRET, photos=(photo.file_id,))
    to_assign = await world.appeal(resident, SECRET)
    to_supervise = await world.appeal(resident, SECRET)
    clock.advance(timedelta(hours=25))
    await harness.tick()  # all three wait for the community now
    async with harness.app.services() as s:
        staffing = await s.staff.staffing(community.id)
        await s.get(AppealService).assign(to_supervise, staffing, worker.id, timedelta(hours=24))
        media_id = (
            await s.session.execute(select(AppealMedia.id).where(AppealMedia.appeal_id == to_take))
        ).scalar_one()

    cases = [
        Case("GET", "/desk/", {}, 303),
        Case("GET", "/desk/appeals", {}, 200),
        Case("GET", "/desk/appeals/rows", {}, 200),
        Case("GET", f"/desk/appeals/{to_take}", {}, 200),
        Case("GET", f"/desk/appeals/{to_take}/state", {}, 200),
        Case("GET", f"/desk/appeals/{to_take}/media/{media_id}", {}, 200),
        Case("POST", f"/desk/appeals/{to_take}/accept", {}, 303),
        Case(
            "POST",
            f"/desk/appeals/{to_assign}/assign",
            {"worker": str(worker.id), "hours": "24"},
            303,
        ),
        Case("POST", f"/desk/appeals/{to_supervise}/supervise", {"note": "请今天办结"}, 303),
        Case("GET", "/desk/ranking", {}, 200),
        Case("GET", f"/desk/ranking?node={tree.community.id}&month=2026-11", {}, 200),
        Case("GET", f"/desk/ranking?node={tree.grid.id}", {}, 200),
        Case("GET", f"/desk/ranking.xlsx?node={tree.community.id}", {}, 200),
        Case("GET", "/desk/heat", {}, 200),
        Case("GET", f"/desk/heat?node={tree.community.id}&figure=response", {}, 200),
        Case("GET", f"/desk/heat?node={tree.community.id}&screen=1", {}, 200),
        Case("GET", f"/desk/heat/tiles?node={tree.grid.id}&screen=1", {}, 200),
        Case("GET", "/desk/notices", {}, 200),
        Case("GET", f"/desk/notices?node={tree.community.id}", {}, 200),
        Case("GET", "/desk/partners", {}, 200),
        Case("GET", f"/desk/partners?node={tree.community.id}", {}, 200),
        Case("GET", "/desk/council", {}, 200),
        Case("GET", f"/desk/council?node={tree.community.id}", {}, 200),
    ]

    stranger_browser = await signed_in(harness, server, stranger)
    leaver_browser = await signed_in(harness, server, leaver)
    resident_browser = await _as_resident(harness, server, resident.id)
    nobody = DeskBrowser(server)
    async with harness.app.services() as s:
        grant = (
            await s.session.execute(
                select(RoleAssignment).where(RoleAssignment.user_id == leaver.id)
            )
        ).scalar_one()
        await s.staff.revoke(grant, by=1, now=s.now())

    history, owners = await _history(harness), await _owners(harness)
    for case in cases:
        for who, browser, refused in (
            ("another node", stranger_browser, {404}),
            ("a resident", resident_browser, {403, 401}),
            ("revoked", leaver_browser, {403, 401}),
            ("nobody", nobody, {401}),
        ):
            if case.method == "GET":
                page = await browser.get(case.path)
            else:
                page = await browser.post(case.path, case.form)
            label = f"{case.method} {case.path} as {who}"
            own_desk = case.path in ("/desk/", "/desk/appeals", "/desk/appeals/rows", *OWN)
            if own_desk and who == "another node":
                # Their own desk: it lists nothing of this community.
                assert page.status in (200, 303), label
            else:
                assert page.status in refused, (label, page.status)
            assert SECRET not in page.text and "13800000001" not in page.text, label
            assert f"#{to_take:06d}" not in page.text, label
        assert await _history(harness) == history, case
        assert await _owners(harness) == owners, case

    # The control: the entitled person gets each page, and each action is done.
    control = await signed_in(harness, server, community)
    for case in cases:
        if case.method == "GET":
            page = await control.get(case.path)
        else:
            page = await control.post(case.path, case.form)
        assert page.status == case.ok, (case, page.text[:300])
    owners = await _owners(harness)
    assert owners[to_take] == community.id and owners[to_assign] == worker.id
    assert (to_supervise, "supervised") in await _history(harness)


async def test_an_id_outside_scope_reads_as_one_that_does_not_exist(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community)
    elsewhere = await world.resident("张桂兰", tree.other_building)
    foreign = await world.appeal(elsewhere, SECRET)
    browser = await signed_in(harness, server, community)
    outside = await browser.get(f"/desk/appeals/{foreign}")
    missing = await browser.get("/desk/appeals/999999")
    huge = await browser.get("/desk/appeals/99999999999999999999")
    assert outside.status == missing.status == 404
    assert huge.status == 404
    assert outside.text == missing.text  # nothing tells the two apart
    assert SECRET not in outside.text


async def test_digits_that_are_no_number_are_refused_not_a_crash(
    harness: Harness, world: World, server: TestServer
) -> None:
    """ "²" is a digit to str.isdigit but no number to int(): every id a page reads from
    its URL is checked the same way, and such a value is a plain refusal, never a 500."""
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    browser = await signed_in(harness, server, community)
    for path in (
        "/desk/appeals/²",
        "/desk/appeals?grid=²&page=²",
        "/desk/ranking?node=²",
        "/desk/heat?node=²",
        "/desk/notices?node=²",
        "/desk/partners?node=²",
        "/desk/council?node=²",
    ):
        page = await browser.get(path)
        assert page.status in (200, 400, 404), (path, page.status, page.text[:300])
