"""The desk's reads of appeals: the command centre's live queue, the counts above it,
when it next changes by the clock alone, and one appeal by an id from a URL. Each takes
the person's grants and returns nothing outside their scope, by the scope rule the chat
uses (``rules.may_handle``: a grant's node and everything below it).

An appeal asked for by id is read through ``staff_appeal``: out of scope reads exactly
as an id that does not exist. The chat's presses read it through ``storage.scope``
(``Scoped.appeal``), which is this rule plus the resident's own and followed appeals;
the desk is for staff only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.models import OPEN_STATES, Appeal, AppealEvent, Level, State
from storage.appeals.rules import Action, refusal
from storage.hierarchy import NodeKind, within_path
from storage.roles import Role, Staffing

MAX_ID = 2**31 - 1  # ids are 32-bit; a bigger number from a URL is simply not found

_ROLE_LEVEL = {
    Role.WORKER: Level.GRID,
    Role.COMMUNITY_STAFF: Level.COMMUNITY,
    Role.STREET_STAFF: Level.STREET,
    Role.DISTRICT_STAFF: Level.DISTRICT,
}
_NODE_LEVEL = {
    NodeKind.GRID: Level.GRID,
    NodeKind.COMMUNITY: Level.COMMUNITY,
    NodeKind.STREET: Level.STREET,
    NodeKind.DISTRICT: Level.DISTRICT,
}


def scope_paths(staffing: Staffing) -> list[str] | None:
    """The subtrees the person's grants cover (None: everywhere, a global admin)."""
    paths = []
    for grant in staffing.grants:
        if grant.node is None:
            return None
        paths.append(grant.node.path)
    return paths


def in_scope(staffing: Staffing) -> ColumnElement[bool]:
    paths = scope_paths(staffing)
    if paths is None:
        return true()
    if not paths:
        return false()
    return or_(*(within_path(Appeal.scope_path, p) for p in paths))


def desk_level(staffing: Staffing) -> Level | None:
    """The highest level the person acts at: what "escalated to this level" counts."""
    order = list(Level)
    best: Level | None = None
    for grant in staffing.grants:
        if grant.role is Role.ADMIN:
            level = Level.DISTRICT if grant.node is None else _NODE_LEVEL.get(grant.node.node_kind)
        else:
            level = _ROLE_LEVEL.get(grant.role)
        if level is not None and (best is None or order.index(level) > order.index(best)):
            best = level
    return best


async def staff_appeal(session: AsyncSession, staffing: Staffing, appeal_id: int) -> Appeal | None:
    """The appeal ``appeal_id`` if the person may open it (the chat's ``Action.OPEN``
    rule), else None, as for an id that does not exist."""
    if not 0 < appeal_id <= MAX_ID:
        return None
    appeal = await session.get(Appeal, appeal_id)
    return appeal if refusal(Action.OPEN, appeal, staffing) is None else None


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; every field optional."""

    level: Level | None = None
    category: str | None = None
    grid_id: int | None = None
    state: State | None = None
    urgent: bool = False
    called_up: bool = False
    reopened: bool = False

    def clauses(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.level is not None:
            where.append(Appeal.level == self.level)
        if self.category is not None:
            where.append(Appeal.category == self.category)
        if self.grid_id is not None:
            where.append(Appeal.grid_id == self.grid_id)
        if self.state is not None:
            where.append(Appeal.state == self.state)
        if self.urgent:
            where.append(Appeal.urgent.is_(True))
        if self.reopened:
            where.append(Appeal.reopened.is_(True))
        if self.called_up:
            where.append(
                exists().where(AppealEvent.appeal_id == Appeal.id, AppealEvent.kind == "called_up")
            )
        return where


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int  # past the promise (or, without one, the handling window) now
    waiting: int  # not accepted yet
    at_level: int  # held at the person's own level (escalated or called up to it)


class DeskQueue:
    """Every open appeal in the person's scope, the most urgent first: overdue ones (by
    how long), then by the time left to the promise."""

    def __init__(self, session: AsyncSession, staffing: Staffing, now: datetime) -> None:
        self.session = session
        self.staffing = staffing
        self.now = now

    def _where(self, narrowed: QueueFilter) -> ColumnElement[bool]:
        return and_(Appeal.state.in_(OPEN_STATES), in_scope(self.staffing), *narrowed.clauses())

    async def page(
        self, narrowed: QueueFilter, *, offset: int = 0, limit: int = 50
    ) -> Sequence[Appeal]:
        stmt = (
            select(Appeal)
            .where(self._where(narrowed))
            .order_by(Appeal.deadline_at.asc().nulls_last(), Appeal.id)
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def counts(self, narrowed: QueueFilter) -> QueueCounts:
        level = desk_level(self.staffing)
        at_level = (
            Appeal.level == level if level is not None and level is not Level.GRID else false()
        )
        stmt = select(
            func.count(),
            func.coalesce(func.sum(case((Appeal.deadline_at <= self.now, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Appeal.state == State.SUBMITTED, 1), else_=0)), 0),
            func.coalesce(func.sum(case((at_level, 1), else_=0)), 0),
        ).where(self._where(narrowed))
        total, overdue, waiting, here = (await self.session.execute(stmt)).one()
        return QueueCounts(int(total), int(overdue), int(waiting), int(here))

    async def next_due(self) -> datetime | None:
        """The next moment an open appeal in scope turns overdue by the clock alone."""
        stmt = select(func.min(Appeal.deadline_at)).where(
            self._where(QueueFilter()), Appeal.deadline_at > self.now
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None
