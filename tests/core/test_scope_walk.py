"""Every button a feature handles outside its dialogs (its callback data, found through
the registry in bot/features.py) is pressed with ids of another community's appeal,
order, application, notice, meeting and vote: by a resident, a grid worker and the
community staff of 正阳社区, none of whom has anything to do with 通海社区's. Nothing of
通海社区 reaches their chats and nothing there changes; the entitled person's press of
the same data, the control, works (issue 21: a hidden button is never a permission).

A feature that adds callback data must add its presses to ``PRESSES`` below: the walk
fails on a prefix it does not know."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from aiogram_dialog import Dialog, ShowMode, StartMode
from aiogram_dialog.api.entities import DialogUpdate
from aiogram_dialog.manager.bg_manager import BgManagerFactoryImpl
from aiogram_dialog.manager.updater import Updater
from aiogram_dialog.widgets.kbd import Button, Select
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.dialogs.appeals.callbacks import AppealOpen, RateAction, TaskAction
from bot.dialogs.council.callbacks import CouncilPress
from bot.dialogs.notices.callbacks import NoticeAckPress, NoticeControl
from bot.dialogs.partners.callbacks import PartnerPress
from bot.features import FEATURES
from bot.handlers.partners.forms import FORMS
from emulator.files import sample_png
from emulator.world import EmulatedUser
from storage.appeals.models import Appeal, AppealEvent, AppealFollower
from storage.appeals.rules import Action
from storage.council import Ballot, CouncilService, Rsvp, Topic, TopicSupport, Vote
from storage.notices import AudienceRole, Notice, NoticeService
from storage.notices.models import NoticeAck
from storage.notices.service import Content
from storage.partners import (
    Application,
    OrderDraft,
    Partner,
    PartnerService,
    PointEntry,
    ServiceOrder,
)
from storage.partners.models import Team, TeamMember
from storage.roles import Role
from tests.harness import Harness, World

# What 通海社区's people wrote: none of it may reach anyone of 正阳社区.
APPEAL = "我家3单元502的邻居半夜装修，我是独居老人很害怕"
PHONE = "13911112222"
ORDER = "卫生间下水道堵了，周末要来客人"
APPLICANT, APPLICANT_PHONE = "姜海燕", "13800000021"
NOTICE = "周六上午九点到十一点全楼停水检修"
TOPIC = "3号楼前的路灯坏了一个月"
VOTE = "是否同意在小区东门加装充电桩"
THEIR_FILES: set[str] = set()  # file_unique_id of 通海社区's topic photo, filled per test
SECRETS = (APPEAL, PHONE, ORDER, APPLICANT, APPLICANT_PHONE, NOTICE, TOPIC, VOTE, "王秀英")

PARTNER_ACTIONS = (
    "take",
    "team_take",
    "accept",
    "decline",
    "visited",
    "done",
    "release",
    "confirm_satisfied",
    "confirm_fair",
    "confirm_unsatisfied",
    "not_done",
    "show",
    "hide",
    "cancel",
    "approve",
    "recognise",
    "nominee_no",
    "join",
    "join_no",
    *sorted(FORMS),
)
NOTICE_ACTIONS = (
    "pause",
    "resume",
    "cancel",
    "cancel_yes",
    "cancel_no",
    "recall",
    "recall_yes",
    "recall_no",
    "reschedule",
    "resend",
)


@dataclass(frozen=True)
class Theirs:
    """The ids of 通海社区's things, as a forger would put them in callback data."""

    appeal: int
    order: int
    applicant: int
    team: int
    notice: int
    meeting: int
    vote: int


def _partner_ref(action: str, t: Theirs) -> int:
    if action in ("approve", "reject"):
        return t.applicant
    if action in ("join", "join_no"):
        return t.team
    if action in ("recognise", "nominee_no", "call", "nominee"):
        return 1  # none exist: a guessed number reads as one that does not
    return t.order


