"""Service orders (the five orders): placing one (点单, 代点单, from an appeal), taking it
(抢单/接单, one winner), staff assigning it (派单), visits, completion, the resident's
confirmation and rating, 晒单, messages between the two sides, and the order timers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from storage.appeals.desk import staff_appeal
from storage.appeals.models import AppealEvent
from storage.hierarchy import Node, NodeKind
from storage.outbox import Lane
from storage.partners.base import changed
from storage.partners.channel import ShowcaseChannels
from storage.partners.drafts import (
    OrderDraft,
)
from storage.partners.kinds import (
    CHASE,
    CREDITED,
    DISPATCH,
    MAX_TEXT,
    OFFER,
    ORDER_NEWS,
    RELAY,
)
from storage.partners.models import (
    OrderState,
    OrderTimer,
    PointEntry,
    Rating,
    ServiceOrder,
)
from storage.partners.rules import (
    PROXIES,
    WAITING,
    PartnerError,
    PartnerProblem,
    Side,
    actions,
    may_decide,
    may_serve,
)
from storage.partners.slots import slot_open
from storage.roles import Staffing
from storage.users import User


class Orders(ShowcaseChannels):
    async def place(
        self,
        by: User,
        draft: OrderDraft,
        *,
        building: Node | None = None,
        staffing: Staffing | None = None,
    ) -> ServiceOrder:
        """A resident's order (点单), or a grid worker's for a household without the chat
        (代点单: ``building`` and ``draft.household`` given, ``staffing`` hers)."""
        proxy = building is not None
        home: Node | None
        if building is not None:
            if staffing is None or not staffing.covers(building, PROXIES):
                raise PartnerError(PartnerProblem.NOT_ALLOWED)
            if building.node_kind is not NodeKind.BUILDING or not (draft.household or "").strip():
                raise PartnerError(PartnerProblem.BAD_INPUT, "a household in a building")
            home = building
        else:
            home = await self.hierarchy.get(by.building_id) if by.building_id else None
        if home is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        community = await self.community_of(home.id)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        if draft.skill not in self.policy.skills:
            raise PartnerError(PartnerProblem.BAD_INPUT, "unknown skill")
        if not draft.description.strip() and draft.voice_file_id is None:
            raise PartnerError(PartnerProblem.BAD_INPUT, "say what is needed")
        if len(draft.description) > MAX_TEXT:
            raise PartnerError(PartnerProblem.BAD_INPUT, "too long")
        if not slot_open(draft.preferred, self.now, self.policy.zone):
            raise PartnerError(PartnerProblem.BAD_INPUT, "that half day is over")
        order = ServiceOrder(
            community_id=community.id,
            building_id=home.id,
            grid_id=home.parent_id,
            resident_id=None if proxy else by.id,
            ordered_by=by.id,
            household=(draft.household or "").strip() or None,
            contact_phone=draft.contact_phone if proxy else by.phone,
            skill=draft.skill,
            tier=self.policy.tier(draft.skill),
            description=draft.description.strip(),
            voice_file_id=draft.voice_file_id,
            preferred=draft.preferred,
            state=OrderState.OPEN,
            created_at=self.now,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(draft.skill),
        )
        self.session.add(order)
        await self.session.flush()
        offered = await self._offer(order)
        if not offered:
            # Nobody to offer it to: staff assign it now rather than after the window.
            order.due_at = self.now
        await self.audit.record(
            actor_id=by.id,
            action="order.place",
            at=self.now,
            object_type="order",
            object_id=order.id,
            proxy=proxy,
        )
        return order

    async def from_appeal(self, staffing: Staffing, appeal_id: int, skill: str) -> ServiceOrder:
        """Staff turn an appeal into a service order (e.g. a repair for an elderly
        resident): for the appeal's resident and building, its text as the description,
        linked both ways (the order keeps the appeal, the appeal's timeline the order)."""
        # A typed number: read within the staff member's scope, as the desk reads it.
        appeal = await staff_appeal(self.session, staffing, appeal_id)
        building = (
            await self.hierarchy.get(appeal.building_id) if appeal and appeal.building_id else None
        )
        if appeal is None or building is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        if not staffing.covers(building, PROXIES):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        linked = await self.session.scalar(
            select(ServiceOrder.id).where(
                ServiceOrder.appeal_id == appeal.id,
                ServiceOrder.state != OrderState.CANCELLED,
            )
        )
        if linked is not None:
            raise PartnerError(PartnerProblem.ALREADY)
        community = await self.community_of(building.id)
        if community is None or skill not in self.policy.skills:
            raise PartnerError(PartnerProblem.BAD_INPUT)
        resident = await self.session.get(User, appeal.resident_id) if appeal.resident_id else None
        order = ServiceOrder(
            community_id=community.id,
            building_id=building.id,
            grid_id=building.parent_id,
            resident_id=appeal.resident_id,
            ordered_by=staffing.user_id,
            household=None if resident else appeal.number,
            contact_phone=appeal.contact_phone or (resident.phone if resident else None),
            skill=skill,
            tier=self.policy.tier(skill),
            description=(appeal.text or "")[:MAX_TEXT],
            preferred="any",
            state=OrderState.OPEN,
            appeal_id=appeal.id,
            created_at=self.now,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(skill),
        )
        self.session.add(order)
        await self.session.flush()
        self.session.add(
            AppealEvent(
                appeal_id=appeal.id,
                at=self.now,
                actor_id=staffing.user_id,
                kind="service_order",
                note=order.number,
                data={"order_id": order.id},
            )
        )
        if not await self._offer(order):
            order.due_at = self.now
        if appeal.resident_id:
            self.outbox.add(
                [appeal.resident_id],
                ORDER_NEWS,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                event="from_appeal",
                appeal=appeal.number,
            )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="order.from_appeal",
            at=self.now,
            object_type="order",
            object_id=order.id,
            appeal=appeal.id,
        )
        return order

    async def take(self, order_id: int, partner_id: int) -> ServiceOrder:
        """接单/抢单: the first approved partner of the skill to press wins."""
        order = await self._get(order_id)
        problem = may_serve(await self.partner(partner_id), order)
        if problem is not None:
            raise PartnerError(problem)
        if order.state != OrderState.OPEN:
            raise self._lost(order, partner_id)
        won = await self._move(
            order,
            [OrderState.OPEN],
            state=OrderState.TAKEN,
            partner_id=partner_id,
            taken_at=self.now,
            timer=OrderTimer.CHASE_PARTNER,
            due_at=self.now + self.policy.chase_after,
        )
        if not won:
            raise self._lost(order, partner_id)
        await self._after_taken(order, partner_id)
        return order

    async def assign(self, staffing: Staffing, order_id: int, partner_id: int) -> ServiceOrder:
        """派单: staff pick a partner, who confirms or declines."""
        order = await self._get(order_id)
        problem = may_decide(staffing, await self.hierarchy.get(order.community_id))
        if problem is not None:
            raise PartnerError(problem)
        if "assign" not in actions(Side.STAFF, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        problem = may_serve(await self.partner(partner_id), order)
        if problem is not None:
            raise PartnerError(problem)
        moved = await self._move(
            order,
            [OrderState.OPEN, OrderState.ASSIGNED],
            state=OrderState.ASSIGNED,
            partner_id=partner_id,
            timer=OrderTimer.DISPATCH,
            due_at=self.now + self.policy.dispatch_window(order.skill),
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self.outbox.add(
            [partner_id], OFFER, now=self.now, lane=Lane.TASK, subject_id=order.id, assigned=True
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action="order.assign",
            at=self.now,
            object_type="order",
            object_id=order.id,
            partner=partner_id,
        )
        return order

    async def answer_assignment(
        self, order_id: int, partner_id: int, *, accept: bool
    ) -> ServiceOrder:
        order = await self._get(order_id)
        if order.state == OrderState.CANCELLED:
            raise PartnerError(PartnerProblem.CANCELLED)
        if order.state != OrderState.ASSIGNED or order.partner_id != partner_id:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if accept:
            problem = may_serve(await self.partner(partner_id), order)
            if problem is not None:
                raise PartnerError(problem)
            moved = await self._move(
                order,
                [OrderState.ASSIGNED],
                state=OrderState.TAKEN,
                taken_at=self.now,
                timer=OrderTimer.CHASE_PARTNER,
                due_at=self.now + self.policy.chase_after,
            )
            if moved:
                await self._after_taken(order, partner_id)
        else:
            # Back to staff at once, saying why (not as if nobody had taken it in time);
            # the waiting window starts again in case they leave it open.
            moved = await self._move(
                order,
                [OrderState.ASSIGNED],
                state=OrderState.OPEN,
                partner_id=None,
                timer=OrderTimer.DISPATCH,
                due_at=self.now + self.policy.dispatch_window(order.skill),
            )
            if moved:
                self.outbox.add(
                    await self.deciders(order.community_id),
                    DISPATCH,
                    now=self.now,
                    lane=Lane.TASK,
                    subject_id=order.id,
                    why="declined",
                )
                await self.audit.record(
                    actor_id=partner_id,
                    action="order.decline",
                    at=self.now,
                    object_type="order",
                    object_id=order.id,
                )
        if not moved:
            if order.state == OrderState.CANCELLED:
                raise PartnerError(PartnerProblem.CANCELLED)
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        return order

    async def progress(self, order_id: int, partner_id: int, step: str) -> ServiceOrder:
        """The partner's 已上门 (visited), 已完成 (done), or 无法服务 (release: offered
        again to the others)."""
        order = await self._get(order_id)
        if order.partner_id != partner_id or step not in actions(Side.PARTNER, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        before = [OrderState(order.state)]
        if step == "visited":
            moved = await self._move(order, before, state=OrderState.VISITED, visited_at=self.now)
        elif step == "done":
            moved = await self._move(
                order,
                before,
                state=OrderState.DONE,
                done_at=self.now,
                timer=OrderTimer.CHASE_RESIDENT,
                due_at=self.now + self.policy.chase_after,
            )
        elif step == "release":
            moved = await self._move(
                order,
                before,
                state=OrderState.OPEN,
                partner_id=None,
                taken_at=None,
                timer=OrderTimer.DISPATCH,
                due_at=self.now + self.policy.dispatch_window(order.skill),
            )
            if moved:
                await self._offer(order, but=partner_id)
        else:
            raise PartnerError(PartnerProblem.BAD_INPUT, step)
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self._tell_owner(order, step)
        await self.audit.record(
            actor_id=partner_id,
            action=f"order.{step}",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )
        return order

    async def confirm(
        self, order_id: int, by: int, rating: Rating, *, may_show: bool | None = None
    ) -> ServiceOrder:
        """The resident (or the worker who ordered for a household) confirms it was done
        and rates it: only now are the points credited, once."""
        order = await self._get(order_id)
        if by not in self._owner(order):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if "confirm" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if order.partner_id in self._owner(order):
            raise PartnerError(PartnerProblem.NOT_ALLOWED)  # no points for one's own order
        moved = await self._move(
            order,
            [OrderState.DONE],
            state=OrderState.CONFIRMED,
            confirmed_at=self.now,
            rating=rating,
            may_show=may_show,
            timer=None,
            due_at=None,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        assert order.partner_id is not None
        points = self.policy.points_for(order.tier)
        self.session.add(
            PointEntry(
                partner_id=order.partner_id,
                community_id=order.community_id,
                order_id=order.id,
                tier=order.tier,
                points=points,
                reason="order",
                at=self.now,
            )
        )
        self.outbox.add(
            [order.partner_id],
            CREDITED,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=order.id,
            points=points,
        )
        await self.audit.record(
            actor_id=by,
            action="order.confirm",
            at=self.now,
            object_type="order",
            object_id=order.id,
            rating=str(rating),
        )
        return order

    async def set_comment(
        self, order_id: int, by: int, comment: str, voice_file_id: str | None = None
    ) -> ServiceOrder:
        """The resident's words on a confirmed order, typed or as a voice note."""
        order = await self._get(order_id)
        if by not in self._owner(order) or order.state != OrderState.CONFIRMED:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if len(comment) > MAX_TEXT or not (comment.strip() or voice_file_id):
            raise PartnerError(PartnerProblem.BAD_INPUT)
        order.comment = comment.strip() or None
        order.comment_voice_file_id = voice_file_id
        return order

    async def relay(
        self, order_id: int, by: int, chat_id: int, message_id: int
    ) -> tuple[ServiceOrder, int]:
        """Pass a message between the partner and whoever ordered, without either
        seeing the other's account: the bot copies it. Returns the order and who gets
        it."""
        order = await self._get(order_id)
        if by == order.partner_id:
            side, to = Side.PARTNER, self._owner(order)
        elif by in self._owner(order):
            side, to = Side.RESIDENT, [order.partner_id] if order.partner_id else []
        else:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if "msg" not in actions(side, order.state) or not to:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        self.outbox.add(
            to,
            RELAY,
            now=self.now,
            lane=Lane.TASK,
            subject_id=order.id,
            chat=chat_id,
            message=message_id,
            side=str(side),
        )
        return order, to[0]

    async def set_showcase(self, order_id: int, by: int, show: bool) -> ServiceOrder:
        """晒单: the resident agrees (or not) that the done order is shown — the skill, the
        partner's photo and first name, never anything of the resident."""
        order = await self._get(order_id)
        if by not in self._owner(order) or "show" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if order.may_show is show:
            # A doubled press: she already said so, and her message already reads so.
            raise PartnerError(PartnerProblem.ALREADY)
        shown_before = bool(order.may_show)
        order.may_show = show
        await self.post_or_withdraw(order, shown_before)
        return order

    async def add_photo(self, order_id: int, partner_id: int, file_id: str) -> ServiceOrder:
        order = await self._get(order_id)
        if order.partner_id != partner_id or "photo" not in actions(Side.PARTNER, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        order.photo_file_id = file_id
        return order

    async def showcase(self, community_id: int, limit: int = 10) -> Sequence[ServiceOrder]:
        """Done orders the resident agreed to show, newest first."""
        stmt = (
            select(ServiceOrder)
            .where(
                ServiceOrder.community_id == community_id,
                ServiceOrder.state == OrderState.CONFIRMED,
                ServiceOrder.may_show.is_(True),
            )
            .order_by(ServiceOrder.confirmed_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def not_done(self, order_id: int, by: int) -> ServiceOrder:
        """The resident says it is not done after all: back to the partner."""
        order = await self._get(order_id)
        if by not in self._owner(order) or "not_done" not in actions(Side.RESIDENT, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        moved = await self._move(
            order,
            [OrderState.DONE],
            state=OrderState.TAKEN,
            done_at=None,
            timer=OrderTimer.CHASE_PARTNER,
            due_at=self.now + self.policy.chase_after,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        assert order.partner_id is not None
        self.outbox.add(
            [order.partner_id],
            CHASE,
            now=self.now,
            lane=Lane.TASK,
            subject_id=order.id,
            why="not_done",
        )
        return order

    async def cancel(
        self, order_id: int, by: int, staffing: Staffing | None = None
    ) -> ServiceOrder:
        order = await self._get(order_id)
        if by in self._owner(order):
            side = Side.RESIDENT
        else:
            problem = may_decide(
                staffing or Staffing(by), await self.hierarchy.get(order.community_id)
            )
            if problem is not None:
                raise PartnerError(problem)
            side = Side.STAFF
        if "cancel" not in actions(side, order.state):
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        partner = order.partner_id
        was_open = order.state in (OrderState.OPEN, OrderState.ASSIGNED)
        moved = await self._move(
            order,
            [order.state],
            state=OrderState.CANCELLED,
            cancelled_at=self.now,
            timer=None,
            due_at=None,
        )
        if not moved:
            raise PartnerError(PartnerProblem.WRONG_STATE, order.state)
        if partner:
            self.outbox.add(
                [partner], ORDER_NEWS, now=self.now, subject_id=order.id, event="cancelled"
            )
        if was_open:
            await self._withdraw_offers(order, why="cancelled")
        if side is Side.STAFF:
            self._tell_owner(order, "cancelled")
        await self.audit.record(
            actor_id=by,
            action="order.cancel",
            at=self.now,
            object_type="order",
            object_id=order.id,
        )
        return order

    async def orders_of(self, user_id: int, *, limit: int = 20) -> Sequence[ServiceOrder]:
        """A resident's orders, or a partner's, newest first."""
        stmt = (
            select(ServiceOrder)
            .where(
                (ServiceOrder.resident_id == user_id)
                | (ServiceOrder.ordered_by == user_id)
                | (ServiceOrder.partner_id == user_id)
            )
            .order_by(ServiceOrder.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def waiting(self, community_id: int, *, limit: int = 50) -> Sequence[ServiceOrder]:
        """A community's orders waiting for a taker, oldest first (the longest wait on top)."""
        stmt = (
            select(ServiceOrder)
            .where(ServiceOrder.community_id == community_id, ServiceOrder.state.in_(WAITING))
            .order_by(ServiceOrder.created_at, ServiceOrder.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def due(self, limit: int = 200) -> list[int]:
        stmt = (
            select(ServiceOrder.id)
            .where(ServiceOrder.due_at <= self.now)
            .order_by(ServiceOrder.due_at)
            .limit(limit)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def fire(self, order_id: int) -> str | None:
        """Fire the order's timer once: the UPDATE that moves it on names the moment it
        was due, so a second process firing the same timer changes nothing."""
        order = await self.order(order_id)
        if order is None or order.due_at is None or order.due_at > self.now:
            return None
        timer, due = order.timer, order.due_at
        after: dict[str, Any]
        if timer == OrderTimer.DISPATCH:
            after = {"timer": None, "due_at": None, "dispatched_at": self.now}
        elif timer in (OrderTimer.CHASE_PARTNER, OrderTimer.CHASE_RESIDENT):
            after = {"timer": OrderTimer.STAFF, "due_at": self.now + self.policy.staff_after}
        else:
            after = {"timer": None, "due_at": None}
        result = await self.session.execute(
            update(ServiceOrder)
            .where(
                ServiceOrder.id == order.id, ServiceOrder.due_at == due, ServiceOrder.timer == timer
            )
            .values(**after)
            .execution_options(synchronize_session=False)
        )
        if not changed(result):
            return None
        await self.session.refresh(order)
        staff = await self.deciders(order.community_id)
        if timer == OrderTimer.DISPATCH:
            self.outbox.add(
                staff, DISPATCH, now=self.now, lane=Lane.TASK, subject_id=order.id, why="nobody"
            )
        elif timer == OrderTimer.CHASE_PARTNER and order.partner_id:
            self.outbox.add(
                [order.partner_id],
                CHASE,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                why="partner",
            )
        elif timer == OrderTimer.CHASE_RESIDENT:
            self.outbox.add(
                self._owner(order),
                CHASE,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=order.id,
                why="resident",
            )
        elif timer == OrderTimer.STAFF:
            self.outbox.add(
                staff, DISPATCH, now=self.now, lane=Lane.TASK, subject_id=order.id, why="stuck"
            )
        return str(timer)
