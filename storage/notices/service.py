"""Sending a notice: one outbox row per recipient, written in the same transaction as the
notice, in the bulk lane (appeal pushes and urgent calls overtake it); pausing, resuming
and cancelling what is still waiting; progress from the outbox itself; acknowledgements,
the one reminder and the grid workers' door-visit lists."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.hierarchy import Node, NodeKind, within_path
from storage.notices.audience import AudienceRole, Recipients, resolve
from storage.notices.models import Notice, NoticeAck, NoticeState
from storage.notices.quiet import choices
from storage.notices.rules import (
    VISITOR,
    Effect,
    NoticeProblem,
    actions,
    causes_now,
    may_still_cause,
    states_causing,
)
from storage.outbox import Lane, OutboxMessage, OutboxRepo
from storage.roles import RoleAssignment, StaffRepo
from storage.users import User

if TYPE_CHECKING:
    from storage.services import Services

COPY = "notice.copy"
PROGRESS = "notice.progress"
REMINDER = "notice.reminder"
VISITS = "notice.visits"
RECALL = "notice.recall"
PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)  # held until resumed
CANCELLED = "cancelled by the sender"
RECALLED = "recalled by the sender"
# The outbox kinds that carry a notice's effects to people, held and dropped with them.
EFFECT_OF = {COPY: Effect.COPY, REMINDER: Effect.REMINDER, VISITS: Effect.VISITS}
CHUNK = 5000  # ids in one statement's IN list


class NoticeError(Exception):
    def __init__(self, problem: NoticeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class NoticeConfig:
    """How long residents have before the one reminder, how long after it before the
    grid workers get their door-visit lists, and the zone quiet hours are read in."""

    remind_after: timedelta = timedelta(hours=24)
    visit_after: timedelta = timedelta(hours=24)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))


@dataclass(frozen=True)
class Plan:
    """Who gets a notice and when: now, after their quiet hours, or not (muted)."""

    recipients: Recipients
    now: list[int]
    later: dict[datetime, list[int]]
    muted: int

    @property
    def count(self) -> int:
        return len(self.now) + sum(len(ids) for ids in self.later.values())

    @property
    def deferred(self) -> int:
        return sum(len(ids) for ids in self.later.values())


SYSTEM = 0  # the author of a notice the bot sends by itself (a council reminder)


@dataclass(frozen=True)
class Content:
    """The officer's message: where it is (to copy it) and its text or caption with the
    formatting entities exactly as Telegram gave them."""

    chat_id: int
    message_id: int
    media: str | None
    body: str
    entities: list[dict[str, Any]]
    venue: dict[str, Any] | None = None  # a map pin to send before a text notice
    file_id: str | None = None  # the media itself, sent again from it


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    waiting: int
    failed: int
    blocked: int
    acked: int
    # Of those waiting, how many wait for their quiet hours to end, and the last end.
    quiet: int = 0
    quiet_until: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.waiting == 0


@dataclass(frozen=True)
class Shown:
    """What the sender's progress message shows, kept as ``Notice.status_shown``: an
    update is owed only when this changes, so two in a row never read the same."""

    state: str
    progress: Progress
    send_at: datetime | None = None
    asking: str | None = None  # the question on it (cancel, recall), until answered

    def encode(self) -> str:
        p = self.progress
        when = int(self.send_at.timestamp()) if self.send_at else 0
        parts = [self.state, *map(str, (p.sent, p.waiting, p.failed, p.blocked, p.acked, when))]
        until = int(p.quiet_until.timestamp()) if p.quiet_until else 0
        extra = [self.asking or "", str(p.quiet or ""), str(until or "")]
        while extra and not extra[-1]:  # what older versions wrote reads the same
            extra.pop()
        return ":".join([*parts, *extra])

    @classmethod
    def decode(cls, text: str) -> Self:
        state, *rest = text.split(":")
        fields = [*rest, *[""] * (9 - len(rest))]
        sent, waiting, failed, blocked, acked, when = (int(x or 0) for x in fields[:6])
        quiet, until = int(fields[7] or 0), int(fields[8] or 0)
        return cls(
            state,
            Progress(
                sent + waiting + failed,
                sent,
                waiting,
                failed,
                blocked,
                acked,
                quiet,
                datetime.fromtimestamp(until, UTC) if until else None,
            ),
            datetime.fromtimestamp(when, UTC) if when else None,
            fields[6] or None,
        )


@dataclass(frozen=True)
class Receipts:
    """Who confirmed a notice: (acknowledged, reached) per grid of its area, counting its
    households, and for everyone else it reached."""

    grids: list[tuple[str, int, int]]  # grid name, acknowledged, reached
    others: tuple[int, int]

    @property
    def acked(self) -> int:
        return sum(a for _, a, _ in self.grids) + self.others[0]

    @property
    def reached(self) -> int:
        return sum(r for _, _, r in self.grids) + self.others[1]


@dataclass(frozen=True)
class Household:
    """One line of a grid worker's door-visit list."""

    user_id: int
    name: str
    building: str
    phone: str | None