# Every prefix of callback data the features handle, and the presses that walk it.
PRESSES: dict[str, Callable[[Theirs], list[str]]] = {
    "task": lambda t: [TaskAction(action=a.value, appeal_id=t.appeal).pack() for a in Action],
    "rate": lambda t: [
        RateAction(appeal_id=t.appeal, rating=r).pack()
        for r in ("satisfied", "basically", "unsatisfied")
    ],
    "appeal": lambda t: [AppealOpen(appeal_id=t.appeal).pack()],
    "nack": lambda t: [NoticeAckPress(notice_id=t.notice).pack()],
    "nctl": lambda t: [NoticeControl(action=a, notice_id=t.notice).pack() for a in NOTICE_ACTIONS],
    "ptn": lambda t: [
        PartnerPress(action=a, ref=_partner_ref(a, t)).pack() for a in PARTNER_ACTIONS
    ],
    "cnl": lambda t: [
        *(CouncilPress(action="rsvp", ref=t.meeting, arg=a).pack() for a in range(3)),
        *(CouncilPress(action="ballot", ref=t.vote, arg=a).pack() for a in range(3)),
        CouncilPress(action="tally", ref=t.vote).pack(),
        CouncilPress(action="propose", ref=t.meeting).pack(),
    ],
    "lang": lambda t: [],  # the chat's language: no id of anything in it
}


def _routers(router: Router) -> Iterator[Router]:
    yield router
    for sub in router.sub_routers:
        yield from _routers(sub)


def registered_prefixes() -> dict[str, str]:
    """Callback data prefix → the feature handling it: every router's callback filters
    and every quick press, read from the registry."""
    found: dict[str, str] = {}
    for feature in FEATURES:
        classes: list[type[CallbackData]] = [q.data for q in feature.quick]
        for top in feature.routers():
            for router in _routers(top):
                for handler in router.callback_query.handlers:
                    for flt in handler.filters or []:
                        if isinstance(flt.callback, CallbackQueryFilter):
                            classes.append(flt.callback.callback_data)
        for cls in classes:
            found[cls.__prefix__] = feature.name
    return found


def test_the_walk_knows_every_feature_s_callback_data() -> None:
    found = registered_prefixes()
    assert set(found) == set(PRESSES), "add the new callback data's presses to PRESSES"
    assert {"appeals", "notices", "partners", "council"} <= set(found.values())


async def _snapshot(harness: Harness, t: Theirs, community: int) -> list[Any]:
    """What a press could change of 通海社区's things (a stranger's own community may
    change: a resident of 正阳社区 may file her own appeal)."""
    async with harness.app.services() as s:
        session = s.session

        async def rows(*columns: Any, where: Any) -> list[tuple[Any, ...]]:
            stmt = select(*columns).where(where).order_by(*columns)
            return [tuple(r) for r in (await session.execute(stmt)).all()]

        async def count(model: Any, where: Any) -> int:
            stmt = select(func.count()).select_from(model).where(where)
            return int(await session.scalar(stmt) or 0)

        topics = select(Topic.id).where(Topic.meeting_id == t.meeting).scalar_subquery()
        return [
            await rows(
                Appeal.id,
                Appeal.state,
                Appeal.owner_id,
                Appeal.level,
                Appeal.rating,
                where=Appeal.community_id == community,
            ),
            await rows(
                ServiceOrder.id,
                ServiceOrder.state,
                ServiceOrder.partner_id,
                where=ServiceOrder.community_id == community,
            ),
            await rows(
                Partner.user_id,
                Partner.state,
                Partner.available,
                where=Partner.community_id == community,
            ),
            await rows(Notice.id, Notice.state, where=Notice.id == t.notice),
            await rows(Vote.id, Vote.state, where=Vote.meeting_id == t.meeting),
            await rows(TeamMember.partner_id, TeamMember.state, where=TeamMember.team_id == t.team),
            await count(AppealEvent, AppealEvent.appeal_id == t.appeal),
            await count(AppealFollower, AppealFollower.appeal_id == t.appeal),
            await count(Ballot, Ballot.vote_id == t.vote),
            await count(Rsvp, Rsvp.meeting_id == t.meeting),
            await count(Topic, Topic.meeting_id == t.meeting),
            await count(TopicSupport, TopicSupport.topic_id.in_(topics)),
            await count(NoticeAck, NoticeAck.notice_id == t.notice),
            await count(PointEntry, PointEntry.community_id == community),
            await count(Team, Team.community_id == community),
        ]


