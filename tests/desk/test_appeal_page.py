"""One appeal on the desk: the history the chat shows, photos and voice played in the
page (fetched from the Bot API through the bot), the resident's name and phone only to
whom the chat shows them, every view of personal data audited; and the actions of the
level holding it (take it, assign it down with a window, supervise with a note) decided
by the chat's rule and carried out by the chat's service, with the chat's pushes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.dialogs.appeals.views import Viewing, event_line
from bot.i18n import translator
from emulator import sample_ogg, sample_png
from storage.appeals import Appeal, AppealEvent, AppealMedia, AppealPolicy, AppealService, Level
from storage.audit import AuditEntry
from storage.clock import ManualClock
from storage.roles import Role
from tests.desk.client import Page, signed_in
from tests.harness import Harness, World

_TAG = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


async def _audit(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.app.services() as s:
        rows = await s.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows.scalars())


async def _events(harness: Harness, appeal_id: int) -> list[AppealEvent]:
    async with harness.app.services() as s:
        rows = await s.session.execute(
            select(AppealEvent).where(AppealEvent.appeal_id == appeal_id).order_by(AppealEvent.id)
        )
        return list(rows.scalars())


async def _appeal(harness: Harness, appeal_id: int) -> Appeal:
    async with harness.app.services() as s:
        appeal = await s.session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def _staffing(harness: Harness, user_id: int):  # type: ignore[no-untyped-def]
    async with harness.app.services() as s:
        return await s.staff.staffing(user_id)


def _page_text(page: Page) -> str:
    return _plain(page.text)


async def test_the_history_media_and_contact_as_the_chat_shows_them(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    resident = await world.resident("王秀英", phone="13800000001")
    photo = harness.emu.files.add("photo", sample_png(64, 48), "photo.png")
    voice = harness.emu.files.add("voice", sample_ogg(2), None, "audio/ogg")
    appeal_id = await world.appeal(
        resident,
        "楼道灯坏了 <script>alert(1)</script>",
        photos=(photo.file_id,),
        voice_file_id=voice.file_id,
        contact_phone="13800000001",
    )
    async with harness.app.services() as s:
        await s.get(AppealService).accept(appeal_id, await s.staff.staffing(worker.id))
    await harness.deliver()

    owner = await signed_in(harness, server, worker)
    page = await owner.get(f"/desk/appeals/{appeal_id}")
    assert page.status == 200
    text = _page_text(page)
    # Whatever the resident wrote is text on the page, never markup.
    assert "<script>alert(1)</script>" in text and "<script>alert(1)" not in page.text
    # The same history the chat shows: every event's line, as the chat writes it.
    appeal = await _appeal(harness, appeal_id)
    async with harness.app.services() as s:
        view = Viewing(
            s.session, translator("zh"), harness.app.settings.zone, s.config(AppealPolicy), s.now()
        )
        events = await _events(harness, appeal_id)
        lines = [_plain(event_line(ev, view, full=True)[0]) for ev in events]
    assert len(lines) == 2  # submitted, accepted
    for line in lines:
        assert line in text
    # The owner (首问负责) sees the resident's name and phone, and that view is audited.
    assert "王秀英" in text and "13800000001" in text
    viewed = await _audit(harness, "desk.appeal_viewed")
    assert [(e.actor_id, e.object_id, e.details["contact"]) for e in viewed] == [
        (worker.id, str(appeal_id), True)
    ]
    # Photo and voice are played in the page, fetched from the Bot API through the bot.
    async with harness.app.services() as s:
        media = list(
            (await s.session.execute(select(AppealMedia).order_by(AppealMedia.id))).scalars()
        )
    assert [m.kind for m in media] == ["photo", "voice"]
    photo_url, voice_url = (f"/desk/appeals/{appeal_id}/media/{m.id}" for m in media)
    assert f'<img src="{photo_url}"' in page.text
    assert f'<audio controls preload="none" src="{voice_url}"' in page.text
    async with owner.http.get(owner.url(f"/desk/appeals/{appeal_id}/media/{media[0].id}")) as got:
        assert got.status == 200 and got.content_type == "image/png"
        assert await got.read() == photo.data
        assert got.headers["Cache-Control"] == "no-store"
    async with owner.http.get(owner.url(f"/desk/appeals/{appeal_id}/media/{media[1].id}")) as got:
        assert got.status == 200 and got.content_type == "audio/ogg"
        assert await got.read() == voice.data
    fetched = await _audit(harness, "desk.appeal_media")
    assert [e.details["media_id"] for e in fetched] == [media[0].id, media[1].id]

    # The community's staff see the appeal, not the resident's phone (not the owner,
    # not an urgent call), as in the chat.
    supervisor = await signed_in(harness, server, community)
    theirs = await supervisor.get(f"/desk/appeals/{appeal_id}")
    assert theirs.status == 200
    assert "13800000001" not in theirs.text and "王秀英" not in _page_text(theirs)
    # A media id of another appeal is not found through this one.
    other = await world.appeal(resident, "另一件事", photos=(photo.file_id,))
    async with harness.app.services() as s:
        foreign = (
            await s.session.execute(select(AppealMedia.id).where(AppealMedia.appeal_id == other))
        ).scalar_one()
    async with owner.http.get(owner.url(f"/desk/appeals/{appeal_id}/media/{foreign}")) as got:
        assert got.status == 404
    await owner.close()
    await supervisor.close()
    assert appeal.owner_id == worker.id


async def test_an_urgent_call_shows_the_contact_to_everyone_it_reaches(
    harness: Harness, world: World, server: TestServer
) -> None:
    community = await world.staff(Role.COMMUNITY_STAFF, world.tree.community)
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(
        resident, "", category="urgent", urgent=True, contact_phone="13900000002"
    )
    browser = await signed_in(harness, server, community)
    page = await browser.get(f"/desk/appeals/{appeal_id}")
    assert "13900000002" in page.text
    assert len(await _audit(harness, "desk.appeal_viewed")) == 1
    await browser.close()


async def test_taking_an_escalated_appeal_tells_the_resident_as_the_chat_does(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    colleague = await world.staff(Role.COMMUNITY_STAFF, tree.community, "何静")
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    clock.advance(timedelta(hours=25))
    await harness.tick()
    assert (await _appeal(harness, appeal_id)).level == Level.COMMUNITY

    browser = await signed_in(harness, server, community)
    page = await browser.get(f"/desk/appeals/{appeal_id}")
    assert 'data-action="accept"' in page.text and 'data-action="assign"' in page.text
    assert 'data-action="supervise"' not in page.text  # nobody owns it yet
    taken = await browser.post(f"/desk/appeals/{appeal_id}/accept")
    assert taken.status == 303 and taken.location == f"/desk/appeals/{appeal_id}?done=accept"
    after = await browser.get(taken.location)
    assert after.has("已受理，这条诉求现在由您负责")
    assert 'data-action="accept"' not in after.text
    await harness.deliver()
    appeal = await _appeal(harness, appeal_id)
    assert appeal.owner_id == community.id
    # The chat's pushes: the resident hears who took it, the rest of the level too.
    assert "已由郑红梅（社区工作者）受理" in harness.last_text(resident)
    assert "郑红梅" in harness.last_text(colleague) and "不必再处理" in harness.last_text(colleague)
    kinds = [e.kind for e in await _events(harness, appeal_id)]
    assert kinds[-1] == "accepted"
    # Taking it again: refused with the chat's words, nothing changes.
    again = await browser.post(f"/desk/appeals/{appeal_id}/accept")
    assert again.status == 409 and again.has("已经有人受理了")
    assert [e.kind for e in await _events(harness, appeal_id)] == kinds
    assert harness.emu.errors == []
    await browser.close()


async def test_assigning_down_and_supervising_push_as_the_chat_does(
    harness: Harness, world: World, server: TestServer, clock: ManualClock
) -> None:
    tree = world.tree
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    other_worker = await world.staff(Role.WORKER, tree.grid2, "孙海涛")
    community = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    clock.advance(timedelta(hours=25))
    await harness.tick()

    browser = await signed_in(harness, server, community)
    page = await browser.get(f"/desk/appeals/{appeal_id}")
    # The workers offered are the appeal's grid's, as in the chat.
    assert f'<option value="{worker.id}"' in page.text
    assert f'<option value="{other_worker.id}"' not in page.text
    # A worker of another grid, forged into the form: refused, nothing changes.
    forged = await browser.post(
        f"/desk/appeals/{appeal_id}/assign", {"worker": str(other_worker.id), "hours": "24"}
    )
    assert forged.status == 400 and forged.has("内容不完整")
    assert (await _appeal(harness, appeal_id)).owner_id is None
    bad_window = await browser.post(
        f"/desk/appeals/{appeal_id}/assign", {"worker": str(worker.id), "hours": "0"}
    )
    assert bad_window.status == 400
    assigned = await browser.post(
        f"/desk/appeals/{appeal_id}/assign", {"worker": str(worker.id), "hours": "24"}
    )
    assert assigned.status == 303
    await harness.deliver()
    appeal = await _appeal(harness, appeal_id)
    assert appeal.owner_id == worker.id and appeal.level == Level.COMMUNITY
    assert appeal.window_due == clock.now() + timedelta(hours=24)
    card = harness.last_text(worker)
    assert "通海社区指派给您办理" in card and f"#{appeal.number}" in card
    assert "赵丽娟" in harness.last_text(resident)

    # Now someone owns it: the community supervises her, with a note.
    page = await browser.get(f"/desk/appeals/{appeal_id}")
    assert 'data-action="supervise"' in page.text
    empty = await browser.post(f"/desk/appeals/{appeal_id}/supervise", {"note": "   "})
    assert empty.status == 400 and empty.has("内容不完整")
    note = "今天下班前请联系居民 <b>确认</b>"
    too_long = await browser.post(f"/desk/appeals/{appeal_id}/supervise", {"note": "长" * 2001})
    assert too_long.status == 400
    # What was typed is kept on the refused form.
    assert "长" * 2001 in html.unescape(too_long.text)
    done = await browser.post(f"/desk/appeals/{appeal_id}/supervise", {"note": note})
    assert done.status == 303
    await harness.deliver()
    pushed = harness.last_text(worker)
    assert "郑红梅" in pushed and "督办" in pushed and note in pushed
    events = await _events(harness, appeal_id)
    assert (events[-1].kind, events[-1].note, events[-1].actor_id) == (
        "supervised",
        note,
        community.id,
    )
    assert harness.emu.errors == []
    await browser.close()


async def test_what_the_rule_refuses_the_page_neither_offers_nor_does(
    harness: Harness, world: World, server: TestServer
) -> None:
    tree = world.tree
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    resident = await world.resident("王秀英")
    appeal_id = await world.appeal(resident, "楼道灯坏了")
    browser = await signed_in(harness, server, worker)
    page = await browser.get(f"/desk/appeals/{appeal_id}")
    # A grid worker takes an appeal of her grid; she neither assigns nor supervises.
    assert 'data-action="accept"' in page.text
    assert 'data-action="assign"' not in page.text
    assert 'data-action="supervise"' not in page.text
    for action, form in (
        ("assign", {"worker": str(worker.id), "hours": "24"}),
        ("supervise", {"note": "快点"}),
    ):
        refused = await browser.post(f"/desk/appeals/{appeal_id}/{action}", form)
        assert refused.status == 403 and refused.has("不归您处理"), action
    # Without the CSRF token nothing is done at all.
    forged = await browser.post(f"/desk/appeals/{appeal_id}/accept", csrf=False)
    assert forged.status == 403
    assert (await _appeal(harness, appeal_id)).owner_id is None
    assert [e.kind for e in await _events(harness, appeal_id)] == ["submitted"]
    await browser.close()
