"""The desk's sign-in storage: a link opens once even when two requests redeem it at
the same moment; only hashes of the tokens are stored; deleting a person's data signs
them out everywhere; rows that ended long ago are dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features import FEATURES
from bot.registry import Registry
from storage.clock import ManualClock
from storage.desk import DeskAuth, DeskLink, DeskPolicy, DeskSession, Opened, SignInProblem
from storage.privacy.forget import forget_user


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_link_opens_once_when_two_redeem_it_at_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    policy = DeskPolicy(clock=clock)
    async with sessionmaker() as session:
        issued = await DeskAuth(session, policy).issue_link(42)
        await session.commit()
        stored = (await session.execute(select(DeskLink))).scalar_one()
        assert issued.token not in stored.token_hash and len(stored.token_hash) == 64

    async def redeem() -> Opened | SignInProblem:
        async with sessionmaker() as session:
            outcome = await DeskAuth(session, policy).redeem_link(issued.token)
            await session.commit()
            return outcome

    outcomes = await asyncio.gather(redeem(), redeem(), redeem())
    opened = [o for o in outcomes if isinstance(o, Opened)]
    assert len(opened) == 1 and outcomes.count(SignInProblem.USED) == 2
    assert await _count(sessionmaker, DeskSession) == 1


async def test_deleting_a_persons_data_signs_them_out_everywhere(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    policy = DeskPolicy(clock=clock)
    async with sessionmaker() as session:
        auth = DeskAuth(session, policy)
        mine = await auth.open(42, via="link")
        await auth.issue_link(42)
        await auth.open(43, via="miniapp")
        await session.commit()
        await forget_user(session, 42, Registry(FEATURES).forget_hooks())
        await session.commit()
        assert await DeskAuth(session, policy).session_of(mine.token) is None
    assert await _count(sessionmaker, DeskSession) == 1
    assert await _count(sessionmaker, DeskLink) == 0


async def test_rows_that_ended_long_ago_are_dropped(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    policy = DeskPolicy(clock=clock)
    async with sessionmaker() as session:
        auth = DeskAuth(session, policy)
        old = await auth.open(42, via="link")
        await auth.issue_link(42)
        await auth.end(old.session, "signout")
        await session.commit()
    clock.advance(timedelta(days=29))
    async with sessionmaker() as session:
        assert await DeskAuth(session, policy).purge() == 0
        live = await DeskAuth(session, policy).open(43, via="link")
        await session.commit()
    clock.advance(timedelta(days=2))
    async with sessionmaker() as session:
        assert await DeskAuth(session, policy).purge() == 2
        await session.commit()
        assert await DeskAuth(session, policy).session_of(live.token) is None  # expired
    assert await _count(sessionmaker, DeskSession) == 1