def _seen(harness: Harness, user: EmulatedUser) -> tuple[str, int]:
    """Everything the user's chat shows (texts, captions, alerts and the cells of any
    spreadsheet sent), and how many photos and voice notes it received."""
    chat = harness.emu.chat(user.id)
    texts = [m.text or m.caption or "" for m in chat.bot_messages]
    texts += [a.get("text") or "" for a in chat.callback_answers]
    for m in chat.bot_messages:
        document = m.raw.get("document")
        stored = harness.emu.files.get(document["file_id"]) if document else None
        if stored is not None and (document.get("file_name") or "").endswith(".xlsx"):
            book = load_workbook(io.BytesIO(stored.data))
            texts += [
                str(cell)
                for sheet in book
                for row in sheet.iter_rows(values_only=True)
                for cell in row
                if cell is not None
            ]
    # 通海社区's photos and voice notes, by the file they are (a stranger's own chart is
    # a photo too).
    media = sum(
        1
        for m in chat.bot_messages
        for f in [*(m.raw.get("photo") or []), m.raw.get("voice") or {}]
        if f.get("file_unique_id") in THEIR_FILES
    )
    return "\n".join(texts), media


def _assert_nothing_new(
    harness: Harness, user: EmulatedUser, before: tuple[str, int], what: str
) -> None:
    seen, media = _seen(harness, user)
    leaked = [s for s in SECRETS if s in seen[len(before[0]) :]]
    assert leaked == [], (user.first_name, what, leaked)
    assert media == before[1], (user.first_name, what)


async def _their_community(harness: Harness, world: World) -> tuple[Theirs, dict[str, Any]]:
    """通海社区 with one of everything: an appeal, a pending application, an order, a
    team, a notice with a receipt, the next meeting with a topic and an open vote."""
    tree = world.tree
    officer = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    worker = await world.staff(Role.WORKER, tree.grid, "赵丽娟")
    wang = await world.resident("王秀英", phone=PHONE)
    fixer = await world.resident("张师傅", tree.building2, phone="13800000000")
    applicant = await world.resident(APPLICANT, tree.building3, phone=APPLICANT_PHONE)
    appeal = await world.appeal(wang, APPEAL)
    await harness.tick()
    async with harness.app.services() as s:
        partners = s.get(PartnerService)
        staffing = await s.staff.staffing(officer.id)
        for person, name, phone in ((fixer, "张师傅", "13800000000"),):
            user = await s.users.get(person.id)
            assert user is not None
            await partners.apply(user, Application(real_name=name, phone=phone, skills=("repair",)))
            await partners.decide(staffing, person.id, approve=True)
        user = await s.users.get(applicant.id)
        assert user is not None
        await partners.apply(
            user, Application(real_name=APPLICANT, phone=APPLICANT_PHONE, skills=("haircut",))
        )
        team = await partners.create_team(staffing, tree.community, "修理队", fixer.id, ["repair"])
        wang_user = await s.users.get(wang.id)
        assert wang_user is not None
        order = await partners.place(wang_user, OrderDraft(skill="repair", description=ORDER))
        notice = await s.get(NoticeService).send(
            author_id=officer.id,
            node=tree.community,
            roles=[AudienceRole.RESIDENTS],
            content=Content(chat_id=officer.id, message_id=0, media=None, body=NOTICE, entities=[]),
            ack=True,
        )
        council = s.get(CouncilService)
        meeting = await council.next_meeting(tree.community.id)
        photo = harness.emu.files.add("photo", sample_png(), "photo.png")
        THEIR_FILES.clear()
        THEIR_FILES.add(photo.file_unique_id)
        await council.propose(meeting.id, wang_user, TOPIC, photo_file_id=photo.file_id)
        vote = await council.open_vote(staffing, meeting.id, VOTE, live=True)
        theirs = Theirs(appeal, order.id, applicant.id, team.id, notice.id, meeting.id, vote.id)
        await s.commit()
    await harness.tick()
    await harness.tick()
    people = {"officer": officer, "worker": worker, "wang": wang, "fixer": fixer}
    return theirs, people


