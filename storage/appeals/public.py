"""What the public may see of appeals: the one rule the public page and the Open311
service's reads without a key share (finished appeals only, ``PUBLIC_STATES``), the
areas whose rankings are public (a district ranks its streets, a street its
communities), and resolved appeals as anonymised examples.

An example names the category and the place down to the community, never the
building; the resident's words only when they did not ask to stay anonymous (never a
caller's from another channel: ``shows_words``), with phone-like digit runs, house
numbers, the community's buildings and the names of its residents, of the district's
staff and of everyone who acted on the appeal masked. Never a name, phone, building or
Telegram id."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.kpi import Month, in_node
from storage.appeals.models import Appeal, AppealEvent, State
from storage.hierarchy import HierarchyRepo, Node, NodeKind, within_path
from storage.roles import RoleAssignment
from storage.users import User, UserRepo

PUBLIC_STATES = (State.RESOLVED, State.RATED, State.CLOSED)
PUBLIC_KINDS = (NodeKind.DISTRICT, NodeKind.STREET)  # whose children the public sees ranked
EXAMPLES = 10
MASK = "***"
MAX_ID = 2**31 - 1

# Seven or more digits, with the spaces, dashes, dots and brackets people write phone
# numbers with (a mobile, a landline with its area code, "+86 138-0000-0000").
_PHONE = re.compile(r"[+(（]?\d(?:[\s\-.()（）]*\d){6,}")
# A building, a unit or a flat by its number ("3号楼", "2单元", "501室", "12栋").
_ADDRESS = re.compile(r"\d+\s*(?:号楼|栋|幢|单元|室)")


def public_clause() -> ColumnElement[bool]:
    """Appeals the public may see: finished ones."""
    return Appeal.state.in_(PUBLIC_STATES)


def is_public_area(node: Node | None) -> bool:
    return node is not None and node.node_kind in PUBLIC_KINDS


async def public_area(session: AsyncSession, node_id: int | None) -> Node | None:
    """The district or street ``node_id`` names; without one the first district. None
    for anything else (a community, a grid, a building, an id that does not exist)."""
    repo = HierarchyRepo(session)
    if node_id is None:
        districts = await repo.of_kind(NodeKind.DISTRICT)
        return districts[0] if districts else None
    if not 0 < node_id <= MAX_ID:
        return None
    node = await repo.get(node_id)
    return node if is_public_area(node) else None


@dataclass(frozen=True)
class Example:
    category: str  # the category's code
    street: str
    community: str
    submitted_at: datetime
    resolved_at: datetime | None
    rating: str | None
    words: str | None  # masked; None when the resident asked for anonymity


def _names(user: User | None) -> list[str]:
    if user is None:
        return []
    parts = [user.first_name, user.last_name or "", user.username or ""]
    whole = [user.display_name, f"{user.first_name}{user.last_name or ''}"]
    if user.username:
        whole.append("@" + user.username)
    # A one-letter name would mask that letter everywhere.
    return [p for p in (*whole, *parts) if len(p) > 1 and not p.isdigit()]


def mask(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with phone-like digit runs, building and flat numbers and each of
    ``names`` (longest first, so a full name goes before its parts) replaced."""
    found = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if found:
        # One pass over the text for every name: a community's residents are thousands.
        pattern = "|".join(re.escape(n) for n in found)
        text = re.sub(pattern, MASK, text, flags=re.IGNORECASE)
    text = _PHONE.sub(MASK, text)
    text = _ADDRESS.sub(MASK, text)
    # "******" would tell how many things were hidden side by side: one mask says enough.
    return re.sub(f"(?:{re.escape(MASK)})+", MASK, text)


def shows_words(appeal: Appeal) -> bool:
    """A resident's words are public when they did not ask to stay anonymous. An appeal
    without a resident (a hotline's or a web form's, whose caller was never asked, or
    one whose resident deleted their data) keeps its words to the staff, as Open311's
    reads keep a caller's words to the channel that filed them."""
    return appeal.resident_id is not None and not appeal.anonymous and bool(appeal.text.strip())


