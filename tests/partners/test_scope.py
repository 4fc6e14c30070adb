"""Partners' lookups by id go through the person's scope and every write re-checks who
acts (issue 21): another community's application is never shown, a team's leader never
takes her own order for points, and a take that lost to a cancellation says so."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from storage.partners import (
    Application,
    OrderState,
    PartnerService,
    PointEntry,
    ServiceOrder,
)
from storage.partners.base import PartnerBase
from storage.roles import Role
from tests.council.test_scope import forge
from tests.harness import Harness, World
from tests.partners.test_partners import _order, _partner


async def test_staff_of_another_community_never_see_an_application(
    harness: Harness, world: World
) -> None:
    ours = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    theirs = await world.staff(Role.COMMUNITY_STAFF, world.tree.other_community, "冯伟")
    applicant = await world.resident("姜海燕", world.tree.other_building, phone="13800000021")
    async with harness.app.services() as s:
        user = await s.users.get(applicant.id)
        assert user is not None
        await s.get(PartnerService).apply(
            user, Application(real_name="姜海燕", phone="13800000021", skills=("haircut",))
        )
        await s.commit()
    await harness.deliver()
    assert any("姜海燕" in t for t in harness.texts(theirs))  # the control: her own staff

    await harness.command(ours, "partners")
    await forge(harness, ours, "adm_apps")
    await forge(harness, ours, f"adm_app:{applicant.id}")
    await harness.deliver()
    shown = "\n".join(harness.texts(ours))
    assert "姜海燕" not in shown and "13800000021" not in shown
    # The decision buttons of the card she never got change nothing either.
    await harness.press_data(
        ours, harness.last(ours).message_id, f"ptn:approve:{applicant.id}", forged=True
    )
    async with harness.app.services() as s:
        partner = await s.get(PartnerService).partner(applicant.id)
        assert partner is not None and partner.state == "pending"

    # The entitled staff member opens it from the same screen.
    before = len(harness.texts(theirs))
    await harness.command(theirs, "partners")
    await forge(harness, theirs, "adm_apps")
    await forge(harness, theirs, f"adm_app:{applicant.id}")
    await harness.deliver()
    assert any("13800000021" in t for t in harness.texts(theirs)[before:])
    assert harness.emu.errors == []


async def test_a_team_leader_never_takes_her_own_order_for_points(
    harness: Harness, world: World
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    leader = await _partner(harness, world, "孙大姐", ["haircut"])
    async with harness.app.services() as s:
        await s.get(PartnerService).create_team(
            await s.staff.staffing(officer.id),
            world.tree.community,
            "共享奶奶",
            leader.id,
            ["elderly"],
        )
        await s.commit()

    await _order(harness, leader, "🧓 助老")
    # Her own order is not offered to her, and a press of 团队接单 is refused.
    assert not harness.has_button(leader, "partner.button.team_take")
    message = harness.last(leader)
    await harness.press_data(leader, message.message_id, "ptn:team_take:1", forged=True)
    answer = harness.emu.chat(leader.id).callback_answers[-1]["text"]
    assert answer == harness.label(leader, "partner.problem.not_allowed")
    await harness.press_data(leader, message.message_id, "ptn:take:1", forged=True)
    async with harness.app.services() as s:
        order = await s.session.get(ServiceOrder, 1)
        assert order is not None and order.state == OrderState.OPEN and order.partner_id is None
        assert (await s.session.scalars(select(PointEntry))).all() == []
    assert harness.emu.errors == []


@pytest.mark.parametrize("action", ["take", "team_take"])
async def test_a_take_that_lost_to_the_resident_s_cancel_says_it_was_cancelled(
    harness: Harness, world: World, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    officer = await world.staff(Role.COMMUNITY_STAFF, world.tree.community, "郑红梅")
    fixer = await _partner(harness, world, "张师傅", ["repair"])
    if action == "team_take":
        async with harness.app.services() as s:
            await s.get(PartnerService).create_team(
                await s.staff.staffing(officer.id),
                world.tree.community,
                "修理队",
                fixer.id,
                ["repair"],
            )
            await s.commit()
    resident = await world.resident("王秀英", phone="13911112222")
    await _order(harness, resident)
    offer = harness.last(fixer)

    # The resident's cancel commits between the partner's read of the order and his take.
    real = PartnerBase._move

    async def cancelled_meanwhile(self: PartnerBase, order: ServiceOrder, *a: Any, **k: Any) -> Any:
        await self.session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order.id)
            .values(state=OrderState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        return await real(self, order, *a, **k)

    monkeypatch.setattr(PartnerBase, "_move", cancelled_meanwhile)
    await harness.press_data(fixer, offer.message_id, f"ptn:{action}:1", forged=True)
    answer = harness.emu.chat(fixer.id).callback_answers[-1]["text"]
    assert answer == harness.label(fixer, "partner.problem.cancelled")
    assert harness.emu.errors == []
