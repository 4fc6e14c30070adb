"""The council's rules in storage, on SQLite and PostgreSQL: one counted ballot per
resident under concurrent presses from two processes (the result equals a count by hand),
reminders fired once by concurrent sweeps and never for a moved meeting's old time, who
may propose, +1, vote and curate, and what deleting a person leaves behind."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.clock import ManualClock
from storage.council import (
    Ballot,
    CouncilError,
    CouncilPolicy,
    CouncilProblem,
    CouncilService,
    Reminder,
    Rsvp,
    Topic,
    privacy,
)
from storage.council.models import Answer
from storage.roles import Role, StaffRepo
from storage.sessions import create_sessionmaker
from storage.users import User
from tests.factories import Tree, build_tree

POLICY = CouncilPolicy()
OFFICER, OUTSIDER = 500, 501
FIRST = 1000
MEETING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


async def _people(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tree: Tree, n: int
) -> list[int]:
    """``n`` residents of the community (and one of another), its officer, and an officer
    of the other community."""
    async with sessionmaker() as session:
        now = clock.now()
        ids = list(range(FIRST, FIRST + n))
        for uid in [*ids, OFFICER, OUTSIDER, 999]:
            home = tree.other_building if uid in (999,) else tree.building
            session.add(
                User(
                    id=uid,
                    first_name=f"u{uid}",
                    building_id=home.id,
                    consent_at=now,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        await session.flush()
        staff = StaffRepo(session)
        await staff.grant(
            user_id=OFFICER,
            role=Role.COMMUNITY_STAFF,
            node=tree.community,
            granted_by=None,
            now=now,
        )
        await staff.grant(
            user_id=OUTSIDER,
            role=Role.COMMUNITY_STAFF,
            node=tree.other_community,
            granted_by=None,
            now=now,
        )
        await session.commit()
    return ids


async def _second_process(engine: AsyncEngine) -> AsyncEngine:
    """An engine of its own on the same database, as a second bot process has."""
    if engine.dialect.name == "sqlite":
        return create_async_engine(engine.url, connect_args={"timeout": 30})
    async with engine.connect() as conn:
        path = (await conn.execute(text("SHOW search_path"))).scalar_one()
    return create_async_engine(engine.url, connect_args={"server_settings": {"search_path": path}})


async def test_one_ballot_per_resident_under_concurrent_presses_in_two_processes(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    voters = await _people(sessionmaker, clock, tree, 30)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        staffing = await StaffRepo(session).staffing(OFFICER)
        vote = await service.open_vote(staffing, meeting.id, "加装路灯？")
        await session.commit()
        vote_id = vote.id
    other_engine = await _second_process(engine)
    other = create_sessionmaker(other_engine)
    rng = random.Random(7)
    last: dict[int, int] = {}

    async def press(maker: async_sessionmaker[AsyncSession], uid: int, choice: int) -> None:
        for _ in range(20):  # a press the database turned away is pressed again
            try:
                async with maker() as session:
                    user = await session.get(User, uid)
                    assert user is not None
                    await CouncilService(session, clock.now(), POLICY).cast(vote_id, user, choice)
                    await session.commit()
                    return
            except DBAPIError:
                await asyncio.sleep(0.01)
        raise AssertionError(f"{uid} could not vote")

    try:
        presses = []
        for uid in voters:
            # Each resident taps twice at once (once per process): the same option, or two.
            first, second = rng.randrange(3), rng.randrange(3)
            presses += [press(sessionmaker, uid, first), press(other, uid, second)]
        rng.shuffle(presses)
        await asyncio.gather(*presses)
        async with other() as session:
            rows = (await session.execute(select(Ballot.user_id, Ballot.choice))).all()
        assert sorted(r.user_id for r in rows) == voters  # exactly one each
        last = {r.user_id: r.choice for r in rows}
        async with sessionmaker() as session:
            service = CouncilService(session, clock.now(), POLICY)
            closed = await service.close_vote(vote_id, await StaffRepo(session).staffing(OFFICER))
            await session.commit()
        by_hand = Counter(last.values())
        assert closed.result is not None
        assert closed.result["counts"] == [by_hand[0], by_hand[1], by_hand[2]]
        assert closed.result["chat"] == 30 and closed.result["eligible"] == 32  # 30 + 2 staff
        # After the close, a press from either process changes nothing.
        async with other() as session:
            user = await session.get(User, voters[0])
            assert user is not None
            with pytest.raises(CouncilError) as info:
                await CouncilService(session, clock.now(), POLICY).cast(
                    vote_id, user, (last[voters[0]] + 1) % 3
                )
            assert info.value.problem is CouncilProblem.CLOSED
    finally:
        await other_engine.dispose()


async def test_ballots_pressed_together_are_written_together_each_told_its_own(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """The quick lane hands a vote's presses over together: two statements whatever
    their number, each press told what came of it in the order pressed, a resident's
    later press in the same group winning; two such groups from two processes at once
    still leave exactly one ballot each."""
    tree = await build_tree(sessionmaker, clock)
    voters = await _people(sessionmaker, clock, tree, 40)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        vote = await service.open_vote(
            await StaffRepo(session).staffing(OFFICER), meeting.id, "是否同意？"
        )
        await session.commit()
        vote_id = vote.id
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split()[0])

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with sessionmaker() as session:
            users = {u.id: u for u in (await session.scalars(select(User))).all()}
            alice, bob, carol = (users[uid] for uid in voters[:3])
            presses: list[tuple[User | None, int]] = [
                (alice, 0),
                (bob, 3),  # no such option
                (users[999], 0),  # of another community
                (None, 0),  # no row
                (alice, 1),  # a changed mind, in the same group
                (carol, 2),
                *((users[uid], uid % 3) for uid in voters[3:]),
            ]
            statements.clear()
            outcomes = await CouncilService(session, clock.now(), POLICY).cast_many(
                vote_id, presses
            )
            assert statements == ["SELECT", "INSERT"]
            await session.commit()
            assert [o if isinstance(o, CouncilProblem) else o.changed for o in outcomes[:6]] == [
                True,
                CouncilProblem.BAD_INPUT,
                CouncilProblem.NOT_RESIDENT,
                CouncilProblem.NOT_FOUND,
                True,
                True,
            ]
            # The same presses again change nothing and write nothing.
            statements.clear()
            again = await CouncilService(session, clock.now(), POLICY).cast_many(
                vote_id, [(alice, 1), (carol, 2)]
            )
            assert statements == ["SELECT"]
            assert [o.changed for o in again if not isinstance(o, CouncilProblem)] == [False] * 2
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    async with sessionmaker() as session:
        stored = dict((await session.execute(select(Ballot.user_id, Ballot.choice))).all())
    # Alice's later press won; Bob's refused press wrote nothing.
    assert stored == {alice.id: 1, carol.id: 2, **{u: u % 3 for u in voters[3:]}}

    other_engine = await _second_process(engine)
    other = create_sessionmaker(other_engine)

    async def group(maker: async_sessionmaker[AsyncSession], shift: int) -> None:
        for _ in range(20):  # a group the database turned away is pressed again
            try:
                async with maker() as session:
                    people = (await session.scalars(select(User).where(User.id.in_(voters)))).all()
                    await CouncilService(session, clock.now(), POLICY).cast_many(
                        vote_id, [(u, (u.id + shift) % 3) for u in people]
                    )
                    await session.commit()
                    return
            except DBAPIError:
                await asyncio.sleep(0.01)
        raise AssertionError("a group could not be written")

    try:
        await asyncio.gather(group(sessionmaker, 1), group(other, 2))
        async with other() as session:
            rows = (await session.execute(select(Ballot.user_id, Ballot.choice))).all()
        assert sorted(r.user_id for r in rows) == voters  # exactly one each
        assert all(r.choice in ((r.user_id + 1) % 3, (r.user_id + 2) % 3) for r in rows)
        async with sessionmaker() as session:
            closed = await CouncilService(session, clock.now(), POLICY).close_vote(
                vote_id, await StaffRepo(session).staffing(OFFICER)
            )
            await session.commit()
        by_hand = Counter(r.choice for r in rows)
        assert closed.result is not None
        assert closed.result["counts"] == [by_hand[0], by_hand[1], by_hand[2]]
        # After the close a group changes nothing: each press is told it is closed.
        async with other() as session:
            people = (await session.scalars(select(User).where(User.id.in_(voters[:3])))).all()
            late = await CouncilService(session, clock.now(), POLICY).cast_many(
                vote_id, [(u, 0) for u in people]
            )
        assert late == [CouncilProblem.CLOSED] * 3
    finally:
        await other_engine.dispose()


async def test_a_close_racing_ballots_counts_exactly_what_was_stored(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    voters = await _people(sessionmaker, clock, tree, 20)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        vote = await service.open_vote(
            await StaffRepo(session).staffing(OFFICER), meeting.id, "是否同意？"
        )
        await session.commit()
        vote_id = vote.id
    other_engine = await _second_process(engine)
    other = create_sessionmaker(other_engine)

    async def press(uid: int) -> None:
        for _ in range(20):
            try:
                async with other() as session:
                    user = await session.get(User, uid)
                    assert user is not None
                    await CouncilService(session, clock.now(), POLICY).cast(vote_id, user, uid % 3)
                    await session.commit()
                    return
            except CouncilError:
                return  # closed first: refused, and not stored
            except DBAPIError:
                await asyncio.sleep(0.01)

    async def close() -> list[int]:
        await asyncio.sleep(0.02)
        async with sessionmaker() as session:
            service = CouncilService(session, clock.now(), POLICY)
            closed = await service.close_vote(vote_id, await StaffRepo(session).staffing(OFFICER))
            await session.commit()
            assert closed.result is not None
            return list(closed.result["counts"])

    try:
        *_, counted = await asyncio.gather(*(press(uid) for uid in voters), close())
        async with sessionmaker() as session:
            stored = Counter(
                (await session.execute(select(Ballot.choice).where(Ballot.vote_id == vote_id)))
                .scalars()
                .all()
            )
        assert counted == [stored[0], stored[1], stored[2]]
    finally:
        await other_engine.dispose()


async def test_reminders_fire_once_across_two_sweeps_and_never_for_the_old_time(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, 3)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        assert await service.ensure_next_meetings() == 2  # both communities
        assert await service.ensure_next_meetings() == 0
        meeting = await service.next_meeting(tree.community.id)
        assert meeting.starts_at == MEETING
        await session.commit()
        meeting_id = meeting.id
    other_engine = await _second_process(engine)
    other = create_sessionmaker(other_engine)

    async def sweep(maker: async_sessionmaker[AsyncSession]) -> list[str]:
        for _ in range(20):
            try:
                async with maker() as session:
                    due = await CouncilService(session, clock.now(), POLICY).claim_due()
                    await session.commit()
                    return [d.reminder.kind for d in due if d.meeting.id == meeting_id]
            except DBAPIError:
                await asyncio.sleep(0.01)
        raise AssertionError("could not sweep")

    try:
        clock.set(MEETING - timedelta(days=7, minutes=-1))
        fired = await asyncio.gather(sweep(sessionmaker), sweep(other), sweep(sessionmaker))
        assert sorted(k for f in fired for k in f) == ["topics"]
        # Moved by two days before the 1-day reminder: at the old moment nothing fires.
        async with sessionmaker() as session:
            service = CouncilService(session, clock.now(), POLICY)
            staffing = await StaffRepo(session).staffing(OFFICER)
            with pytest.raises(CouncilError):  # another community's officer may not
                await service.move(
                    await StaffRepo(session).staffing(OUTSIDER), meeting_id, MEETING, "x"
                )
            await service.move(staffing, meeting_id, MEETING + timedelta(days=2), "停电")
            await session.commit()
        clock.set(MEETING - timedelta(days=1, minutes=-1))
        assert [k for f in await asyncio.gather(sweep(sessionmaker), sweep(other)) for k in f] == []
        clock.set(MEETING + timedelta(days=1, minutes=1))
        fired = await asyncio.gather(sweep(sessionmaker), sweep(other))
        assert sorted(k for f in fired for k in f) == ["agenda"]
        async with sessionmaker() as session:
            kinds = (
                await session.execute(
                    select(Reminder.kind, Reminder.due_at).where(Reminder.meeting_id == meeting_id)
                )
            ).all()
            # One row per kind: the topics call kept (sent), the others re-timed.
            assert sorted(k for k, _ in kinds) == ["agenda", "topics", "venue"]
            assert dict(kinds)["venue"] == MEETING + timedelta(days=2, hours=-2)
    finally:
        await other_engine.dispose()


async def test_who_may_propose_support_rsvp_vote_and_curate(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    a, b = await _people(sessionmaker, clock, tree, 2)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        alice, bob, stranger = [await session.get(User, u) for u in (a, b, 999)]
        assert alice and bob and stranger
        officer = await StaffRepo(session).staffing(OFFICER)
        outsider = await StaffRepo(session).staffing(OUTSIDER)
        topic = await service.propose(meeting.id, alice, "楼道堆物")
        for call in (
            service.propose(meeting.id, stranger, "别的社区的事"),
            service.support(topic.id, stranger),
            service.rsvp(meeting.id, stranger, Answer.YES),
        ):
            with pytest.raises(CouncilError) as info:
                await call
            assert info.value.problem is CouncilProblem.NOT_RESIDENT
        with pytest.raises(CouncilError) as info:
            await service.support(topic.id, alice)
        assert info.value.problem is CouncilProblem.OWN_TOPIC
        assert await service.support(topic.id, bob) is True
        assert await service.support(topic.id, bob) is False  # the second +1 counts nothing
        with pytest.raises(CouncilError):
            await service.propose(meeting.id, alice, "x" * 1001)  # refused, never cut
        for curate in (
            service.accept(outsider, topic.id),
            service.decline(outsider, topic.id, "不"),
        ):
            with pytest.raises(CouncilError) as info:
                await curate
            assert info.value.problem is CouncilProblem.NOT_ALLOWED
        duplicate = await service.propose(meeting.id, bob, "楼道里堆了很多东西")
        await service.merge(officer, duplicate.id, topic.id)
        [row] = await service.topics(meeting.id)
        assert row.topic.id == topic.id and row.supports == 1  # bob's +1 was already there
        # An attendees-only vote: only those checked in may vote.
        vote = await service.open_vote(officer, meeting.id, "同意吗？", attendees_only=True)
        with pytest.raises(CouncilError) as info:
            await service.cast(vote.id, alice, 0)
        assert info.value.problem is CouncilProblem.NOT_ATTENDEE
        with pytest.raises(CouncilError):
            await service.open_vote(outsider, meeting.id, "越权？")
        with pytest.raises(CouncilError):
            await service.open_vote(officer, meeting.id, "选项？", options=["只有一个"])
        await service.mark_attended(officer, meeting.id, a)
        assert (await service.cast(vote.id, alice, 0)).changed is True
        assert (await service.cast(vote.id, alice, 0)).changed is False  # a doubled press
        assert (await service.cast(vote.id, alice, 1)).changed is True  # a changed mind
        assert await service.choice_of(vote.id, alice.id) == 1
        # After the cut-off, no more topics; after the start, no more RSVP changes.
        clock.set(meeting.starts_at - timedelta(days=1))
        service.now = clock.now()
        with pytest.raises(CouncilError) as info:
            await service.propose(meeting.id, bob, "晚了")
        assert info.value.problem is CouncilProblem.CUT_OFF
        assert await service.rsvp(meeting.id, bob, Answer.MAYBE) is True
        clock.set(meeting.starts_at + timedelta(minutes=1))
        service.now = clock.now()
        with pytest.raises(CouncilError) as info:
            await service.rsvp(meeting.id, bob, Answer.YES)
        assert info.value.problem is CouncilProblem.STARTED
        await session.commit()


async def test_forgetting_a_resident_keeps_the_record_not_the_person(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    a, b = await _people(sessionmaker, clock, tree, 2)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        alice, bob = await session.get(User, a), await session.get(User, b)
        assert alice and bob
        topic = await service.propose(meeting.id, alice, "加装电梯", voice_file_id="v1")
        await service.support(topic.id, bob)
        await service.rsvp(meeting.id, alice, Answer.YES)
        vote = await service.open_vote(
            await StaffRepo(session).staffing(OFFICER), meeting.id, "加装电梯？"
        )
        await service.cast(vote.id, alice, 0)
        await service.subscribe(a, False)
        held = {k.label: await k.count(session, a) for k in privacy.KEPT}
        assert held["council.privacy.topics"] == 1
        assert held["council.privacy.ballots"] == held["council.privacy.rsvps"] == 1
        assert held["council.privacy.optout"] == 1
        await privacy.forget(session, a)
        await session.commit()
        # Nothing counted on the privacy screen is left after deleting.
        assert [k.label for k in privacy.KEPT if await k.count(session, a)] == []
    async with sessionmaker() as session:
        kept = await session.get(Topic, topic.id)
        assert kept is not None and kept.author_id is None and kept.voice_file_id is None
        assert kept.text == "加装电梯"
        for table in (Rsvp, Ballot):
            assert (
                await session.scalar(
                    select(func.count()).select_from(table).where(table.user_id == a)
                )
                == 0
            )
        assert await CouncilService(session, clock.now(), POLICY).subscribed(a) is True


async def test_decision_timers_fire_once_across_two_processes(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    from storage.council.decisions import DECISION_OVERDUE, DECISION_REMIND, DecisionService
    from storage.outbox import OutboxMessage

    tree = await build_tree(sessionmaker, clock)
    a, b = await _people(sessionmaker, clock, tree, 2)
    async with sessionmaker() as session:
        await CouncilService(session, clock.now(), POLICY).ensure_next_meetings()
        await session.commit()
    clock.set(MEETING + timedelta(minutes=10))  # the meeting has begun
    async with sessionmaker() as session:
        service = DecisionService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        assert meeting.starts_at == MEETING
        officer = await StaffRepo(session).staffing(OFFICER)
        outsider = await StaffRepo(session).staffing(OUTSIDER)
        group = await service.create_group(officer, tree.community.id, tree.building.id, "1号楼组")
        with pytest.raises(CouncilError):
            await service.create_group(officer, tree.community.id, tree.other_building.id, "越界")
        with pytest.raises(CouncilError):
            await service.add_member(officer, group.id, 999)  # another community's resident
        await service.add_member(officer, group.id, a, leader=True)
        due = clock.now() + timedelta(days=5)
        for bad in (
            service.decide(outsider, meeting.id, "越权", due, group_id=group.id),
            service.decide(officer, meeting.id, "过去", clock.now(), group_id=group.id),
            service.decide(officer, meeting.id, "两个", due, group_id=group.id, owner_id=b),
            # A named owner lives in the community: not another's resident, nor a stranger.
            service.decide(officer, meeting.id, "外人", due, owner_id=999),
            service.decide(officer, meeting.id, "无人", due, owner_id=123_456_789),
        ):
            with pytest.raises(CouncilError):
                await bad
        decision = await service.decide(officer, meeting.id, "修路灯", due, group_id=group.id)
        await session.commit()
        decision_id = decision.id
    other_engine = await _second_process(engine)
    other = create_sessionmaker(other_engine)

    async def sweep(maker: async_sessionmaker[AsyncSession]) -> int:
        for _ in range(20):
            try:
                async with maker() as session:
                    fired = await DecisionService(session, clock.now(), POLICY).fire_timers()
                    await session.commit()
                    return fired
            except DBAPIError:
                await asyncio.sleep(0.01)
        raise AssertionError("could not sweep")

    try:
        clock.set(due - timedelta(days=1))
        assert sum(await asyncio.gather(sweep(sessionmaker), sweep(other), sweep(other))) == 1
        clock.set(due + timedelta(minutes=1))
        assert sum(await asyncio.gather(sweep(sessionmaker), sweep(other), sweep(other))) == 1
        async with sessionmaker() as session:
            sent = (
                await session.execute(
                    select(OutboxMessage.kind, OutboxMessage.user_id).where(
                        OutboxMessage.subject_id == decision_id,
                        OutboxMessage.kind.in_([DECISION_REMIND, DECISION_OVERDUE]),
                    )
                )
            ).all()
            assert sorted(tuple(r) for r in sent) == sorted(
                [(DECISION_REMIND, a), (DECISION_OVERDUE, a), (DECISION_OVERDUE, OFFICER)]
            )
            service = DecisionService(session, clock.now(), POLICY)
            with pytest.raises(CouncilError):  # not in the group, not staff
                await service.mark_done(decision_id, b, await StaffRepo(session).staffing(b))
            await service.mark_done(decision_id, a, await StaffRepo(session).staffing(a))
            with pytest.raises(CouncilError) as info:
                await service.mark_done(decision_id, a, await StaffRepo(session).staffing(a))
            assert info.value.problem is CouncilProblem.ALREADY
            await session.commit()
    finally:
        await other_engine.dispose()


async def test_a_group_member_gets_the_council_even_after_unsubscribing(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    from storage.council.decisions import DecisionService
    from storage.notices.audience import AudienceRole, resolve

    tree = await build_tree(sessionmaker, clock)
    a, b = await _people(sessionmaker, clock, tree, 2)
    async with sessionmaker() as session:
        service = DecisionService(session, clock.now(), POLICY)
        officer = await StaffRepo(session).staffing(OFFICER)
        group = await service.create_group(officer, tree.community.id, tree.building.id, "1号楼组")
        await service.add_member(officer, group.id, a)
        await service.subscribe(a, False)
        await service.subscribe(b, False)
        reached = await resolve(session, tree.community, [AudienceRole.COUNCIL])
        assert a in reached.user_ids and b not in reached.user_ids


async def test_an_agenda_items_outcome_is_recorded_at_the_meeting_by_its_hosts_only(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    from storage.council import Outcome

    tree = await build_tree(sessionmaker, clock)
    [a] = await _people(sessionmaker, clock, tree, 1)
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        meeting = await service.next_meeting(tree.community.id)
        alice = await session.get(User, a)
        assert alice is not None
        officer = await StaffRepo(session).staffing(OFFICER)
        outsider = await StaffRepo(session).staffing(OUTSIDER)
        agenda = await service.propose(meeting.id, alice, "楼道堆物")
        still_open = await service.propose(meeting.id, alice, "绿化")
        await service.accept(officer, agenda.id)
        with pytest.raises(CouncilError) as info:  # the meeting has not begun
            await service.set_outcome(officer, agenda.id, Outcome.APPROVED)
        assert info.value.problem is CouncilProblem.WRONG_STATE
        await session.commit()
        agenda_id, open_id = agenda.id, still_open.id
    clock.set(MEETING + timedelta(minutes=40))
    async with sessionmaker() as session:
        service = CouncilService(session, clock.now(), POLICY)
        officer = await StaffRepo(session).staffing(OFFICER)
        outsider = await StaffRepo(session).staffing(OUTSIDER)
        with pytest.raises(CouncilError):  # staff of another community
            await service.set_outcome(outsider, agenda_id, Outcome.REJECTED)
        with pytest.raises(CouncilError) as info:  # not on the agenda
            await service.set_outcome(officer, open_id, Outcome.APPROVED)
        assert info.value.problem is CouncilProblem.WRONG_STATE
        assert await service.set_outcome(officer, agenda_id, Outcome.DEFERRED) is True
        assert await service.set_outcome(officer, agenda_id, Outcome.DEFERRED) is False
        assert await service.set_outcome(officer, agenda_id, Outcome.APPROVED) is True
        await session.commit()
    async with sessionmaker() as session:
        topic = await session.get(Topic, agenda_id)
        assert topic is not None and topic.outcome == "approved"
        actions = (
            await session.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'council.topic.outcome'")
            )
        ).scalar_one()
        assert actions == 2