async def test_nothing_of_another_community_is_shown_or_changed_by_any_press(
    harness: Harness, world: World
) -> None:
    theirs, people = await _their_community(harness, world)
    tree = world.tree
    # 正阳社区: a resident, a grid worker of its grid and its community staff.
    strangers = [
        await world.resident("外社区居民", tree.other_building, phone="13700000001"),
        await world.staff(Role.WORKER, tree.other_grid, "正阳网格员"),
        await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟"),
    ]
    before = await _snapshot(harness, theirs, tree.community.id)
    walked = 0
    for stranger in strangers:
        await harness.command(stranger, "menu")
        baseline = _seen(harness, stranger)
        for presses in PRESSES.values():
            for data in presses(theirs):
                message = harness.last(stranger)
                await harness.press_data(stranger, message.message_id, data, forged=True)
                walked += 1
                _assert_nothing_new(harness, stranger, baseline, data)
                assert await _snapshot(harness, theirs, tree.community.id) == before, (
                    stranger.first_name,
                    data,
                )
    assert walked > 3 * 50
    assert harness.emu.errors == []

    # The controls: the same data pressed by those it belongs to reaches its thing.
    wang, worker, fixer, officer = (
        people["wang"],
        people["worker"],
        people["fixer"],
        people["officer"],
    )
    await harness.command(wang, "menu")
    await harness.press_data(
        wang, harness.last(wang).message_id, PRESSES["appeal"](theirs)[0], forged=True
    )
    assert APPEAL in harness.last_text(wang)
    await harness.press_data(
        wang, harness.last(wang).message_id, PRESSES["rate"](theirs)[0], forged=True
    )
    assert harness.emu.chat(wang.id).callback_answers[-1]["text"] == harness.label(
        wang, "resident_appeal.rate.stale"
    )
    await harness.press_data(
        wang, harness.last(wang).message_id, PRESSES["nack"](theirs)[0], forged=True
    )
    assert harness.emu.chat(wang.id).callback_answers[-1]["text"] == harness.label(
        wang, "notice.ack_thanks"
    )
    rsvp = CouncilPress(action="rsvp", ref=theirs.meeting, arg=0).pack()
    await harness.press_data(wang, harness.last(wang).message_id, rsvp, forged=True)
    await harness.command(worker, "menu")
    accept = TaskAction(action="accept", appeal_id=theirs.appeal).pack()
    await harness.press_data(worker, harness.last(worker).message_id, accept, forged=True)
    await harness.command(fixer, "menu")
    take = PartnerPress(action="take", ref=theirs.order).pack()
    await harness.press_data(fixer, harness.last(fixer).message_id, take, forged=True)
    await harness.command(officer, "menu")
    pause = NoticeControl(action="pause", notice_id=theirs.notice).pack()
    await harness.press_data(officer, harness.last(officer).message_id, pause, forged=True)
    refusals = {harness.label(officer, f"notice.problem.{p}") for p in ("not_found", "not_allowed")}
    assert harness.emu.chat(officer.id).callback_answers[-1]["text"] not in refusals
    async with harness.app.services() as s:
        appeal = await s.session.get(Appeal, theirs.appeal)
        order = await s.session.get(ServiceOrder, theirs.order)
        assert appeal is not None and appeal.owner_id == worker.id
        assert order is not None and order.partner_id == fixer.id
        assert await s.session.get(Rsvp, (theirs.meeting, wang.id)) is not None
        assert await s.session.get(NoticeAck, (theirs.notice, wang.id)) is not None
    assert harness.emu.errors == []


# --- the dialogs: every window's pickers and buttons -----------------------------------
# A window's buttons travel as "<intent>\x1d<widget id>[:<item>]"; aiogram-dialog hands a
# press to the widget of that id in the window on show, whether or not it is shown.


class _Now(Updater):
    """Handles the background manager's update at once, not on the loop's next turn."""

    async def notify(self, bot: Bot, update: DialogUpdate) -> None:
        await self._process_update(bot, update)


def _leaves(widget: Any) -> Iterator[Any]:
    if widget is None:
        return
    if hasattr(widget, "buttons"):
        for inner in widget.buttons:
            yield from _leaves(inner)
    elif getattr(widget, "widget_id", None):
        yield widget


@dataclass(frozen=True)
class Screen:
    feature: str
    state: State
    pickers: tuple[str, ...]  # Select widgets: pressed with an id
    buttons: tuple[str, ...]  # plain buttons that run a handler (not navigation)


def dialog_screens() -> dict[str, Screen]:
    """Every window of every feature's dialogs (from the registry), by its state, with
    its widgets, hidden ones included."""
    screens = {}
    for feature in FEATURES:
        for dialog in feature.dialogs():
            if not isinstance(dialog, Dialog):
                continue
            for state, window in dialog.windows.items():
                leaves = list(_leaves(getattr(window, "keyboard", None)))
                pickers = tuple(w.widget_id for w in leaves if isinstance(w, Select))
                buttons = tuple(
                    w.widget_id
                    for w in leaves
                    if type(w) is Button and w.widget_id not in ("menu", "close")
                )
                screens[state.state] = Screen(feature.name, state, pickers, buttons)
    return screens


