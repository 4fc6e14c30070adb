"""The partner rules in storage, on SQLite and PostgreSQL: one winner among partners
pressing 接单 at once, points credited once and only on the resident's confirmation,
timers firing once across concurrent sweeps and downtime, who may be offered an order,
and what deleting a person leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import ManualClock
from storage.outbox import OutboxMessage
from storage.partners import (
    Application,
    OrderDraft,
    OrderState,
    Partner,
    PartnerError,
    PartnerPolicy,
    PartnerProblem,
    PartnerService,
    PartnerState,
    PointEntry,
    Rating,
    ServiceOrder,
    privacy,
)
from storage.roles import Role, StaffRepo
from storage.users import User
from tests.factories import Tree, build_tree

POLICY = PartnerPolicy()
OFFICER = 500
RESIDENT = 600


async def _people(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    tree: Tree,
    partners: Mapping[int, tuple[str, ...]],
    *,
    elsewhere: tuple[int, ...] = (),
) -> None:
    """A resident, a community officer, and approved partners with their skills."""
    async with sessionmaker() as session:
        now = clock.now()
        for uid in [RESIDENT, OFFICER, *partners, *elsewhere]:
            home = tree.other_building if uid in elsewhere else tree.building
            session.add(
                User(
                    id=uid,
                    first_name=f"u{uid}",
                    building_id=home.id,
                    consent_at=now,
                    created_at=now,
                    last_seen_at=now,
                    phone="139",
                )
            )
        await session.flush()
        await StaffRepo(session).grant(
            user_id=OFFICER,
            role=Role.COMMUNITY_STAFF,
            node=tree.community,
            granted_by=None,
            now=now,
        )
        service = PartnerService(session, now, POLICY)
        for uid, skills in [*partners.items(), *((u, ("repair",)) for u in elsewhere)]:
            user = await session.get(User, uid)
            assert user is not None
            await service.apply(user, Application(real_name=f"p{uid}", phone="138", skills=skills))
            partner = await service.partner(uid)
            assert partner is not None
            partner.state, partner.decided_at = PartnerState.APPROVED, now
        await session.commit()


async def _place(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, skill: str = "repair"
) -> int:
    async with sessionmaker() as session:
        resident = await session.get(User, RESIDENT)
        assert resident is not None
        order = await PartnerService(session, clock.now(), POLICY).place(
            resident, OrderDraft(skill=skill, description="水龙头漏水")
        )
        await session.commit()
        return order.id


async def _kinds(
    sessionmaker: async_sessionmaker[AsyncSession], order_id: int
) -> list[tuple[int, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage.user_id, OutboxMessage.kind)
            .where(OutboxMessage.subject_id == order_id, OutboxMessage.kind.like("partner.%"))
            .order_by(OutboxMessage.id)
        )
        return [(int(u), str(k)) for u, k in rows.all()]


async def test_many_partners_press_take_at_once_and_one_wins(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    racers = {700 + i: ("repair",) for i in range(12)}
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, racers)
    order_id = await _place(sessionmaker, clock)

    async def take(uid: int) -> PartnerProblem | str | None:
        async with sessionmaker() as session:
            try:
                await PartnerService(session, clock.now(), POLICY).take(order_id, uid)
                await session.commit()
            except PartnerError as exc:
                return exc.problem
            except DBAPIError:  # SQLite: the writer that lost the lock
                return "locked"
            return None

    results = await asyncio.gather(*(take(uid) for uid in racers))
    assert results.count(None) == 1
    assert set(results) - {None} <= {PartnerProblem.TAKEN, "locked"}
    winner = list(racers)[results.index(None)]
    async with sessionmaker() as session:
        order = await session.get(ServiceOrder, order_id)
        assert order is not None and order.partner_id == winner
        assert order.state == OrderState.TAKEN
    sent = await _kinds(sessionmaker, order_id)
    assert sent.count((winner, "partner.taken")) == 1
    assert [k for u, k in sent if k == "partner.taken"] == ["partner.taken"]
    gone = sorted(u for u, k in sent if k == "partner.offer_gone")
    assert gone == sorted(u for u in racers if u != winner)
    assert sent.count((RESIDENT, "partner.order_news")) == 1


async def test_who_is_offered_an_order_and_who_may_take_it(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _people(
        sessionmaker,
        clock,
        tree,
        {701: ("repair",), 702: ("haircut",), 703: ("repair",)},
        elsewhere=(704,),
    )
    async with sessionmaker() as session:
        suspended = await session.get(Partner, 703)
        assert suspended is not None
        suspended.state = PartnerState.SUSPENDED
        await session.commit()
    order_id = await _place(sessionmaker, clock)
    offered = {u for u, k in await _kinds(sessionmaker, order_id) if k == "partner.offer"}
    assert offered == {701}
    async with sessionmaker() as session:
        service = PartnerService(session, clock.now(), POLICY)
        for intruder in (702, 703, 704, RESIDENT, 999):
            with pytest.raises(PartnerError) as info:
                await service.take(order_id, intruder)
            assert info.value.problem is PartnerProblem.NOT_PARTNER


async def test_points_only_on_confirmation_and_only_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, {701: ("escort",)})
    order_id = await _place(sessionmaker, clock, "escort")
    async with sessionmaker() as session:
        service = PartnerService(session, clock.now(), POLICY)
        await service.take(order_id, 701)
        await service.progress(order_id, 701, "done")
        assert await service.balance(701) == 0  # 已完成 alone earns nothing
        with pytest.raises(PartnerError):
            await service.confirm(order_id, 701, Rating.SATISFIED)  # not the resident's
        await session.commit()

    async def confirm() -> bool:
        async with sessionmaker() as session:
            try:
                await PartnerService(session, clock.now(), POLICY).confirm(
                    order_id, RESIDENT, Rating.FAIR
                )
                await session.commit()
            except (PartnerError, DBAPIError):
                return False
            return True

    assert sorted(await asyncio.gather(confirm(), confirm(), confirm())) == [False, False, True]
    async with sessionmaker() as session:
        service = PartnerService(session, clock.now(), POLICY)
        assert await service.balance(701) == 5  # 陪诊 is 三档
        staffing = await StaffRepo(session).staffing(OFFICER)
        await service.adjust(staffing, 701, -2, "兑换：理发券")
        await service.adjust(staffing, 701, 1, "社区活动")
        assert await service.balance(701) == 4
        with pytest.raises(PartnerError):
            await service.adjust(await StaffRepo(session).staffing(RESIDENT), 701, 100, "作弊")
        with pytest.raises(PartnerError):
            await service.adjust(staffing, 701, 3, " ")  # a reason is required
        await session.commit()
        lines = (await session.execute(select(PointEntry.points))).scalars().all()
        assert sorted(lines) == [-2, 1, 5]


async def test_timers_fire_once_across_concurrent_sweeps_and_downtime(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, {701: ("elderly",)})
    order_id = await _place(sessionmaker, clock, "elderly")
    clock.advance(timedelta(minutes=29))

    async def sweep() -> int:
        fired = 0
        async with sessionmaker() as session:
            due = await PartnerService(session, clock.now(), POLICY).due()
        for oid in due:
            async with sessionmaker() as session:
                try:
                    if await PartnerService(session, clock.now(), POLICY).fire(oid):
                        fired += 1
                    await session.commit()
                except DBAPIError:
                    await session.rollback()
        return fired

    assert await sweep() == 0  # 助老 waits 30 minutes for a taker
    clock.advance(timedelta(days=2))  # the bot was down meanwhile
    assert sum(await asyncio.gather(sweep(), sweep(), sweep())) == 1
    assert await sweep() == 0
    sent = await _kinds(sessionmaker, order_id)
    assert sent.count((OFFICER, "partner.dispatch")) == 1


async def test_forgetting_unlinks_orders_and_anonymises_the_ledger(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, {701: ("repair",)})
    order_id = await _place(sessionmaker, clock)
    async with sessionmaker() as session:
        service = PartnerService(session, clock.now(), POLICY)
        await service.take(order_id, 701)
        await service.progress(order_id, 701, "done")
        await service.confirm(order_id, RESIDENT, Rating.SATISFIED)
        await service.set_comment(order_id, RESIDENT, "王阿姨很满意")
        await session.commit()
    async with sessionmaker() as session:
        await privacy.forget(session, RESIDENT)
        await privacy.forget(session, 701)
        await session.commit()
    async with sessionmaker() as session:
        order = await session.get(ServiceOrder, order_id)
        assert order is not None and order.resident_id is None and order.partner_id is None
        assert order.contact_phone is None and order.comment is None
        assert await session.get(Partner, 701) is None
        total = await session.scalar(select(func.sum(PointEntry.points)))
        owners = (await session.execute(select(PointEntry.partner_id))).scalars().all()
        assert total == 3 and owners == [None]


async def test_an_offer_card_is_edited_once_however_often_the_order_changes_hands(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """A takes, lets it go, B takes: C's card (edited when A took it, and not offered
    again because C went on leave meanwhile) is not edited a second time; Telegram would
    refuse an edit that changes nothing."""
    tree = await build_tree(sessionmaker, clock)
    await _people(sessionmaker, clock, tree, {701: ("repair",), 702: ("repair",), 703: ("repair",)})
    order_id = await _place(sessionmaker, clock)
    async with sessionmaker() as session:
        service = PartnerService(session, clock.now(), POLICY)
        await service.take(order_id, 701)
        await service.set_available(703, False)
        await service.progress(order_id, 701, "release")
        await service.take(order_id, 702)
        await session.commit()
    sent = await _kinds(sessionmaker, order_id)
    gone = [u for u, k in sent if k == "partner.offer_gone"]
    assert sorted(gone) == [701, 702, 703] and gone.count(703) == 1