class NoticeService:
    def __init__(
        self, session: AsyncSession, now: datetime, config: NoticeConfig | None = None
    ) -> None:
        self.session, self.now = session, now
        self.config = config or NoticeConfig()
        self.outbox = OutboxRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session, services.now(), services.config(NoticeConfig))

    # --- composing and sending --------------------------------------------------------

    async def plan(
        self,
        node: Node,
        roles: Iterable[AudienceRole],
        urgent: bool,
        buildings: Iterable[int] = (),
        author_id: int | None = None,
    ) -> Plan:
        """Who gets it and when; the author (who has the preview) is left out."""
        recipients = await resolve(self.session, node, roles, buildings, leave_out=author_id)
        if urgent:
            return Plan(recipients, list(recipients.user_ids), {}, 0)
        now: list[int] = []
        later: dict[datetime, list[int]] = defaultdict(list)
        muted = 0
        for user_id, choice in (await choices(self.session, recipients.user_ids)).items():
            if choice.muted:
                muted += 1
                continue
            until = choice.quiet_until(self.now, self.config.zone)
            if until is None:
                now.append(user_id)
            else:
                later[until].append(user_id)
        return Plan(recipients, now, dict(later), muted)

    async def send(
        self,
        *,
        author_id: int,
        node: Node,
        roles: Sequence[AudienceRole],
        content: Content,
        title: str | None = None,
        ack: bool = False,
        urgent: bool = False,
        send_at: datetime | None = None,
        buildings: Sequence[int] = (),
        actions: Sequence[tuple[str, str]] = (),
    ) -> Notice:
        plan = await self.plan(node, roles, urgent, buildings, author_id)
        if not plan.count:
            raise NoticeError(NoticeProblem.EMPTY)
        later = send_at is not None and send_at > self.now
        notice = Notice(
            author_id=author_id,
            node_id=node.id,
            audience=",".join(r.value for r in roles),
            buildings=",".join(str(b) for b in sorted(set(buildings))),
            title=title,
            source_chat_id=content.chat_id,
            source_message_id=content.message_id,
            media=content.media,
            file_id=content.file_id,
            body=content.body,
            entities=content.entities,
            venue=content.venue,
            ack_required=ack,
            actions=[[label, data] for label, data in actions],
            urgent=urgent,
            state=NoticeState.SCHEDULED if later else NoticeState.SENDING,
            send_at=send_at if later else None,
            recipients=plan.count,
            blocked=plan.recipients.blocked,
            muted=plan.muted,
            created_at=self.now,
        )
        self.session.add(notice)
        await self.session.flush()
        if not later:
            self._owe(notice, plan)
        return notice

    def _owe(self, notice: Notice, plan: Plan) -> None:
        self.outbox.add(plan.now, COPY, now=self.now, lane=Lane.BULK, subject_id=notice.id)
        for until, user_ids in plan.later.items():
            self.outbox.add(
                user_ids,
                COPY,
                now=self.now,
                lane=Lane.BULK,
                subject_id=notice.id,
                not_before=until,
            )

    async def start_due(self) -> int:
        """Start the scheduled notices whose time has come, each once: the state moves
        from scheduled to sending in one statement, so a second process finds nothing to
        start. The audience is worked out now, as it stands at sending time."""
        due = (
            (
                await self.session.execute(
                    select(Notice.id).where(
                        Notice.state == NoticeState.SCHEDULED, Notice.send_at <= self.now
                    )
                )
            )
            .scalars()
            .all()
        )
        started = 0
        for notice_id in due:
            claimed = await self.session.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.state == NoticeState.SCHEDULED)
                .values(state=NoticeState.SENDING)
            )
            if not getattr(claimed, "rowcount", 0):
                continue
            notice = await self.session.get(Notice, notice_id, populate_existing=True)
            node = await self.session.get(Node, notice.node_id) if notice else None
            if notice is None or node is None:
                continue
            roles = [AudienceRole(r) for r in notice.roles]
            plan = await self.plan(
                node, roles, notice.urgent, notice.building_ids, notice.author_id
            )
            notice.recipients = plan.count
            notice.blocked, notice.muted = plan.recipients.blocked, plan.muted
            self._owe(notice, plan)
            started += 1
        return started

    async def reschedule(self, notice: Notice, send_at: datetime) -> None:
        if notice.state == NoticeState.SCHEDULED:
            notice.send_at = send_at

    async def get(self, notice_id: int) -> Notice | None:
        return await self.session.get(Notice, notice_id)

    async def pause(self, notice: Notice) -> None:
        if notice.state == NoticeState.SENDING:
            notice.state = NoticeState.PAUSED
            await self._settle_owed(notice)

    async def resume(self, notice: Notice) -> None:
        if notice.state == NoticeState.PAUSED:
            notice.state = NoticeState.SENDING
            await self._settle_owed(notice)

    def ask(self, notice: Notice, question: str | None) -> bool:
        """Put a question (cancel, recall) on the progress message, or take it off once
        answered: it stays through the progress updates until then. False when the
        message shows that already (a double tap)."""
        if notice.asking == question:
            return False
        notice.asking = question
        if notice.status_shown:
            shown = Shown.decode(notice.status_shown)
            notice.status_shown = replace(shown, asking=question).encode()
        return True

    async def cancel(self, notice: Notice) -> int:
        """Stop what has not gone out yet (and the reminder and door-visit lists); what
        was sent stays sent."""
        if notice.state in (NoticeState.DONE, NoticeState.CANCELLED, NoticeState.RECALLED):
            return 0
        notice.state = NoticeState.CANCELLED
        notice.finished_at = self.now
        notice.asking = None
        return (await self._settle_owed(notice))[COPY]

    async def _settle_owed(self, notice: Notice) -> dict[str, int]:
        """Make what the outbox still owes about a notice agree with what its state may
        cause (``rules``): dropped for good, held until resumed, or owed again (after
        each person's quiet hours). Says how many messages of each kind it dropped."""
        dropped: dict[str, int] = {}
        for kind, effect in EFFECT_OF.items():
            dropped[kind] = 0
            if not may_still_cause(notice.state, effect):
                reason = RECALLED if notice.state == NoticeState.RECALLED else CANCELLED
                dropped[kind] = await self.outbox.withdraw(kind, notice.id, self.now, reason)
            elif not causes_now(notice.state, effect):
                await self.outbox.hold(kind, notice.id, PAUSED_UNTIL)
            else:
                await self._release(notice, kind)
        return dropped

    async def _release(self, notice: Notice, kind: str) -> None:
        """Owe again what a pause held: now, or once the person's quiet hours end (a
        notice resumed at night still waits for the morning)."""
        held = (
            OutboxMessage.kind == kind,
            OutboxMessage.subject_id == notice.id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.claimed_at.is_(None),
            OutboxMessage.not_before >= PAUSED_UNTIL,
        )
        if notice.urgent or kind == VISITS:  # door-visit lists are work, not notices
            await self.session.execute(
                update(OutboxMessage).where(*held).values(not_before=self.now)
            )
            return
        found = await self.session.execute(select(OutboxMessage.user_id).where(*held))
        user_ids = [int(u) for u in found.scalars()]
        when: dict[datetime, list[int]] = defaultdict(list)
        for user_id, choice in (await choices(self.session, user_ids)).items():
            when[choice.quiet_until(self.now, self.config.zone) or self.now].append(user_id)
        for moment, ids in when.items():
            for start in range(0, len(ids), CHUNK):
                await self.session.execute(
                    update(OutboxMessage)
                    .where(*held, OutboxMessage.user_id.in_(ids[start : start + CHUNK]))
                    .values(not_before=moment)
                )

    async def resend_failed(self, notice: Notice) -> int:
        """Send again to those it failed for (not to those who blocked the bot)."""
        blocked = select(User.id).where(User.blocked_at.is_not(None))
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == COPY,
                OutboxMessage.subject_id == notice.id,
                OutboxMessage.failed_at.is_not(None),
                OutboxMessage.user_id.not_in(blocked),
            )
            .values(failed_at=None, error=None, attempts=0, not_before=self.now)
        )
        again = int(getattr(result, "rowcount", 0) or 0)
        if again:
            notice.state = NoticeState.SENDING
            notice.finished_at = None
        return again

    async def recall(self, notice: Notice) -> int:
        """Delete it, and its reminder, from every chat they reached (within Telegram's 48
        hours); what has not gone out yet, the reminder and the door-visit lists are
        given up."""
        notice.state, notice.asking = NoticeState.RECALLED, None
        await self._settle_owed(notice)
        sent = (
            await self.session.execute(
                select(OutboxMessage.user_id, OutboxMessage.message_id)
                .where(
                    OutboxMessage.kind.in_([COPY, REMINDER]),
                    OutboxMessage.subject_id == notice.id,
                    OutboxMessage.message_id.is_not(None),
                )
                .order_by(OutboxMessage.id)
            )
        ).all()
        for user_id, message_id in sent:
            self.outbox.add(
                [user_id],
                RECALL,
                now=self.now,
                lane=Lane.BULK,
                subject_id=notice.id,
                message_id=int(message_id or 0),
            )
        notice.finished_at = notice.finished_at or self.now
        return len(sent)

    # --- progress -----------------------------------------------------------------------

    async def progress(self, notice: Notice) -> Progress:
        counts = await self.outbox.counts(COPY, notice.id)
        blocked = await self.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(User, User.id == OutboxMessage.user_id)
            .where(
                OutboxMessage.kind == COPY,
                OutboxMessage.subject_id == notice.id,
                OutboxMessage.failed_at.is_not(None),
                User.blocked_at.is_not(None),
            )
        )
        acked = await self.session.scalar(
            select(func.count()).select_from(NoticeAck).where(NoticeAck.notice_id == notice.id)
        )
        quiet, until = (
            await self.session.execute(
                select(func.count(), func.max(OutboxMessage.not_before)).where(
                    OutboxMessage.kind == COPY,
                    OutboxMessage.subject_id == notice.id,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.claimed_at.is_(None),
                    OutboxMessage.not_before > self.now,
                    OutboxMessage.not_before < PAUSED_UNTIL,  # held by a pause, not quiet
                )
            )
        ).one()
        return Progress(
            total=counts["total"],
            sent=counts["sent"],
            waiting=counts["waiting"] + counts["in_flight"],
            failed=counts["failed"] - int(blocked or 0),
            blocked=int(blocked or 0),
            acked=int(acked or 0),
            quiet=int(quiet or 0),
            quiet_until=until if quiet else None,
        )

    async def refresh_progress(self) -> int:
        """For every notice still moving: finish it once nothing is owed, and owe its
        author an updated progress message when the figures changed (never per
        recipient, never an unchanged one)."""
        stmt = select(Notice).where(
            or_(
                Notice.state.in_([NoticeState.SCHEDULED, NoticeState.SENDING, NoticeState.PAUSED]),
                and_(Notice.finished_at.is_not(None), Notice.finished_at >= self.now - _ACKS),
            )
        )
        queued = 0
        for notice in (await self.session.execute(stmt)).scalars():
            progress = await self.progress(notice)
            if notice.state == NoticeState.SENDING and progress.finished:
                notice.state = NoticeState.DONE
                notice.finished_at = self.now
            if notice.asking and notice.asking not in actions(
                notice.state, progress.failed, notice.created_at, self.now
            ):
                notice.asking = None  # nothing left to ask about (it finished meanwhile)
            shown = Shown(notice.state, progress, notice.send_at, notice.asking).encode()
            if notice.author_id == SYSTEM and shown != notice.status_shown:
                notice.status_shown = shown  # the bot wrote it by itself: nobody to report to
            elif shown != notice.status_shown:
                notice.status_shown = shown
                self.outbox.add(
                    [notice.author_id],
                    PROGRESS,
                    now=self.now,
                    lane=Lane.TASK,
                    subject_id=notice.id,
                    shown=shown,
                )
                queued += 1
        return queued

    async def progress_message_id(self, notice: Notice) -> int | None:
        """The progress message already in the author's chat, to edit rather than add."""
        return await self.session.scalar(
            select(OutboxMessage.message_id)
            .where(
                OutboxMessage.kind == PROGRESS,
                OutboxMessage.subject_id == notice.id,
                OutboxMessage.message_id.is_not(None),
            )
            .order_by(OutboxMessage.id)
            .limit(1)
        )

    # --- acknowledgements ----------------------------------------------------------------

    async def was_sent_to(self, notice_id: int, user_id: int) -> bool:
        found = await self.session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == COPY,
                OutboxMessage.subject_id == notice_id,
                OutboxMessage.user_id == user_id,
                OutboxMessage.sent_at.is_not(None),
            )
        )
        return found is not None

    async def acknowledge(self, notice_id: int, user_id: int) -> bool | NoticeProblem:
        """True for a new acknowledgement, False if already given; a problem for someone
        the notice did not reach (a forged press) or a notice that takes no more
        receipts (cancelled, recalled)."""
        notice = await self.get(notice_id)
        if notice is None or not notice.ack_required:
            return NoticeProblem.NOT_FOUND
        if not await self.was_sent_to(notice_id, user_id):
            return NoticeProblem.NOT_ALLOWED
        if not causes_now(notice.state, Effect.RECEIPT):
            return NoticeProblem.STOPPED
        if await self.session.get(NoticeAck, (notice_id, user_id)) is not None:
            return False
        self.session.add(NoticeAck(notice_id=notice_id, user_id=user_id, acked_at=self.now))
        await self.session.flush()
        return True

    async def acked(self, notice_id: int, user_id: int) -> bool:
        return await self.session.get(NoticeAck, (notice_id, user_id)) is not None

    async def unacknowledged(self, notice: Notice) -> list[int]:
        """Residents it reached who have not pressed 已收到."""
        acks = select(NoticeAck.user_id).where(NoticeAck.notice_id == notice.id)
        stmt = select(OutboxMessage.user_id).where(
            OutboxMessage.kind == COPY,
            OutboxMessage.subject_id == notice.id,
            OutboxMessage.sent_at.is_not(None),
            OutboxMessage.user_id.not_in(acks),
        )
        return [int(u) for u in (await self.session.execute(stmt)).scalars()]

    async def receipts(self, notice: Notice) -> Receipts:
        """Who confirmed it, in parts that add up to everyone it reached: the households
        of each grid of its area (those its door-visit lists are about), then everyone
        else (staff, and people living outside the area)."""
        reached = set(
            (
                await self.session.execute(
                    select(OutboxMessage.user_id).where(
                        OutboxMessage.kind == COPY,
                        OutboxMessage.subject_id == notice.id,
                        OutboxMessage.sent_at.is_not(None),
                    )
                )
            ).scalars()
        )
        acked = reached & set(
            (
                await self.session.execute(
                    select(NoticeAck.user_id).where(NoticeAck.notice_id == notice.id)
                )
            ).scalars()
        )
        households = await self._reached_by_grid(notice)
        grids: list[tuple[str, int, int]] = []
        rest = set(reached)
        for grid in await self._grids(notice):
            ids = {h.user_id for h in households.get(grid.id, [])}
            if ids:
                grids.append((grid.name, len(ids & acked), len(ids)))
                rest -= ids
        return Receipts(grids, (len(rest & acked), len(rest)))

    async def remind_due(self) -> int:
        """One reminder to those who have not acknowledged, ``remind_after`` on."""
        stmt = select(Notice).where(
            Notice.ack_required.is_(True),
            Notice.state.in_(states_causing(Effect.REMINDER)),
            Notice.reminded_at.is_(None),
            Notice.created_at <= self.now - self.config.remind_after,
        )
        done = 0
        for notice in (await self.session.execute(stmt)).scalars():
            notice.reminded_at = self.now
            waiting = await self.unacknowledged(notice)
            await self._owe_quietly(waiting, REMINDER, notice)
            done += 1
        return done

    async def _owe_quietly(self, user_ids: list[int], kind: str, notice: Notice) -> None:
        """Owe ``kind`` about a notice, after each person's quiet hours unless urgent."""
        if notice.urgent:
            self.outbox.add(user_ids, kind, now=self.now, lane=Lane.BULK, subject_id=notice.id)
            return
        for user_id, choice in (await choices(self.session, user_ids)).items():
            self.outbox.add(
                [user_id],
                kind,
                now=self.now,
                lane=Lane.BULK,
                subject_id=notice.id,
                not_before=choice.quiet_until(self.now, self.config.zone),
            )

    async def visits_due(self) -> int:
        """``visit_after`` the reminder, each grid worker is owed her list of households
        still unacknowledged (worked out when it is sent, so late presses drop out)."""
        stmt = select(Notice).where(
            Notice.reminded_at.is_not(None),
            Notice.visits_sent_at.is_(None),
            Notice.state.in_(states_causing(Effect.VISITS)),
            Notice.reminded_at <= self.now - self.config.visit_after,
        )
        done = 0
        for notice in (await self.session.execute(stmt)).scalars():
            notice.visits_sent_at = self.now
            waiting = set(await self.unacknowledged(notice))
            by_grid = await self._reached_by_grid(notice)
            staff = StaffRepo(self.session)
            for grid_id, households in by_grid.items():
                if not any(h.user_id in waiting for h in households):
                    continue
                workers = await staff.holders(VISITOR, [grid_id])
                self.outbox.add(
                    workers,
                    VISITS,
                    now=self.now,
                    lane=Lane.STATUS,
                    subject_id=notice.id,
                    grid_id=grid_id,
                )
            done += 1
        return done

    async def door_visits(self, notice: Notice, grid_id: int) -> list[Household]:
        waiting = set(await self.unacknowledged(notice))
        households = (await self._reached_by_grid(notice)).get(grid_id, [])
        return [h for h in households if h.user_id in waiting]

    async def _grids(self, notice: Notice) -> list[Node]:
        node = await self.session.get(Node, notice.node_id)
        if node is None:
            return []
        if node.node_kind is NodeKind.GRID:
            return [node]
        stmt = select(Node).where(Node.kind == NodeKind.GRID, within_path(Node.path, node.path))
        grids = (await self.session.execute(stmt)).scalars().all()
        return sorted(grids, key=lambda g: natural(g.name))

    async def _reached_by_grid(self, notice: Notice) -> dict[int, list[Household]]:
        """Residents the notice reached, by the grid of their building."""
        building = Node.__table__.alias("building")
        stmt = (
            select(User, building.c.name, building.c.parent_id)
            .join(building, building.c.id == User.building_id)
            .join(
                OutboxMessage,
                and_(
                    OutboxMessage.user_id == User.id,
                    OutboxMessage.kind == COPY,
                    OutboxMessage.subject_id == notice.id,
                    OutboxMessage.sent_at.is_not(None),
                ),
            )
            .where(User.id.not_in(_STAFF))  # households, not colleagues
        )
        grouped: dict[int, list[Household]] = defaultdict(list)
        for user, building_name, grid_id in (await self.session.execute(stmt)).all():
            grouped[int(grid_id)].append(
                Household(user.id, user.display_name, building_name, user.phone)
            )
        for households in grouped.values():
            households.sort(key=lambda h: (natural(h.building), h.user_id))
        return dict(grouped)

    # --- the archive ---------------------------------------------------------------------

    async def archive(self, scopes: Sequence[Node | None], limit: int = 20) -> list[Notice]:
        stmt = select(Notice).order_by(Notice.id.desc()).limit(limit)
        if None not in scopes:
            paths = [n.path for n in scopes if n is not None]
            if not paths:
                return []
            stmt = stmt.join(Node, Node.id == Notice.node_id).where(
                or_(*(within_path(Node.path, p) for p in paths))
            )
        return list((await self.session.execute(stmt)).scalars())

    async def visited(self, grids: Sequence[Node], limit: int = 20) -> list[Notice]:
        """The notices whose door-visit lists went out to any of ``grids`` (a notice to
        a grid or any node above it), newest first: a grid worker's lists."""
        if not grids:
            return []
        above = {i for g in grids for i in g.ancestor_ids()}
        stmt = (
            select(Notice)
            .where(Notice.visits_sent_at.is_not(None), Notice.node_id.in_(above))
            .order_by(Notice.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def grids(self, notice: Notice) -> list[Node]:
        """The grids of a notice's area, in the order people count them."""
        return await self._grids(notice)


def natural(name: str) -> list[tuple[int, int | str]]:
    """Sort key that puts 第2网格 before 第10网格 and 2号楼 before 10号楼."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


_STAFF = select(RoleAssignment.user_id).where(RoleAssignment.revoked_at.is_(None))
_ACKS = timedelta(days=3)  # a finished notice's message keeps counting 已收到 this long