async def _open(harness: Harness, user: EmulatedUser, state: State) -> str | None:
    """Put the user's chat in ``state``, as a chain of forged presses or a stale button
    from an earlier role would; the dialog's intent id if the window has buttons."""
    manager = BgManagerFactoryImpl(harness.app.dispatcher).bg(harness.bot, user.id, user.id)
    manager._updater = _Now(harness.app.dispatcher)  # type: ignore[attr-defined]
    await manager.start(state, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
    return _intent(harness, user)


def _intent(harness: Harness, user: EmulatedUser) -> str | None:
    message = harness.emu.chat(user.id).last_bot_message
    datas = [d for row in (message.inline_buttons() if message else []) for _, d in row]
    return next((d.split("\x1d", 1)[0] for d in datas if d and "\x1d" in d), None)


async def _on_show(harness: Harness, user: EmulatedUser, intent: str) -> str | None:
    """The state of the window the dialog ``intent`` shows now."""
    key = StorageKey(
        bot_id=harness.bot.id,
        chat_id=user.id,
        user_id=user.id,
        destiny=f"aiogd:context:{intent}",
    )
    data = await harness.app.dispatcher.fsm.storage.get_data(key)
    state = data.get("state") if data else None
    return str(state) if state else None


async def _press(harness: Harness, user: EmulatedUser, intent: str, widget: str) -> None:
    message = harness.emu.chat(user.id).last_bot_message
    assert message is not None
    await harness.press_data(user, message.message_id, f"{intent}\x1d{widget}", forged=True)


FEATURES_WITH_DIALOGS = sorted({s.feature for s in dialog_screens().values()})


@pytest.mark.parametrize("feature", FEATURES_WITH_DIALOGS)
async def test_no_window_of_a_feature_shows_or_changes_another_community_s_things(
    harness: Harness, world: World, feature: str
) -> None:
    """Each window of the feature's dialogs is put on show for each stranger; each of its
    pickers is pressed with each of 通海社区's ids, and then every button of the window
    that press led to (where the id now sits in the dialog's data); nothing of 通海社区
    is shown and nothing changes."""
    theirs, _ = await _their_community(harness, world)
    tree = world.tree
    strangers = [
        await world.resident("外社区居民", tree.other_building, phone="13700000001"),
        await world.staff(Role.WORKER, tree.other_grid, "正阳网格员"),
        await world.staff(Role.COMMUNITY_STAFF, tree.other_community, "冯伟"),
    ]
    screens = dialog_screens()
    refs = sorted(set(astuple(theirs)) | {tree.community.id})
    before = await _snapshot(harness, theirs, tree.community.id)
    presses = 0
    for stranger in strangers:
        baseline = _seen(harness, stranger)
        for screen in screens.values():
            if screen.feature != feature:
                continue
            for picker in screen.pickers:
                for ref in refs:
                    intent = await _open(harness, stranger, screen.state)
                    if intent is None:
                        break
                    await _press(harness, stranger, intent, f"{picker}:{ref}")
                    presses += 1
                    after = await _on_show(harness, stranger, intent)
                    following = screens.get(after or "")
                    for button in following.buttons if following else ():
                        if await _on_show(harness, stranger, intent) != after:
                            break  # the dialog moved on (closed, another window)
                        await _press(harness, stranger, intent, button)
                        presses += 1
                    what = f"{screen.state.state} {picker}:{ref}"
                    _assert_nothing_new(harness, stranger, baseline, what)
            # A window's own buttons, with no id picked yet, can only reach 通海社区 by
            # a rule that lets anyone through: pressed by the resident, whose every
            # staff window must stay shut (staff act on their own community here).
            intent = None
            for button in screen.buttons if stranger is strangers[0] else ():
                # Each button on the window as opened; opened again once a press left it.
                if intent is None or await _on_show(harness, stranger, intent) != str(
                    screen.state.state
                ):
                    intent = await _open(harness, stranger, screen.state)
                    if intent is None:
                        break
                await _press(harness, stranger, intent, button)
                presses += 1
            _assert_nothing_new(harness, stranger, baseline, screen.state.state)
        assert await _snapshot(harness, theirs, tree.community.id) == before, stranger.first_name
    assert presses > 0
    # (Telegram's refusals are not counted here: a window put on show without the steps
    # that lead to it, e.g. a form's summary without a draft, is no state the bot reaches.)
