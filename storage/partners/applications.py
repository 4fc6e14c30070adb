"""Joining: applications (自荐) and the decisions on them, suspension, recruitment calls
(招募令) with their quota and deadline, and nominations (公推)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from storage.hierarchy import Node, NodeKind
from storage.outbox import Lane, OutboxMessage
from storage.partners.base import PartnerBase, changed
from storage.partners.drafts import (
    Application,
    CallDraft,
    CallFigures,
)
from storage.partners.kinds import (
    APPLICATION,
    APPLICATION_DECIDED,
    CALL_CLOSED,
    DECISION,
    MAX_NAME,
    MAX_TEXT,
    NOMINATED,
    NOMINATION,
)
from storage.partners.models import (
    CallState,
    Nomination,
    Origin,
    Partner,
    PartnerState,
    RecruitmentCall,
)
from storage.partners.rules import (
    DECIDERS,
    PartnerError,
    PartnerPolicy,
    PartnerProblem,
    may_decide,
)
from storage.roles import Staffing
from storage.users import User


class Applications(PartnerBase):
    async def apply(self, user: User, application: Application) -> Partner:
        community = await self.community_of(user.building_id)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        _check_application(application, self.policy)
        partner = await self.partner(user.id)
        if partner is not None and partner.state != PartnerState.REJECTED:
            raise PartnerError(PartnerProblem.ALREADY, partner.state)
        call = None
        if application.call_id is not None:
            call = await self.open_call(application.call_id)
            if call.community_id != community.id:
                raise PartnerError(PartnerProblem.NOT_ALLOWED, "another community's call")
        if partner is None:
            partner = Partner(user_id=user.id, created_at=self.now)
            self.session.add(partner)
        partner.community_id = community.id
        partner.real_name = application.real_name.strip()
        partner.phone = application.phone
        partner.skills = list(application.skills)
        partner.availability = list(application.availability)
        partner.intro = application.intro.strip()
        partner.certificate_file_id = application.certificate_file_id
        partner.state = PartnerState.PENDING
        partner.reason = None
        partner.available = True
        partner.call_id = call.id if call else None
        partner.nominated_by = application.nominated_by
        partner.origin = (
            Origin.CALL if call else Origin.NOMINATED if application.nominated_by else Origin.SELF
        )
        await self.session.flush()
        if application.nominated_by is not None:
            await self.session.execute(
                update(Nomination)
                .where(Nomination.nominee_id == user.id, Nomination.state == "open")
                .values(state="applied")
                .execution_options(synchronize_session=False)
            )
        if call is not None and (await self.call_figures(call)).applied >= call.quota:
            await self._close_call(call)
        self.outbox.add(
            await self.deciders(community.id),
            APPLICATION,
            now=self.now,
            lane=Lane.TASK,
            subject_id=user.id,
        )
        await self.audit.record(
            actor_id=user.id,
            action="partner.apply",
            at=self.now,
            object_type="partner",
            object_id=user.id,
        )
        return partner

    async def decide(
        self, staffing: Staffing, user_id: int, *, approve: bool, reason: str = ""
    ) -> Partner:
        partner = await self.partner(user_id)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(partner.community_id))
        if problem is not None:
            raise PartnerError(problem)
        reason = reason.strip()
        if not approve and not reason:
            raise PartnerError(PartnerProblem.BAD_INPUT, "a rejection needs a reason")
        target = PartnerState.APPROVED if approve else PartnerState.REJECTED
        result = await self.session.execute(
            update(Partner)
            .where(Partner.user_id == user_id, Partner.state == PartnerState.PENDING)
            .values(
                state=target,
                reason=reason or None,
                decided_at=self.now,
                decided_by=staffing.user_id,
            )
            .execution_options(synchronize_session=False)
        )
        if not changed(result):
            raise PartnerError(PartnerProblem.ALREADY, partner.state)
        await self.session.refresh(partner)
        self.outbox.add([user_id], DECISION, now=self.now, lane=Lane.TASK, subject_id=user_id)
        await self._close_cards(user_id)
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.approve" if approve else "partner.reject",
            at=self.now,
            object_type="partner",
            object_id=user_id,
            reason=reason or None,
        )
        return partner

    async def _close_cards(self, user_id: int) -> None:
        """Every staff member who was sent this application's card (since the last
        decision on it: an earlier application's cards keep their own result) gets it
        edited to the decision, without its buttons."""
        decided_before = await self.session.scalar(
            select(func.max(OutboxMessage.id)).where(
                OutboxMessage.kind == APPLICATION_DECIDED, OutboxMessage.subject_id == user_id
            )
        )
        since = int(decided_before or 0)
        holders = await self.session.execute(
            select(OutboxMessage.user_id)
            .where(
                OutboxMessage.kind == APPLICATION,
                OutboxMessage.subject_id == user_id,
                OutboxMessage.id > since,
                OutboxMessage.message_id.is_not(None),
            )
            .distinct()
        )
        self.outbox.add(
            sorted(int(u) for u in holders.scalars().all()),
            APPLICATION_DECIDED,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=user_id,
            since=since,
        )

    async def suspend(self, staffing: Staffing, user_id: int, reason: str) -> Partner:
        return await self._switch(
            staffing, user_id, PartnerState.APPROVED, PartnerState.SUSPENDED, reason
        )

    async def reinstate(self, staffing: Staffing, user_id: int) -> Partner:
        return await self._switch(
            staffing, user_id, PartnerState.SUSPENDED, PartnerState.APPROVED, ""
        )

    async def _switch(
        self, staffing: Staffing, user_id: int, before: str, after: str, reason: str
    ) -> Partner:
        partner = await self.partner(user_id)
        if partner is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        problem = may_decide(staffing, await self.hierarchy.get(partner.community_id))
        if problem is not None:
            raise PartnerError(problem)
        if after == PartnerState.SUSPENDED and not reason.strip():
            raise PartnerError(PartnerProblem.BAD_INPUT, "a suspension needs a reason")
        if partner.state != before:
            raise PartnerError(PartnerProblem.WRONG_STATE, partner.state)
        partner.state = after
        partner.reason = reason.strip() or None
        partner.decided_at, partner.decided_by = self.now, staffing.user_id
        self.outbox.add(
            [user_id],
            DECISION,
            now=self.now,
            lane=Lane.TASK,
            subject_id=user_id,
            reinstated=after == PartnerState.APPROVED,
        )
        await self.audit.record(
            actor_id=staffing.user_id,
            action=f"partner.{'suspend' if after == PartnerState.SUSPENDED else 'reinstate'}",
            at=self.now,
            object_type="partner",
            object_id=user_id,
            reason=reason.strip() or None,
        )
        return partner

    async def set_available(self, user_id: int, available: bool) -> Partner:
        partner = await self.partner(user_id)
        if partner is None or partner.state != PartnerState.APPROVED:
            raise PartnerError(PartnerProblem.NOT_PARTNER)
        partner.available = available
        return partner

    async def applications(self, staffing: Staffing) -> Sequence[Partner]:
        """Pending applications in the communities this person decides for."""
        communities = [n for n in staffing.scopes(DECIDERS)]
        stmt = select(Partner).where(Partner.state == PartnerState.PENDING)
        rows = (await self.session.execute(stmt.order_by(Partner.created_at))).scalars().all()
        out = []
        for partner in rows:
            node = await self.hierarchy.get(partner.community_id)
            if node is not None and any(c is None or node.is_within(c) for c in communities):
                out.append(partner)
        return out

    async def create_call(
        self, staffing: Staffing, community: Node, draft: CallDraft
    ) -> RecruitmentCall:
        """The call itself; the chat layer sends it out as a notice to the community's
        residents with a 我要报名 button and records the notice on it."""
        problem = may_decide(staffing, community)
        if problem is None and community.node_kind is not NodeKind.COMMUNITY:
            problem = PartnerProblem.NOT_ALLOWED
        if problem is not None:
            raise PartnerError(problem)
        title = draft.title.strip()
        if (
            not title
            or len(title) > 80
            or len(draft.description) > MAX_TEXT
            or not 1 <= draft.quota <= 1000
            or draft.deadline <= self.now
            or any(s not in self.policy.skills for s in draft.skills)
        ):
            raise PartnerError(PartnerProblem.BAD_INPUT)
        call = RecruitmentCall(
            community_id=community.id,
            title=title,
            description=draft.description.strip(),
            skills=list(draft.skills),
            quota=draft.quota,
            deadline=draft.deadline,
            state=CallState.OPEN,
            created_by=staffing.user_id,
            created_at=self.now,
        )
        self.session.add(call)
        await self.session.flush()
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.call",
            at=self.now,
            object_type="recruitment_call",
            object_id=call.id,
            quota=draft.quota,
        )
        return call

    async def open_call(self, call_id: int) -> RecruitmentCall:
        """The call, if one may still answer it."""
        call = await self.session.get(RecruitmentCall, call_id)
        if call is None:
            raise PartnerError(PartnerProblem.NOT_FOUND)
        if call.state != CallState.OPEN or call.deadline <= self.now:
            raise PartnerError(PartnerProblem.CLOSED)
        if (await self.call_figures(call)).applied >= call.quota:
            raise PartnerError(PartnerProblem.CLOSED)
        return call

    async def call_figures(self, call: RecruitmentCall) -> CallFigures:
        rows = (
            await self.session.execute(
                select(Partner.state, func.count())
                .where(
                    Partner.call_id == call.id,
                    Partner.state.in_([PartnerState.PENDING, PartnerState.APPROVED]),
                )
                .group_by(Partner.state)
            )
        ).all()
        counts = {str(state): int(n) for state, n in rows}
        return CallFigures(call, sum(counts.values()), counts.get(PartnerState.APPROVED, 0))

    async def calls(self, community_id: int, limit: int = 5) -> list[CallFigures]:
        stmt = (
            select(RecruitmentCall)
            .where(RecruitmentCall.community_id == community_id)
            .order_by(RecruitmentCall.id.desc())
            .limit(limit)
        )
        return [await self.call_figures(c) for c in (await self.session.execute(stmt)).scalars()]

    async def _close_call(self, call: RecruitmentCall) -> bool:
        result = await self.session.execute(
            update(RecruitmentCall)
            .where(RecruitmentCall.id == call.id, RecruitmentCall.state == CallState.OPEN)
            .values(state=CallState.CLOSED, closed_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if not changed(result):
            return False
        await self.session.refresh(call)
        if call.created_by:
            self.outbox.add(
                [call.created_by],
                CALL_CLOSED,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=call.id,
            )
        return True

    async def close_due_calls(self) -> int:
        """Calls whose deadline passed close, each once (across processes too)."""
        due = (
            (
                await self.session.execute(
                    select(RecruitmentCall).where(
                        RecruitmentCall.state == CallState.OPEN,
                        RecruitmentCall.deadline <= self.now,
                    )
                )
            )
            .scalars()
            .all()
        )
        return sum([await self._close_call(call) for call in due])

    async def nominate(
        self,
        by: User,
        staffing: Staffing,
        *,
        nominee_id: int | None,
        nominee_name: str,
        building: Node | None,
        reason: str,
    ) -> Nomination:
        """``nominee_id`` when picked with the chat's user picker, else a name and a
        building. The community is the nominee's (by their building) or the
        nominator's."""
        name = nominee_name.strip()
        if not name or len(name) > MAX_NAME or len(reason) > MAX_TEXT:
            raise PartnerError(PartnerProblem.BAD_INPUT)
        if nominee_id is not None and nominee_id == by.id:
            raise PartnerError(PartnerProblem.BAD_INPUT, "nobody nominates themselves")
        nominee = await self.session.get(User, nominee_id) if nominee_id else None
        home = building or (
            await self.hierarchy.get(nominee.building_id)
            if nominee is not None and nominee.building_id
            else None
        )
        community = await self.community_of(home.id if home else by.building_id)
        if community is None:
            scopes = [n for n in staffing.scopes(DECIDERS) if n is not None]
            community = next((n for n in scopes if n.node_kind is NodeKind.COMMUNITY), None)
        if community is None:
            raise PartnerError(PartnerProblem.NOT_RESIDENT)
        mine = await self.community_of(by.building_id)
        if (mine is None or mine.id != community.id) and may_decide(staffing, community):
            raise PartnerError(PartnerProblem.NOT_ALLOWED, "only neighbours and its staff")
        existing = await self.partner(nominee_id) if nominee_id else None
        if existing is not None and existing.state in (PartnerState.PENDING, PartnerState.APPROVED):
            raise PartnerError(PartnerProblem.ALREADY)
        nomination = Nomination(
            community_id=community.id,
            nominee_id=nominee_id,
            nominee_name=name,
            building_id=home.id if home and home.node_kind is NodeKind.BUILDING else None,
            reason=reason.strip(),
            by_id=by.id,
            state="open",
            created_at=self.now,
        )
        self.session.add(nomination)
        await self.session.flush()
        if nominee is not None and nominee.blocked_at is None:
            self.outbox.add(
                [nominee.id],
                NOMINATED,
                now=self.now,
                lane=Lane.STATUS,
                subject_id=nomination.id,
            )
        self.outbox.add(
            await self.deciders(community.id),
            NOMINATION,
            now=self.now,
            lane=Lane.STATUS,
            subject_id=nomination.id,
        )
        await self.audit.record(
            actor_id=by.id,
            action="partner.nominate",
            at=self.now,
            object_type="nomination",
            object_id=nomination.id,
        )
        return nomination

    async def nomination_for(self, nomination_id: int, user_id: int) -> Nomination:
        """The open nomination of this user (a forged press on someone else's is refused)."""
        nomination = await self.session.get(Nomination, nomination_id)
        if nomination is None or nomination.nominee_id != user_id:
            raise PartnerError(PartnerProblem.NOT_ALLOWED)
        if nomination.state != "open":
            raise PartnerError(PartnerProblem.ALREADY)
        return nomination

    async def decline_nomination(self, nomination_id: int, user_id: int) -> Nomination:
        nomination = await self.nomination_for(nomination_id, user_id)
        nomination.state = "declined"
        return nomination


def _check_application(application: Application, policy: PartnerPolicy) -> None:
    name = application.real_name.strip()
    if not name or len(name) > MAX_NAME:
        raise PartnerError(PartnerProblem.BAD_INPUT, "name")
    if not application.phone:
        raise PartnerError(PartnerProblem.BAD_INPUT, "phone")
    if not application.skills or any(s not in policy.skills for s in application.skills):
        raise PartnerError(PartnerProblem.BAD_INPUT, "skills")
    if len(application.intro) > MAX_TEXT:
        raise PartnerError(PartnerProblem.BAD_INPUT, "intro")