async def _community_words(session: AsyncSession, community: Node) -> list[str]:
    """What a resident's words may name of their community that the page must not: its
    buildings (names and codes) and the names of the people living there."""
    buildings = select(Node.id).where(
        Node.kind == NodeKind.BUILDING, within_path(Node.path, community.path)
    )
    words = [
        v
        for row in await session.execute(select(Node.name, Node.code).where(Node.id.in_(buildings)))
        for v in row
    ]
    for user in (
        await session.execute(select(User).where(User.building_id.in_(buildings)))
    ).scalars():
        words += _names(user)
    return words


async def _staff_words(session: AsyncSession, district: Node) -> list[str]:
    """The names of everyone who holds or held a role in ``district`` (or everywhere):
    the people residents thank or ask for by name."""
    nodes = select(Node.id).where(within_path(Node.path, district.path))
    staff = select(RoleAssignment.user_id).where(
        or_(RoleAssignment.node_id.in_(nodes), RoleAssignment.node_id.is_(None))
    )
    users = (await session.execute(select(User).where(User.id.in_(staff)))).scalars()
    return [n for u in users for n in _names(u)]


async def _people(session: AsyncSession, appeals: list[Appeal]) -> dict[int, list[str]]:
    """Each appeal's people by name: the resident, its owner and whoever acted on it."""
    ids = [a.id for a in appeals]
    who: dict[int, set[int]] = {
        a.id: {u for u in (a.resident_id, a.owner_id) if u} for a in appeals
    }
    for appeal_id, actor_id in await session.execute(
        select(AppealEvent.appeal_id, AppealEvent.actor_id)
        .where(AppealEvent.appeal_id.in_(ids), AppealEvent.actor_id.is_not(None))
        .distinct()
    ):
        if actor_id is not None:
            who[appeal_id].add(actor_id)
    users = await UserRepo(session).get_many({u for found in who.values() for u in found})
    return {
        appeal_id: [n for u in found if u in users for n in _names(users[u])]
        for appeal_id, found in who.items()
    }


async def examples(
    session: AsyncSession,
    node: Node,
    month: Month,
    *,
    zone: ZoneInfo,
    limit: int = EXAMPLES,
) -> list[Example]:
    """The month's appeals of ``node`` the public may see, latest first, anonymised."""
    start, end = month.bounds(zone)
    stmt = (
        select(Appeal)
        .where(
            *in_node(node),
            Appeal.submitted_at >= start,
            Appeal.submitted_at < end,
            public_clause(),
        )
        .order_by(Appeal.submitted_at.desc(), Appeal.id.desc())
        .limit(limit)
    )
    appeals = list((await session.execute(stmt)).scalars())
    if not appeals:
        return []
    ids = {a.community_id for a in appeals} | {a.street_id for a in appeals}
    ids |= {a.district_id for a in appeals}
    places = {
        n.id: n for n in (await session.execute(select(Node).where(Node.id.in_(ids)))).scalars()
    }
    hidden = {
        c: await _community_words(session, places[c])
        for c in {a.community_id for a in appeals}
        if c in places
    }
    staff = {
        d: await _staff_words(session, places[d])
        for d in {a.district_id for a in appeals}
        if d in places
    }
    people = await _people(session, appeals)
    out = []
    for a in appeals:
        words = None
        if shows_words(a):
            names = [
                *hidden.get(a.community_id, []),
                *staff.get(a.district_id, []),
                *people.get(a.id, []),
            ]
            words = mask(a.text, names)
        street, community = places.get(a.street_id), places.get(a.community_id)
        out.append(
            Example(
                category=a.category,
                street=street.name if street else "",
                community=community.name if community else "",
                submitted_at=a.submitted_at,
                resolved_at=a.resolved_at,
                rating=a.rating,
                words=words,
            )
        )
    return out
