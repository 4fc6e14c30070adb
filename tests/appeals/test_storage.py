"""Appeal rules in storage: deadlines, the state machine, escalation timers driven by the
database (exactly once, across restarts and concurrent sweeps), and what goes to the
outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.appeals import (
    Appeal,
    AppealError,
    AppealEvent,
    AppealPolicy,
    AppealService,
    Draft,
    Level,
    Problem,
    Rating,
    State,
    sweep,
)
from storage.clock import ManualClock
from storage.outbox import OutboxMessage
from storage.roles import Role, Staffing, StaffRepo
from tests.factories import Tree, build_tree

POLICY = AppealPolicy()
RESIDENT = 100
WORKER, WORKER2, OTHER_GRID_WORKER = 201, 202, 203
COMMUNITY_STAFF, STREET_STAFF, DISTRICT_STAFF = 301, 401, 501


async def _staff(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tree: Tree
) -> dict[int, Staffing]:
    grants = [
        (WORKER, Role.WORKER, tree.grid),
        (WORKER2, Role.WORKER, tree.grid),
        (OTHER_GRID_WORKER, Role.WORKER, tree.other_grid),
        (COMMUNITY_STAFF, Role.COMMUNITY_STAFF, tree.community),
        (STREET_STAFF, Role.STREET_STAFF, tree.street),
        (DISTRICT_STAFF, Role.DISTRICT_STAFF, tree.district),
    ]
    async with sessionmaker() as session:
        repo = StaffRepo(session)
        for user_id, role, node in grants:
            await repo.grant(
                user_id=user_id, role=role, node=node, granted_by=None, now=clock.now()
            )
        await session.commit()
        return {uid: await repo.staffing(uid) for uid, _, _ in grants}


async def _file(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tree: Tree, **draft: object
) -> int:
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        values: dict[str, object] = {"category": "sanitation", "text": "楼道堆满杂物"}
        values.update(draft)
        appeal = await service.file(RESIDENT, tree.building, Draft(**values))  # type: ignore[arg-type]
        await session.commit()
        return appeal.id


async def _appeal(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> Appeal:
    async with sessionmaker() as session:
        appeal = await session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


async def _outbox(
    sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int
) -> list[tuple[int, str, str]]:
    async with sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.subject_id == appeal_id)
                    .order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
        return [
            (
                r.user_id,
                r.kind,
                str(r.params.get("reason") or r.params.get("event") or r.params.get("deadline")),
            )
            for r in rows
        ]


async def _events(sessionmaker: async_sessionmaker[AsyncSession], appeal_id: int) -> list[str]:
    async with sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(AppealEvent.kind)
                    .where(AppealEvent.appeal_id == appeal_id)
                    .order_by(AppealEvent.id)
                )
            )
            .scalars()
            .all()
        )


async def test_filing_sets_the_123_deadlines_and_pushes_to_the_grid(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree, photos=("p1", "p2"))
    appeal = await _appeal(sessionmaker, appeal_id)
    start = clock.now()
    assert appeal.state == State.SUBMITTED and appeal.level == Level.GRID
    assert appeal.first_accept_due == start + timedelta(hours=24)
    assert appeal.first_resolve_due == start + timedelta(hours=48)
    assert appeal.feedback_due == start + timedelta(hours=72)
    assert (appeal.grid_id, appeal.community_id) == (tree.grid.id, tree.community.id)
    assert appeal.due_kind == "remind_accept" and appeal.due_at == start + timedelta(hours=22)
    assert sorted(await _outbox(sessionmaker, appeal_id)) == [
        (RESIDENT, "appeal.filed", "None"),
        (WORKER, "appeal.task", "new"),
        (WORKER2, "appeal.task", "new"),
    ]


async def test_urgent_call_reaches_grid_and_community_with_a_short_deadline(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree, category="urgent", urgent=True, text="")
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.first_accept_due == appeal.window_due == clock.now() + timedelta(minutes=30)
    assert appeal.due_at == clock.now() + timedelta(minutes=20)  # reminder 10 minutes ahead
    assert sorted(
        u for u, k, _ in await _outbox(sessionmaker, appeal_id) if k == "appeal.task"
    ) == [
        WORKER,
        WORKER2,
        COMMUNITY_STAFF,
    ]


async def test_unaccepted_appeal_escalates_level_by_level_once_per_deadline(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)

    clock.advance(timedelta(hours=22))
    assert await sweep(sessionmaker, POLICY, clock.now()) == [(appeal_id, "remind_accept")]
    assert await sweep(sessionmaker, POLICY, clock.now()) == []  # nothing due twice
    clock.advance(timedelta(hours=2))
    assert await sweep(sessionmaker, POLICY, clock.now()) == [(appeal_id, "escalate_accept")]
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.COMMUNITY and appeal.escalations == 1
    # The community gets a window of its own; the promise to the resident stays.
    assert appeal.window_due == clock.now() + timedelta(hours=24)
    assert appeal.first_accept_due == clock.now() and appeal.overdue(clock.now())
    assert appeal.deadline_at == appeal.first_accept_due

    clock.advance(timedelta(hours=24))
    fired = await sweep(sessionmaker, POLICY, clock.now())
    # The reminder of the community's window is long past: the deadline is what counts.
    assert fired == [(appeal_id, "escalate_accept")]
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.STREET and appeal.escalations == 2
    outbox = await _outbox(sessionmaker, appeal_id)
    assert (COMMUNITY_STAFF, "appeal.task", "escalated") in outbox
    assert (STREET_STAFF, "appeal.task", "escalated") in outbox
    # The grid's workers hear that it left their grid (once: the second step was above).
    assert (WORKER, "appeal.reminder", "left") in outbox
    assert [o for o in outbox if o == (WORKER, "appeal.reminder", "left")] == [
        (WORKER, "appeal.reminder", "left")
    ]
    assert [o for o in outbox if o[0] == RESIDENT] == [
        (RESIDENT, "appeal.filed", "None"),
        (RESIDENT, "appeal.status", "escalated"),
        (RESIDENT, "appeal.status", "escalated"),
    ]
    assert (await _events(sessionmaker, appeal_id)).count("escalated") == 2


async def test_downtime_and_concurrent_sweeps_escalate_exactly_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    clock.advance(timedelta(days=3))  # the bot was down past the deadline

    results = await asyncio.gather(*(sweep(sessionmaker, POLICY, clock.now()) for _ in range(3)))
    assert sorted(x for fired in results for x in fired) == [(appeal_id, "escalate_accept")]
    assert await sweep(sessionmaker, POLICY, clock.now()) == []
    assert (await _events(sessionmaker, appeal_id)).count("escalated") == 1
    community_pushes = [
        o for o in await _outbox(sessionmaker, appeal_id) if o[0] == COMMUNITY_STAFF
    ]
    assert community_pushes == [(COMMUNITY_STAFF, "appeal.task", "escalated")]


async def test_first_to_accept_owns_it(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)

    async def accept(user_id: int) -> Problem | None:
        async with sessionmaker() as session:
            try:
                await AppealService(session, POLICY, clock.now()).accept(appeal_id, staff[user_id])
                await session.commit()
            except AppealError as exc:
                return exc.problem
            return None

    results = await asyncio.gather(accept(WORKER), accept(WORKER2))
    assert results.count(None) == 1
    assert set(results) - {None} <= {Problem.ALREADY_TAKEN, Problem.CONFLICT}
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.ACCEPTED and appeal.owner_id in (WORKER, WORKER2)
    assert appeal.accepted_in_time is True
    assert (await _events(sessionmaker, appeal_id)).count("accepted") == 1


async def test_other_grids_and_residents_may_not_act(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        with pytest.raises(AppealError) as info:
            await service.accept(appeal_id, staff[OTHER_GRID_WORKER])
        assert info.value.problem is Problem.NOT_ALLOWED
        with pytest.raises(AppealError):
            await service.accept(appeal_id, Staffing(RESIDENT))
        with pytest.raises(AppealError) as info:
            await service.cancel(appeal_id, resident_id=999)
        assert info.value.problem is Problem.NOT_ALLOWED
        # The district command centre may step in anywhere in its district.
        await service.accept(appeal_id, staff[DISTRICT_STAFF])


async def test_resolve_rate_reopen_once_then_close(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.accept(appeal_id, staff[WORKER])
        with pytest.raises(AppealError) as info:
            await service.cancel(appeal_id, RESIDENT)
        assert info.value.problem is Problem.WRONG_STATE
        await service.progress(appeal_id, staff[WORKER], "已联系物业")
        await service.resolve(appeal_id, staff[WORKER], "杂物已清理")
        appeal = await service.rate(appeal_id, RESIDENT, Rating.UNSATISFIED, "还有一些没清")
        assert appeal.state == State.REOPENED and appeal.level == Level.COMMUNITY
        assert appeal.owner_id == WORKER and appeal.reopened
        await session.commit()
    assert (COMMUNITY_STAFF, "appeal.task", "reopened") in await _outbox(sessionmaker, appeal_id)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.resolve(appeal_id, staff[WORKER], "全部清理完毕")
        appeal = await service.rate(appeal_id, RESIDENT, Rating.UNSATISFIED)
        assert appeal.state == State.CLOSED and appeal.rating == Rating.UNSATISFIED
        await session.commit()


async def test_unrated_appeal_closes_after_seven_days(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.accept(appeal_id, staff[WORKER])
        await service.resolve(appeal_id, staff[WORKER], "已处理")
        await session.commit()
    clock.advance(timedelta(days=6, hours=23))
    assert await sweep(sessionmaker, POLICY, clock.now()) == []
    clock.advance(timedelta(hours=1))
    assert await sweep(sessionmaker, POLICY, clock.now()) == [(appeal_id, "close_unrated")]
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.state == State.CLOSED and appeal.rating is None and appeal.due_at is None


async def test_call_up_transfer_and_reject_need_reasons(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    first = await _file(sessionmaker, clock, tree)
    second = await _file(sessionmaker, clock, tree)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        with pytest.raises(AppealError):
            await service.call_up(first, staff[WORKER], "  ")
        appeal = await service.call_up(first, staff[WORKER], "需要社区协调物业")
        assert appeal.level == Level.COMMUNITY and appeal.state == State.SUBMITTED
        moved = await service.transfer(second, staff[WORKER], tree.other_grid, "不属于本网格")
        assert moved.grid_id == tree.other_grid.id and moved.community_id == tree.other_community.id
        with pytest.raises(AppealError):  # no longer this worker's grid
            await service.accept(second, staff[WORKER])
        await service.reject(second, staff[OTHER_GRID_WORKER], "重复诉求", duplicate_of=first)
        await session.commit()
    assert (OTHER_GRID_WORKER, "appeal.task", "transferred") in await _outbox(sessionmaker, second)
    assert (COMMUNITY_STAFF, "appeal.task", "called_up") in await _outbox(sessionmaker, first)
    async with sessionmaker() as session:
        followers = (
            await session.execute(
                select(func.count())
                .select_from(AppealEvent)
                .where(AppealEvent.appeal_id == first, AppealEvent.kind == "followed")
            )
        ).scalar_one()
    assert followers == 0  # the resident filed the original: no need to follow their own


async def test_tasks_are_sorted_by_deadline_and_scoped(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    later = await _file(sessionmaker, clock, tree)
    clock.advance(timedelta(minutes=5))
    urgent = await _file(sessionmaker, clock, tree, category="urgent", urgent=True, text="")
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        rows, total = await service.tasks(staff[WORKER])
        assert [a.id for a in rows] == [urgent, later] and total == 2
        assert (await service.tasks(staff[OTHER_GRID_WORKER]))[1] == 0
        # Above the grid, staff see what reached their level.
        assert (await service.tasks(staff[COMMUNITY_STAFF]))[1] == 0
        await service.call_up(later, staff[WORKER], "请社区处理")
        await session.commit()
        rows, _ = await service.tasks(staff[COMMUNITY_STAFF])
        assert [a.id for a in rows] == [later]


# --- the promise, ownership after escalation, closing the loop ---------------------------


async def test_the_promise_never_moves_and_late_stays_late(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    filed = await _appeal(sessionmaker, appeal_id)
    for _ in range(3):  # grid → community → street → district, a day each
        clock.advance(timedelta(hours=24))
        await sweep(sessionmaker, POLICY, clock.now())
    appeal = await _appeal(sessionmaker, appeal_id)
    assert appeal.level == Level.DISTRICT
    assert (appeal.first_accept_due, appeal.first_resolve_due) == (
        filed.first_accept_due,
        filed.first_resolve_due,
    )
    assert appeal.overdue_by(clock.now()) == timedelta(hours=48)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        appeal = await service.accept(appeal_id, staff[DISTRICT_STAFF])
        await session.commit()
    # Accepted two days late: late for good, and now the resolve promise is overdue.
    assert appeal.accepted_in_time is False and appeal.late
    assert appeal.overdue(clock.now()) and appeal.deadline_at == filed.first_resolve_due
    # The district's window to do the work is its own, after the promise.
    assert appeal.window_due == clock.now() + POLICY.standard.work_window


async def test_once_escalated_the_grid_cannot_accept_and_the_level_assigns(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    clock.advance(timedelta(hours=24))
    await sweep(sessionmaker, POLICY, clock.now())
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        with pytest.raises(AppealError) as info:
            await service.accept(appeal_id, staff[WORKER])
        assert info.value.problem is Problem.ESCALATED
        with pytest.raises(AppealError) as info:  # only a worker of the appeal's grid
            await service.assign(
                appeal_id, staff[COMMUNITY_STAFF], OTHER_GRID_WORKER, timedelta(hours=4)
            )
        assert info.value.problem is Problem.BAD_INPUT
        appeal = await service.assign(
            appeal_id, staff[COMMUNITY_STAFF], WORKER2, timedelta(hours=4)
        )
        await session.commit()
    assert appeal.owner_id == WORKER2 and appeal.state == State.ACCEPTED
    assert appeal.level == Level.COMMUNITY  # the community keeps supervising
    assert appeal.window_due == clock.now() + timedelta(hours=4)
    outbox = await _outbox(sessionmaker, appeal_id)
    assert (WORKER2, "appeal.task", "assigned") in outbox
    assert (RESIDENT, "appeal.status", "assigned") in outbox
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.resolve(appeal_id, staff[WORKER2], "已清理")
        await session.commit()


async def test_reopened_card_waits_for_the_reason_and_a_second_unsatisfied_closes(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    staff = await _staff(sessionmaker, clock, tree)
    appeal_id = await _file(sessionmaker, clock, tree)
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.accept(appeal_id, staff[WORKER])
        await service.resolve(appeal_id, staff[WORKER], "已清理")
        await service.rate(appeal_id, RESIDENT, Rating.UNSATISFIED)
        await session.commit()

    async def held_back() -> list[int]:
        async with sessionmaker() as session:
            rows = await session.execute(
                select(OutboxMessage.user_id).where(
                    OutboxMessage.subject_id == appeal_id,
                    OutboxMessage.kind == "appeal.task",
                    OutboxMessage.not_before > clock.now(),
                )
            )
            return sorted(int(u) for u in rows.scalars())

    assert await held_back() == [WORKER, COMMUNITY_STAFF]
    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.set_rating_comment(appeal_id, RESIDENT, "楼道里还有两袋垃圾")
        await session.commit()
    assert await held_back() == []  # the reason is in: the cards go now, with it

    async with sessionmaker() as session:
        service = AppealService(session, POLICY, clock.now())
        await service.resolve(appeal_id, staff[WORKER], "全部清理完毕")
        appeal = await service.rate(appeal_id, RESIDENT, Rating.UNSATISFIED, "还是不行")
        await session.commit()
    assert appeal.state == State.CLOSED and appeal.rating == Rating.UNSATISFIED
    outbox = await _outbox(sessionmaker, appeal_id)
    assert (COMMUNITY_STAFF, "appeal.task", "closed_unsatisfied") in outbox
    assert (WORKER, "appeal.task", "closed_unsatisfied") in outbox


async def test_the_same_form_confirmed_twice_files_once_and_long_texts_are_refused(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _staff(sessionmaker, clock, tree)
    first = await _file(sessionmaker, clock, tree, key="form-1")
    again = await _file(sessionmaker, clock, tree, key="form-1")
    assert first == again
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Appeal))
    assert count == 1
    with pytest.raises(AppealError) as info:
        await _file(sessionmaker, clock, tree, text="字" * 2001)
    assert info.value.problem is Problem.TOO_LONG
