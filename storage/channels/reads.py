"""What a channel reads back: appeals of its node (by the denormalized column of the
node's level, so a district's first page comes straight from an index), each with its
latest step, its place at building level and, only for the channel that filed it, the
caller's own words. Never a person's name, phone or id.

Without a key only what the public page shows is read: finished appeals, no place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.models import OPEN_STATES, Appeal, AppealEvent, Level, State
from storage.appeals.public import public_clause
from storage.channels.models import BuildingPoint, Channel, ChannelAppeal
from storage.hierarchy import Node, NodeKind

MAX_ID = 2**31 - 1
DEFAULT_WINDOW = timedelta(days=90)
MAX_ROWS = 1000
CLOSED_STATES = tuple(s for s in State if s not in OPEN_STATES)

# An appeal's steps as GeoReport updates (mySociety's servicerequestupdates); the other
# events (reminders, details, comments) change nothing a channel mirrors.
UPDATE_STATUS = {
    "submitted": "open",
    "accepted": "in_progress",
    "assigned": "in_progress",
    "progress": "in_progress",
    "escalated": "internal_referral",
    "called_up": "internal_referral",
    "transferred": "internal_referral",
    "resolved": "fixed",
    "rated": "closed",
    "closed": "closed",
    "rejected": "no_further_action",
    "cancelled": "closed",
    "reopened": "reopened",
}
# Events whose note was written for the person who called (the outcome, a reason): read
# back only by the channel that filed the appeal, as the caller's own words are.
NOTE_EVENTS = frozenset({"resolved", "rejected", "progress"})


# What a record needs of an appeal: a page of 1,000 loads no more than this.
READ_COLUMNS = (
    Appeal.id,
    Appeal.category,
    Appeal.state,
    Appeal.level,
    Appeal.text,
    Appeal.building_id,
    Appeal.grid_id,
    Appeal.community_id,
    Appeal.street_id,
    Appeal.district_id,
    Appeal.latitude,
    Appeal.longitude,
    Appeal.submitted_at,
    Appeal.first_accept_due,
    Appeal.first_resolve_due,
)


@dataclass(frozen=True, slots=True)
class AppealView:
    """What a record reads of an appeal, as plain values: a page of 1,000 builds no ORM
    instances (and so no identity map, nor the garbage they leave)."""

    id: int
    category: str
    state: str
    level: str
    text: str
    building_id: int | None
    grid_id: int
    community_id: int
    street_id: int
    district_id: int
    latitude: float | None
    longitude: float | None
    submitted_at: datetime
    first_accept_due: datetime
    first_resolve_due: datetime

    @property
    def number(self) -> str:
        return f"{self.id:06d}"

    def level_node_id(self) -> int:
        return {
            Level.GRID: self.grid_id,
            Level.COMMUNITY: self.community_id,
            Level.STREET: self.street_id,
            Level.DISTRICT: self.district_id,
        }[Level(self.level)]


def status_of(appeal: Appeal | AppealView) -> str:
    return "open" if appeal.state in OPEN_STATES else "closed"


@dataclass(frozen=True)
class RequestFilter:
    ids: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()  # "open" / "closed"
    page: int = 1
    page_size: int = MAX_ROWS


@dataclass(frozen=True)
class RequestRow:
    appeal: AppealView
    latest_kind: str  # the latest event's kind: status_notes in words
    updated_at: datetime
    filed_here: ChannelAppeal | None  # set when the reading channel filed it
    channel_name: str | None  # the channel that filed it (any), for the history
    places: tuple[Node, ...]  # district … building (or the node it waits at)
    holder: Node | None  # the node of the level holding it
    point: tuple[float, float] | None

    @property
    def building(self) -> Node | None:
        last = self.places[-1] if self.places else None
        return last if last is not None and last.node_kind is NodeKind.BUILDING else None


def scope_clause(node: Node | None) -> ColumnElement[bool]:
    """A key's node: its own level's column. None: the public reads finished appeals."""
    if node is None:
        return public_clause()
    column = {
        NodeKind.DISTRICT: Appeal.district_id,
        NodeKind.STREET: Appeal.street_id,
        NodeKind.COMMUNITY: Appeal.community_id,
        NodeKind.GRID: Appeal.grid_id,
    }[node.node_kind]
    return column == node.id


async def requests(
    session: AsyncSession, node: Node | None, query: RequestFilter, now: datetime
) -> list[AppealView]:
    """One page of the appeals the key's node (or the public) may read, newest first.
    Ids asked for by number override every other filter, as the spec says."""
    where: list[ColumnElement[bool]] = [scope_clause(node)]
    if query.ids:
        where.append(Appeal.id.in_([i for i in query.ids if 0 < i <= MAX_ID]))
    else:
        end = query.end or now
        start = query.start or end - DEFAULT_WINDOW
        where += [Appeal.submitted_at >= start, Appeal.submitted_at <= end]
        if query.codes:
            where.append(Appeal.category.in_(query.codes))
        states: list[str] = []
        if "open" in query.statuses:
            states += OPEN_STATES
        if "closed" in query.statuses:
            states += CLOSED_STATES
        if query.statuses:
            where.append(Appeal.state.in_(states))
    size = max(1, min(query.page_size, MAX_ROWS))
    stmt = (
        select(*READ_COLUMNS)
        .where(and_(*where))
        .order_by(Appeal.submitted_at.desc(), Appeal.id.desc())
        .offset((max(query.page, 1) - 1) * size)
        .limit(size)
    )
    return [AppealView(**row._mapping) for row in (await session.execute(stmt)).all()]


async def request(session: AsyncSession, node: Node | None, appeal_id: int) -> AppealView | None:
    """One appeal by the number from the URL, or None outside what the key may read
    (the same answer as a number that does not exist)."""
    if not 0 < appeal_id <= MAX_ID:
        return None
    stmt = select(*READ_COLUMNS).where(Appeal.id == appeal_id, scope_clause(node))
    row = (await session.execute(stmt)).first()
    return AppealView(**row._mapping) if row is not None else None


async def rows(
    session: AsyncSession, appeals: Sequence[AppealView], channel: Channel | None
) -> list[RequestRow]:
    """The appeals with what their records need, in a fixed number of queries."""
    if not appeals:
        return []
    ids = [a.id for a in appeals]
    # The latest state change and the latest event of each, in one pass over the index.
    touched: dict[int, datetime] = {}
    latest_ids: list[int] = []
    for appeal_id, at, latest_id in (
        await session.execute(
            select(
                AppealEvent.appeal_id,
                func.max(AppealEvent.at),
                func.max(AppealEvent.id).filter(AppealEvent.kind.in_(list(UPDATE_STATUS))),
            )
            .where(AppealEvent.appeal_id.in_(ids))
            .group_by(AppealEvent.appeal_id)
        )
    ).all():
        touched[appeal_id] = at
        if latest_id is not None:
            latest_ids.append(latest_id)
    latest: dict[int, str] = (
        {
            appeal_id: kind
            for appeal_id, kind in (
                await session.execute(
                    select(AppealEvent.appeal_id, AppealEvent.kind).where(
                        AppealEvent.id.in_(latest_ids)
                    )
                )
            ).all()
        }
        if latest_ids
        else {}
    )
    filed = {
        ca.appeal_id: (ca, name)
        for ca, name in (
            await session.execute(
                select(ChannelAppeal, Channel.name)
                .join(Channel, Channel.id == ChannelAppeal.channel_id)
                .where(ChannelAppeal.appeal_id.in_(ids))
            )
        ).all()
    }
    node_ids: set[int] = set()
    for a in appeals:
        node_ids.update((a.district_id, a.street_id, a.community_id, a.grid_id))
        if a.building_id:
            node_ids.add(a.building_id)
        node_ids.add(a.level_node_id())
    nodes = {
        n.id: n
        for n in (await session.execute(select(Node).where(Node.id.in_(node_ids)))).scalars()
    }
    buildings = [a.building_id for a in appeals if a.building_id and a.latitude is None]
    points = (
        {
            p.building_id: (p.latitude, p.longitude)
            for p in (
                await session.execute(
                    select(BuildingPoint).where(BuildingPoint.building_id.in_(buildings))
                )
            ).scalars()
        }
        if buildings
        else {}
    )
    reader = channel.id if channel is not None else None
    out = []
    for a in appeals:
        chain: list[Node] = []
        for nid in (a.district_id, a.street_id, a.community_id, a.building_id):
            n = nodes.get(nid) if nid else None
            if n is not None and n not in chain:
                chain.append(n)
        ca, name = filed.get(a.id, (None, None))
        if a.latitude is not None and a.longitude is not None:
            point: tuple[float, float] | None = (a.latitude, a.longitude)
        else:
            point = points.get(a.building_id) if a.building_id else None
        out.append(
            RequestRow(
                appeal=a,
                latest_kind=latest.get(a.id, "submitted"),
                updated_at=touched.get(a.id, a.submitted_at),
                filed_here=ca if ca is not None and ca.channel_id == reader else None,
                channel_name=name,
                places=tuple(chain),
                holder=nodes.get(a.level_node_id()),
                point=point,
            )
        )
    return out


@dataclass(frozen=True)
class UpdateRow:
    event: AppealEvent
    status: str
    appeal: Appeal
    note: str | None  # only for the channel that filed the appeal


async def updates(
    session: AsyncSession,
    node: Node,
    channel: Channel,
    start: datetime,
    end: datetime,
    limit: int = MAX_ROWS,
) -> list[UpdateRow]:
    """Every state change of the node's appeals between ``start`` and ``end``, oldest
    first (a channel polls with the time of the last one it saw)."""
    stmt = (
        select(AppealEvent, Appeal, ChannelAppeal.channel_id)
        .join(Appeal, Appeal.id == AppealEvent.appeal_id)
        .outerjoin(ChannelAppeal, ChannelAppeal.appeal_id == Appeal.id)
        .where(
            scope_clause(node),
            AppealEvent.at >= start,
            AppealEvent.at <= end,
            AppealEvent.kind.in_(list(UPDATE_STATUS)),
        )
        .order_by(AppealEvent.at, AppealEvent.id)
        .limit(max(1, min(limit, MAX_ROWS)))
    )
    out = []
    for event, appeal, channel_id in (await session.execute(stmt)).all():
        status = UPDATE_STATUS[event.kind]
        if event.kind == "rejected" and event.data.get("duplicate_of"):
            status = "duplicate"
        mine = channel_id == channel.id
        note = event.note if mine and event.kind in NOTE_EVENTS else None
        out.append(UpdateRow(event, status, appeal, note))
    return out
