"""Appeals (诉求): filing, the state machine, deadlines and escalation (下呼上应).

Every transition is recorded as an event with who, when and a note, and what people must
be told goes into the outbox in the same transaction. Concurrent changes to one appeal
(two workers pressing accept at once, two bot processes sweeping deadlines) are settled
by the version column: the second writer gets ``AppealError(CONFLICT)`` and changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import (
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.models import (
    MAX_CHANNEL_TEXT,
    MAX_PHOTOS,
    MAX_TEXT,
    OPEN_STATES,
    UNACCEPTED,
    WORKING,
    Appeal,
    AppealError,
    AppealEvent,
    AppealFollower,
    AppealMedia,
    Draft,
    Level,
    Problem,
    Rating,
    State,
    Timeline,
    Timer,
)
from storage.appeals.policy import AppealPolicy
from storage.appeals.rules import (
    SAME_MATTER_WITHIN,
    Action,
    ResidentAction,
    refusal,
    resident_refusal,
    same_matter,
)
from storage.hierarchy import HierarchyRepo, Node, NodeKind, within_path
from storage.outbox import Lane, OutboxRepo

if TYPE_CHECKING:
    from storage.services import Services
from storage.roles import ROLE_SCOPE, Role, Staffing, StaffRepo


class AppealService:
    def __init__(self, session: AsyncSession, policy: AppealPolicy, now: datetime) -> None:
        self.session = session
        self.policy = policy
        self.now = now
        self.outbox = OutboxRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session, services.config(AppealPolicy), services.now())

    # --- reading --------------------------------------------------------------------

    async def get(self, appeal_id: int) -> Appeal:
        appeal = await self.session.get(Appeal, appeal_id)
        if appeal is None:
            raise AppealError(Problem.NOT_FOUND)
        return appeal

    async def timeline(self, appeal_id: int) -> Timeline:
        appeal = await self.get(appeal_id)
        events = (
            (
                await self.session.execute(
                    select(AppealEvent)
                    .where(AppealEvent.appeal_id == appeal_id)
                    .order_by(AppealEvent.id)
                )
            )
            .scalars()
            .all()
        )
        media = (
            (
                await self.session.execute(
                    select(AppealMedia)
                    .where(AppealMedia.appeal_id == appeal_id)
                    .order_by(AppealMedia.id)
                )
            )
            .scalars()
            .all()
        )
        return Timeline(appeal, events, media)

    async def of_resident(
        self, resident_id: int, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[Appeal], int]:
        where = Appeal.resident_id == resident_id
        return await self._page(where, (Appeal.id.desc(),), offset, limit)

    async def similar_open(self, building_id: int, category: str) -> Sequence[Appeal]:
        return (
            (
                await self.session.execute(
                    select(Appeal)
                    .where(
                        Appeal.building_id == building_id,
                        Appeal.category == category,
                        Appeal.state.in_(OPEN_STATES),
                    )
                    .order_by(Appeal.id.desc())
                    .limit(5)
                )
            )
            .scalars()
            .all()
        )

    async def same_matter(self, resident_id: int, category: str, text: str) -> Appeal | None:
        """The resident's own open appeal of the same category and words, filed within
        SAME_MATTER_WITHIN: asked about before a second one is filed."""
        recent = (
            await self.session.execute(
                select(Appeal)
                .where(
                    Appeal.resident_id == resident_id,
                    Appeal.category == category,
                    Appeal.state.in_(OPEN_STATES),
                    Appeal.submitted_at >= self.now - SAME_MATTER_WITHIN,
                )
                .order_by(Appeal.id.desc())
                .limit(10)
            )
        ).scalars()
        return next((a for a in recent if same_matter(a, resident_id, category, text)), None)

    async def tasks(
        self, staffing: Staffing, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[Appeal], int]:
        """Open appeals a staff member should act on, overdue first, then by the promise.

        Grid workers see their grid's appeals held at the grid; staff of a community,
        street or district see what is held at their level or above within their area
        (escalated or called up to them). Everyone sees what they own, wherever it is
        held."""
        clauses: list[ColumnElement[bool]] = [Appeal.owner_id == staffing.user_id]
        for grant in staffing.grants:
            if grant.role is Role.ADMIN and grant.node is None:
                clauses.append(Appeal.id.is_not(None))
                continue
            if grant.node is None:
                continue
            in_area = within_path(Appeal.scope_path, grant.node.path)
            kind = ROLE_SCOPE.get(grant.role)
            if grant.role is Role.ADMIN or kind is None:
                clauses.append(in_area)
            else:
                levels = _levels_from(Level(kind.value))
                clauses.append(and_(in_area, Appeal.level.in_(levels)))
        where = and_(Appeal.state.in_(OPEN_STATES), or_(*clauses))
        return await self._page(where, (Appeal.deadline_at, Appeal.id), offset, limit)

    async def _page(
        self, where: ColumnElement[bool], order: tuple[Any, ...], offset: int, limit: int
    ) -> tuple[Sequence[Appeal], int]:
        """One page of appeals and how many there are in all."""
        stmt = select(Appeal).where(where).order_by(*order).offset(offset).limit(limit)
        rows = (await self.session.execute(stmt)).scalars().all()
        count = select(func.count()).select_from(Appeal).where(where)
        return rows, int((await self.session.execute(count)).scalar_one())

    async def level_staff(self, appeal: Appeal, level: Level | None = None) -> list[int]:
        level = level or appeal.level_enum
        return await StaffRepo(self.session).holders(
            level.staff_role, [appeal.level_node_id(level)]
        )

    async def audience(self, appeal: Appeal) -> list[int]:
        """The resident and the followers: who hears about every state change."""
        followers = (
            (
                await self.session.execute(
                    select(AppealFollower.user_id).where(AppealFollower.appeal_id == appeal.id)
                )
            )
            .scalars()
            .all()
        )
        ids = [appeal.resident_id] if appeal.resident_id else []
        return ids + [int(f) for f in followers if f != appeal.resident_id]

    async def _tell_audience(self, appeal: Appeal, event: str, *, but: int | None = None) -> None:
        """The resident and followers hear of every state change in plain words (``but``:
        whoever caused it and was answered on the spot)."""
        self.outbox.add(
            [u for u in await self.audience(appeal) if u != but],
            "appeal.status",
            now=self.now,
            subject_id=appeal.id,
            event=event,
        )

    def _push_task(self, staff: list[int], appeal: Appeal, reason: str) -> None:
        self.outbox.add(
            staff,
            "appeal.task",
            now=self.now,
            lane=Lane.URGENT if appeal.urgent else Lane.TASK,
            subject_id=appeal.id,
            reason=reason,
        )

    def _remind(self, staff: list[int], appeal: Appeal, deadline: str) -> None:
        self.outbox.add(
            staff,
            "appeal.reminder",
            now=self.now,
            lane=Lane.URGENT if appeal.urgent else Lane.TASK,
            subject_id=appeal.id,
            deadline=deadline,
        )

    # --- resident actions ------------------------------------------------------------

    async def file(
        self, resident_id: int | None, building: Node, draft: Draft, *, channel: str | None = None
    ) -> Appeal:
        """File the resident's appeal. The same form confirmed twice (``draft.key``) files
        it once: the second time returns the appeal already filed.

        An appeal from another channel (``channel``: its name, for the history) has no
        resident. When its address matched no building, ``building`` is the community,
        street or district the address named (or the channel's node): the appeal waits
        there, held by that level's staff, to be placed by hand (待定位, by passing it
        on to a grid)."""
        if draft.key is not None:
            existing = await self.by_draft(draft.key)
            if existing is not None:
                if existing.resident_id != resident_id:
                    raise AppealError(Problem.NOT_ALLOWED)
                return existing
        unplaced = building.node_kind in _UNPLACED_KINDS and channel is not None
        if building.node_kind is not NodeKind.BUILDING and not unplaced:
            raise AppealError(Problem.BAD_INPUT, "not a building")
        if resident_id is None and channel is None:
            raise AppealError(Problem.BAD_INPUT, "no resident")
        if not draft.urgent and self.policy.category(draft.category) is None:
            raise AppealError(Problem.BAD_INPUT, "unknown category")
        if not draft.urgent and not draft.text.strip() and not draft.voice_file_id:
            raise AppealError(Problem.BAD_INPUT, "text or voice needed")
        if len(draft.photos) > MAX_PHOTOS:
            raise AppealError(Problem.TOO_MANY_PHOTOS)
        chain = await HierarchyRepo(self.session).chain(building)
        # Levels below an unplaced appeal's node are that node itself: it is held there.
        grid = chain.get(NodeKind.GRID, building)
        community = chain.get(NodeKind.COMMUNITY, building)
        street = chain.get(NodeKind.STREET, building)
        level = _UNPLACED_KINDS.get(building.node_kind, Level.GRID) if unplaced else Level.GRID
        deadlines = self.policy.deadlines(draft.category, urgent=draft.urgent)
        now = self.now
        appeal = Appeal(
            resident_id=resident_id,
            building_id=None if unplaced else building.id,
            grid_id=grid.id,
            community_id=community.id,
            street_id=street.id,
            district_id=chain[NodeKind.DISTRICT].id,
            scope_path=grid.path,
            category=draft.category,
            text=_text(draft.text, MAX_TEXT if channel is None else MAX_CHANNEL_TEXT),
            latitude=draft.latitude,
            longitude=draft.longitude,
            anonymous=draft.anonymous,
            urgent=draft.urgent,
            contact_phone=draft.contact_phone,
            state=State.SUBMITTED,
            level=level,
            submitted_at=now,
            first_accept_due=now + deadlines.accept,
            first_resolve_due=now + deadlines.resolve,
            feedback_due=now + deadlines.feedback,
            window_due=now + deadlines.accept,
            escalations=0,
            reopened=False,
            draft_key=draft.key,
        )
        self.session.add(appeal)
        await self.session.flush()
        event = await self._event(
            appeal, resident_id, "submitted", None, State.SUBMITTED, channel=channel
        )
        for file_id in draft.photos:
            self._media(appeal, event, "photo", file_id, resident_id)
        if draft.voice_file_id:
            self._media(appeal, event, "voice", draft.voice_file_id, resident_id)
        self._schedule(appeal)
        recipients = await self.level_staff(appeal)
        if appeal.urgent:
            # 一键呼叫: every worker of the grid and the community staff at once.
            recipients += [
                u for u in await self.level_staff(appeal, Level.COMMUNITY) if u not in recipients
            ]
        self._push_task(recipients, appeal, "urgent" if appeal.urgent else "new")
        # What the resident is told is owed in the same transaction: a crash after the
        # commit still tells them, and a second confirm finds the appeal above.
        if resident_id is not None:
            self.outbox.add(
                [resident_id],
                "appeal.filed",
                now=now,
                lane=Lane.URGENT if appeal.urgent else Lane.TASK,
                subject_id=appeal.id,
            )
        await self.session.flush()
        return appeal

    async def by_draft(self, key: str) -> Appeal | None:
        stmt = select(Appeal).where(Appeal.draft_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def follow(self, appeal_id: int, user_id: int) -> Appeal:
        appeal = await self.get(appeal_id)
        if not appeal.is_open:
            raise AppealError(Problem.WRONG_STATE)
        exists = await self.session.get(AppealFollower, (appeal_id, user_id))
        if exists is None and appeal.resident_id != user_id:
            self.session.add(AppealFollower(appeal_id=appeal_id, user_id=user_id, at=self.now))
            await self._event(appeal, user_id, "followed", None, None)
        await self.session.flush()
        return appeal

    async def cancel(self, appeal_id: int, resident_id: int) -> Appeal:
        appeal = await self._as_resident(ResidentAction.CANCEL, appeal_id, resident_id)
        await self._transition(
            appeal, resident_id, "cancelled", State.CANCELLED, closed_at=self.now
        )
        staff = await self.level_staff(appeal)
        self.outbox.add(staff, "appeal.cancelled", now=self.now, subject_id=appeal.id)
        return appeal

    async def add_details(
        self,
        appeal_id: int,
        resident_id: int,
        *,
        text: str = "",
        photos: Sequence[str] = (),
        voice_file_id: str | None = None,
    ) -> Appeal:
        appeal = await self._as_resident(ResidentAction.ADD_DETAILS, appeal_id, resident_id)
        if not text.strip() and not photos and not voice_file_id:
            raise AppealError(Problem.BAD_INPUT)
        existing = await self._photo_count(appeal.id)
        if existing + len(photos) > MAX_PHOTOS:
            raise AppealError(Problem.TOO_MANY_PHOTOS)
        event = await self._event(
            appeal, resident_id, "details", None, None, note=_text(text) or None
        )
        for file_id in photos:
            self._media(appeal, event, "photo", file_id, resident_id)
        if voice_file_id:
            self._media(appeal, event, "voice", voice_file_id, resident_id)
        recipients = [appeal.owner_id] if appeal.owner_id else await self.level_staff(appeal)
        self.outbox.add(
            recipients,
            "appeal.details",
            now=self.now,
            lane=Lane.TASK,
            subject_id=appeal.id,
            event_id=event.id,
        )
        await self.session.flush()
        return appeal

    async def rate(
        self, appeal_id: int, resident_id: int | None, rating: Rating, comment: str | None = None
    ) -> Appeal:
        """``resident_id`` None: the channel that filed an appeal with no resident relays
        its caller's rating, which counts as a resident's.

        满意 and 基本满意 close the appeal. The first 不满意 reopens it: back to its owner
        with the level above them watching, their card waiting briefly for the resident's
        reason. A second 不满意 closes it as unsatisfied and tells the supervising level."""
        appeal = await self._as_resident(ResidentAction.RATE, appeal_id, resident_id)
        comment = _text(comment or "") or None
        appeal.rating, appeal.rating_comment, appeal.rated_at = rating, comment, self.now
        await self._event(
            appeal,
            resident_id,
            "rated",
            State.RESOLVED,
            State.RATED,
            note=comment,
            rating=rating.value,
        )
        if rating is Rating.UNSATISFIED and not appeal.reopened:
            up = _level_above_owner(appeal)
            deadlines = self.policy.deadlines(appeal.category, urgent=False)
            await self._transition(
                appeal,
                resident_id,
                "reopened",
                State.REOPENED,
                reopened=True,
                level=up,
                window_due=self.now + deadlines.resolve,
                resolved_at=None,
                rating=None,
                note=comment,
            )
            recipients = ([appeal.owner_id] if appeal.owner_id else []) + await self.level_staff(
                appeal, up
            )
            self.outbox.add(
                recipients,
                "appeal.task",
                now=self.now,
                lane=Lane.TASK,
                subject_id=appeal.id,
                not_before=None if comment else self.now + self.policy.reason_wait,
                reason="reopened",
            )
            await self._tell_audience(appeal, "reopened", but=resident_id)
            return appeal
        if rating is Rating.UNSATISFIED:
            await self._transition(
                appeal, resident_id, "closed", State.CLOSED, closed_at=self.now, unsatisfied=True
            )
            supervising = appeal.level_enum if appeal.level_enum is not Level.GRID else None
            supervisors = await self.level_staff(appeal, supervising or _level_above_owner(appeal))
            self._push_task(
                [*([appeal.owner_id] if appeal.owner_id else []), *supervisors],
                appeal,
                "closed_unsatisfied",
            )
            await self._tell_audience(appeal, "closed_unsatisfied", but=resident_id)
            return appeal
        await self._transition(appeal, resident_id, "closed", State.CLOSED, closed_at=self.now)
        if appeal.owner_id:
            self.outbox.add(
                [appeal.owner_id],
                "appeal.rated",
                now=self.now,
                subject_id=appeal.id,
                rating=rating.value,
            )
        return appeal

    async def set_rating_comment(self, appeal_id: int, resident_id: int, comment: str) -> Appeal:
        appeal = await self._as_resident(ResidentAction.COMMENT, appeal_id, resident_id)
        if not comment.strip():
            raise AppealError(Problem.BAD_INPUT)
        appeal.rating_comment = _text(comment)
        await self._event(appeal, resident_id, "comment", None, None, note=appeal.rating_comment)
        await self.release_reason_wait(appeal.id)
        await self.session.flush()
        return appeal

    async def release_reason_wait(self, appeal_id: int) -> int:
        """The resident gave their reason (or chose not to): the reopened card goes now."""
        return await self.outbox.release("appeal.task", appeal_id, self.now)

    # --- staff actions ---------------------------------------------------------------

    async def accept(self, appeal_id: int, staffing: Staffing) -> Appeal:
        appeal = await self._as_staff(Action.ACCEPT, appeal_id, staffing)
        in_time = (
            self.now <= appeal.first_accept_due
            if appeal.accepted_in_time is None
            else appeal.accepted_in_time
        )
        await self._transition(
            appeal,
            staffing.user_id,
            "accepted",
            State.ACCEPTED,
            owner_id=staffing.user_id,
            accepted_at=appeal.accepted_at or self.now,
            accepted_in_time=in_time,
            window_due=self._work_window(appeal),
        )
        if appeal.level_enum is not Level.GRID:
            # The rest of the level that held it hears who took it.
            others = [u for u in await self.level_staff(appeal) if u != staffing.user_id]
            self._remind(others, appeal, "taken")
        await self._tell_audience(appeal, "accepted")
        return appeal

    async def assign(
        self, appeal_id: int, staffing: Staffing, worker_id: int, window: timedelta
    ) -> Appeal:
        """指派: the level holding the appeal hands it to a worker of its grid, who owns it
        from now on with ``window`` to resolve it; that level keeps supervising."""
        appeal = await self._as_staff(Action.ASSIGN, appeal_id, staffing)
        workers = await self.level_staff(appeal, Level.GRID)
        if worker_id not in workers or worker_id == appeal.owner_id:
            raise AppealError(Problem.BAD_INPUT, "not a worker of the grid")
        if window <= timedelta(0):
            raise AppealError(Problem.BAD_INPUT, "no time to do it")
        in_time = (
            self.now <= appeal.first_accept_due
            if appeal.accepted_in_time is None
            else appeal.accepted_in_time
        )
        await self._transition(
            appeal,
            staffing.user_id,
            "assigned",
            State.ACCEPTED if appeal.state == State.SUBMITTED else None,
            owner_id=worker_id,
            accepted_at=appeal.accepted_at or self.now,
            accepted_in_time=in_time,
            window_due=self.now + window,
            to_user=worker_id,
        )
        self._push_task([worker_id], appeal, "assigned")
        await self._tell_audience(appeal, "assigned")
        return appeal

    async def supervise(self, appeal_id: int, staffing: Staffing, note: str) -> Appeal:
        """督办: a supervisor of the level holding the appeal urges its owner with a note.
        The appeal stays where it is; the owner gets the note with the card, and the
        history keeps it."""
        appeal = await self._as_staff(Action.SUPERVISE, appeal_id, staffing)
        if not note.strip():
            raise AppealError(Problem.BAD_INPUT)
        assert appeal.owner_id is not None  # the rule refuses an appeal nobody owns
        event = await self._event(
            appeal, staffing.user_id, "supervised", None, None, note=_text(note)
        )
        self.outbox.add(
            [appeal.owner_id],
            "appeal.reminder",
            now=self.now,
            lane=Lane.URGENT if appeal.urgent else Lane.TASK,
            subject_id=appeal.id,
            deadline="supervised",
            event_id=event.id,
        )
        await self.session.flush()
        return appeal

    def _work_window(self, appeal: Appeal) -> datetime:
        """Once accepted: the resolve promise at the grid; a level that took over an
        escalated appeal gets at least the work window of its own."""
        deadlines = self.policy.deadlines(appeal.category, urgent=appeal.urgent)
        return max(appeal.first_resolve_due, self.now + deadlines.work_window)

    async def progress(
        self, appeal_id: int, staffing: Staffing, note: str, photos: Sequence[str] = ()
    ) -> Appeal:
        appeal = await self._as_staff(Action.PROGRESS, appeal_id, staffing)
        if not note.strip() and not photos:
            raise AppealError(Problem.BAD_INPUT)
        if await self._photo_count(appeal.id) + len(photos) > 3 * MAX_PHOTOS:
            raise AppealError(Problem.TOO_MANY_PHOTOS)
        await self._transition(
            appeal,
            staffing.user_id,
            "progress",
            State.IN_PROGRESS,
            note=_text(note) or None,
            photos=photos,
        )
        await self._tell_audience(appeal, "progress")
        return appeal

    async def resolve(
        self, appeal_id: int, staffing: Staffing, note: str, photos: Sequence[str] = ()
    ) -> Appeal:
        appeal = await self._as_staff(Action.RESOLVE, appeal_id, staffing)
        if not note.strip():
            raise AppealError(Problem.BAD_INPUT)
        in_time = (
            self.now <= appeal.first_resolve_due
            if appeal.resolved_in_time is None
            else appeal.resolved_in_time
        )
        await self._transition(
            appeal,
            staffing.user_id,
            "resolved",
            State.RESOLVED,
            resolved_at=self.now,
            resolved_in_time=in_time,
            result_note=_text(note),
            note=_text(note),
            photos=photos,
        )
        await self._tell_audience(appeal, "resolved")
        return appeal

    async def reject(
        self, appeal_id: int, staffing: Staffing, reason: str, duplicate_of: int | None = None
    ) -> Appeal:
        appeal = await self._as_staff(Action.REJECT, appeal_id, staffing)
        if duplicate_of is not None:
            original = await self.session.get(Appeal, duplicate_of)
            if original is None or original.id == appeal.id:
                raise AppealError(Problem.BAD_INPUT, "no such appeal")
        if not reason.strip():
            raise AppealError(Problem.BAD_INPUT)
        await self._transition(
            appeal,
            staffing.user_id,
            "rejected",
            State.REJECTED,
            closed_at=self.now,
            note=_text(reason),
            duplicate_of=duplicate_of,
        )
        if duplicate_of is not None and appeal.resident_id is not None:
            original = await self.get(duplicate_of)
            # A finished original has nothing more to report: following it would fail.
            if original.is_open:
                await self.follow(duplicate_of, appeal.resident_id)
        await self._tell_audience(appeal, "rejected")
        return appeal

    async def call_up(self, appeal_id: int, staffing: Staffing, reason: str) -> Appeal:
        """下呼上应 by hand: the next level takes over, with the reason."""
        appeal = await self._as_staff(Action.CALL_UP, appeal_id, staffing)
        if not reason.strip():
            raise AppealError(Problem.BAD_INPUT)
        up = appeal.level_enum.up
        assert up is not None  # the rule refuses a call-up from the top level
        deadlines = self.policy.deadlines(appeal.category, urgent=appeal.urgent)
        left_grid = appeal.level_enum is Level.GRID
        grid_workers = await self.level_staff(appeal, Level.GRID) if left_grid else []
        await self._transition(
            appeal,
            staffing.user_id,
            "called_up",
            State.SUBMITTED,
            level=up,
            owner_id=None,
            window_due=self.now + deadlines.accept,
            note=_text(reason),
        )
        self._push_task(await self.level_staff(appeal, up), appeal, "called_up")
        if left_grid:
            self._remind([u for u in grid_workers if u != staffing.user_id], appeal, "left")
        await self._tell_audience(appeal, "called_up")
        return appeal

    async def transfer(
        self, appeal_id: int, staffing: Staffing, grid: Node, reason: str = ""
    ) -> Appeal:
        appeal = await self._as_staff(Action.TRANSFER, appeal_id, staffing)
        if grid.node_kind is not NodeKind.GRID or grid.id == appeal.grid_id:
            raise AppealError(Problem.BAD_INPUT, "pick another grid")
        chain = await HierarchyRepo(self.session).chain(grid)
        deadlines = self.policy.deadlines(appeal.category, urgent=appeal.urgent)
        await self._transition(
            appeal,
            staffing.user_id,
            "transferred",
            State.SUBMITTED,
            level=Level.GRID,
            owner_id=None,
            grid_id=grid.id,
            community_id=chain[NodeKind.COMMUNITY].id,
            street_id=chain[NodeKind.STREET].id,
            district_id=chain[NodeKind.DISTRICT].id,
            scope_path=grid.path,
            window_due=self.now + deadlines.accept,
            note=_text(reason) or None,
            to_grid=grid.id,
        )
        self._push_task(await self.level_staff(appeal), appeal, "transferred")
        await self._tell_audience(appeal, "transferred")
        return appeal

    # --- timers -----------------------------------------------------------------------

    async def due(self, limit: int = 100) -> Sequence[int]:
        stmt = (
            select(Appeal.id).where(Appeal.due_at <= self.now).order_by(Appeal.due_at).limit(limit)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def fire(self, appeal_id: int) -> str | None:
        """Run the appeal's due timer, if it is still due. Returns what happened."""
        appeal = await self.session.get(Appeal, appeal_id)
        if appeal is None or appeal.due_at is None or appeal.due_at > self.now:
            return None
        fired_at = appeal.due_at
        kind = Timer(appeal.due_kind) if appeal.due_kind else None
        # After downtime a reminder may come due only once its window has passed too:
        # then the window is what matters.
        missed = appeal.window_missed(self.now)
        if kind is Timer.REMIND_ACCEPT and missed:
            kind = Timer.ESCALATE_ACCEPT
        if kind is Timer.REMIND_RESOLVE and missed:
            kind = Timer.ESCALATE_RESOLVE
        if kind is Timer.REMIND_ACCEPT:
            await self._event(appeal, None, "reminder", None, None, deadline="accept")
            self._remind(await self.level_staff(appeal), appeal, "accept")
        elif kind is Timer.REMIND_RESOLVE:
            await self._event(appeal, None, "reminder", None, None, deadline="resolve")
            self._remind([appeal.owner_id] if appeal.owner_id else [], appeal, "resolve")
        elif kind in (Timer.ESCALATE_ACCEPT, Timer.ESCALATE_RESOLVE):
            await self._escalate(appeal, accept=kind is Timer.ESCALATE_ACCEPT)
        elif kind is Timer.CLOSE_UNRATED:
            await self._transition(
                appeal, None, "closed", State.CLOSED, closed_at=self.now, unrated=True
            )
            await self._tell_audience(appeal, "closed_unrated")
            return kind.value
        if appeal.due_at == fired_at:
            self._schedule(appeal, after=fired_at)
        try:
            await self.session.flush()
        except StaleDataError:
            raise AppealError(Problem.CONFLICT) from None
        return kind.value if kind else None

    async def _escalate(self, appeal: Appeal, *, accept: bool) -> None:
        """下呼上应: the holding level missed its window. The appeal moves one level up,
        which gets a handling window of its own; the promise to the resident stays as it
        was (and the appeal stays overdue until the step happens)."""
        up = appeal.level_enum.up
        deadlines = self.policy.deadlines(appeal.category, urgent=appeal.urgent)
        window = deadlines.accept if accept else deadlines.work_window
        deadline = "accept" if accept else "resolve"
        if up is None:
            # The district is the top: keep reminding its staff each window.
            await self._event(appeal, None, "overdue", None, None, deadline=deadline)
            appeal.window_due = self.now + window
            self._remind(await self.level_staff(appeal), appeal, "overdue")
            return
        left_grid = appeal.level_enum is Level.GRID
        grid_workers = await self.level_staff(appeal) if left_grid else []
        await self._transition(
            appeal,
            None,
            "escalated",
            None,
            deadline=deadline,
            level=up,
            escalations=appeal.escalations + 1,
            window_due=self.now + window,
        )
        self._push_task(await self.level_staff(appeal, up), appeal, "escalated")
        if appeal.owner_id:
            # Supervision (督导督办): the owner keeps the appeal and is reminded.
            self._remind([appeal.owner_id], appeal, "escalated")
        elif grid_workers:
            self._remind(grid_workers, appeal, "left")
        await self._tell_audience(appeal, "escalated")

    def _schedule(self, appeal: Appeal, after: datetime | None = None) -> None:
        """Point ``due_at`` at the next timer of the appeal's current state, and keep the
        sort key of "my tasks" on the promise still to keep."""
        kind, at = None, None
        deadlines = self.policy.deadlines(appeal.category, urgent=appeal.urgent)
        if appeal.state in UNACCEPTED and appeal.window_due is not None:
            kind, at = self._next(
                appeal.window_due,
                Timer.REMIND_ACCEPT,
                Timer.ESCALATE_ACCEPT,
                deadlines.accept_reminder_lead,
                after,
            )
        elif appeal.state in WORKING and appeal.window_due is not None:
            kind, at = self._next(
                appeal.window_due,
                Timer.REMIND_RESOLVE,
                Timer.ESCALATE_RESOLVE,
                deadlines.resolve_reminder_lead,
                after,
            )
        elif appeal.state == State.RESOLVED and appeal.resolved_at is not None:
            kind, at = Timer.CLOSE_UNRATED, appeal.resolved_at + self.policy.rating_window
        appeal.due_kind = kind.value if kind else None
        appeal.due_at = at
        appeal.deadline_at = appeal.pending_due

    def _next(
        self,
        deadline: datetime,
        remind: Timer,
        escalate: Timer,
        lead: timedelta,
        after: datetime | None,
    ) -> tuple[Timer, datetime]:
        remind_at = deadline - lead
        # A reminder still ahead (and not the one that just fired) comes first.
        if remind_at > self.now and (after is None or remind_at > after):
            return remind, remind_at
        return escalate, deadline

    # --- internals --------------------------------------------------------------------

    async def _as_resident(
        self, action: ResidentAction, appeal_id: int, resident_id: int | None
    ) -> Appeal:
        appeal = await self.get(appeal_id)
        problem = resident_refusal(action, appeal, resident_id)
        if problem is not None:
            raise AppealError(problem)
        return appeal

    async def _as_staff(self, action: Action, appeal_id: int, staffing: Staffing) -> Appeal:
        appeal = await self.get(appeal_id)
        problem = refusal(action, appeal, staffing)
        if problem is not None:
            raise AppealError(problem)
        return appeal

    async def _photo_count(self, appeal_id: int) -> int:
        stmt = (
            select(func.count())
            .select_from(AppealMedia)
            .where(AppealMedia.appeal_id == appeal_id, AppealMedia.kind == "photo")
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def _transition(
        self,
        appeal: Appeal,
        actor_id: int | None,
        kind: str,
        to_state: State | None,
        *,
        note: str | None = None,
        photos: Sequence[str] = (),
        **changes: Any,
    ) -> AppealEvent:
        data: dict[str, Any] = {
            k: changes.pop(k)
            for k in ("to_grid", "deadline", "unrated", "unsatisfied", "to_user")
            if k in changes
        }
        if "duplicate_of" in changes:
            data["duplicate_of"] = changes["duplicate_of"]
        from_state = appeal.state
        for name, value in changes.items():
            setattr(appeal, name, value)
        if to_state is not None:
            appeal.state = to_state
        self._schedule(appeal)
        # Write the appeal first: the version check decides whether this change happened.
        try:
            await self.session.flush()
        except StaleDataError:
            raise AppealError(Problem.CONFLICT) from None
        event = await self._event(appeal, actor_id, kind, from_state, to_state, note=note, **data)
        for file_id in photos:
            self._media(appeal, event, "photo", file_id, actor_id)
        return event

    async def _event(
        self,
        appeal: Appeal,
        actor_id: int | None,
        kind: str,
        from_state: str | None,
        to_state: str | None,
        *,
        note: str | None = None,
        **data: Any,
    ) -> AppealEvent:
        event = AppealEvent(
            appeal_id=appeal.id,
            at=self.now,
            actor_id=actor_id,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            level=appeal.level,
            note=note,
            data={k: v for k, v in data.items() if v is not None},
        )
        self.session.add(event)
        await self.session.flush()
        return event

    def _media(
        self, appeal: Appeal, event: AppealEvent, kind: str, file_id: str, actor_id: int | None
    ) -> None:
        self.session.add(
            AppealMedia(
                appeal_id=appeal.id,
                event_id=event.id,
                kind=kind,
                file_id=file_id,
                added_by=actor_id,
                at=self.now,
            )
        )


# Where an appeal whose address matched no building waits, and the level holding it.
_UNPLACED_KINDS = {
    NodeKind.COMMUNITY: Level.COMMUNITY,
    NodeKind.STREET: Level.STREET,
    NodeKind.DISTRICT: Level.DISTRICT,
}


def _levels_from(level: Level) -> list[str]:
    order = list(Level)
    return [lv.value for lv in order[order.index(level) :]]


def _level_above_owner(appeal: Appeal) -> Level:
    return appeal.level_enum.up or appeal.level_enum


def _text(value: str, limit: int = MAX_TEXT) -> str:
    """What a person wrote, stripped; refused rather than cut when too long."""
    text = value.strip()
    if len(text) > limit:
        raise AppealError(Problem.TOO_LONG, f"{len(text)} > {limit}")
    return text
