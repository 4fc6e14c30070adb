"""Who the sandbox can play: the demo people (plus two newcomers who have not met the bot
yet), each with a label for the persona picker, a phone for "share contact" and a spot
near their building for "share location"; and the demo buildings' QR deep links."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.onboarding.deeplinks import BUILDING_PREFIX, building_link
from bot.i18n import translator
from storage.demo import DEMO_PERSONAS, DEMO_USER_ID_BASE, Persona
from storage.hierarchy import Node, NodeKind

# Muping district, Yantai: the demo's buildings are scattered around this point.
CENTRE = (37.3880, 121.6030)
# Newcomers live outside the seeded data: they show onboarding through a QR deep link.
NEWCOMERS = (
    Persona(DEMO_USER_ID_BASE + 101, "新居民 小周", "newcomer", None, None, "+8613900000101"),
    Persona(
        DEMO_USER_ID_BASE + 102, "New resident Amy", "newcomer", None, None, "+8613900000102", "en"
    ),
)
ROLE_ORDER = (
    "resident",
    "worker",
    "community_staff",
    "street_staff",
    "district_staff",
    "admin",
    "newcomer",
)
_ROLE_LABELS = {"resident": "居民", "newcomer": "新用户（未注册）"}


@dataclass(frozen=True)
class PersonaView:
    id: int
    name: str
    role: str
    role_label: str
    place: str  # where they live, "通海社区 · 第一网格 · 1号楼"
    scope: str  # where they work, for staff
    phone: str
    latitude: float
    longitude: float
    language: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BuildingView:
    code: str
    label: str
    payload: str  # what /start carries: b_<qr token>
    link: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Directory:
    personas: list[PersonaView]
    buildings: list[BuildingView]
    defaults: list[int]  # the panes a fresh page opens

    def persona(self, user_id: int) -> PersonaView | None:
        return next((p for p in self.personas if p.id == user_id), None)


def spot_near(code: str) -> tuple[float, float]:
    """A fixed point a few hundred metres from the centre, the same on every run."""
    h = zlib.crc32(code.encode())
    return (
        round(CENTRE[0] - 0.012 + (h % 240) / 10000, 5),
        round(CENTRE[1] - 0.020 + (h // 240 % 400) / 10000, 5),
    )


def role_label(role: str) -> str:
    if role in _ROLE_LABELS:
        return _ROLE_LABELS[role]
    return translator("zh")(f"roles.{role}")


async def load_directory(session: AsyncSession, bot_username: str) -> Directory:
    nodes = {n.id: n for n in (await session.execute(select(Node))).scalars()}
    by_code = {n.code: n for n in nodes.values()}

    def label(code: str | None) -> str:
        node = by_code.get(code) if code else None
        if node is None:
            return ""
        chain = [nodes[i] for i in node.ancestor_ids() if i in nodes]
        # District and street are the same for nearly everyone; keep labels short.
        short = [n for n in chain if n.kind not in (NodeKind.DISTRICT, NodeKind.STREET)]
        return " · ".join(n.name for n in short) or node.name

    personas = []
    for p in sorted(
        [*DEMO_PERSONAS, *NEWCOMERS], key=lambda p: (ROLE_ORDER.index(p.role), p.user_id)
    ):
        lat, lon = spot_near(p.building_code or "centre")
        scope = label(p.scope_code)
        if p.role == "admin" and not p.scope_code:
            scope = translator("zh")("roles.everywhere")
        personas.append(
            PersonaView(
                id=p.user_id,
                name=p.name,
                role=p.role,
                role_label=role_label(p.role),
                place=label(p.building_code),
                scope=scope,
                phone=p.phone or "",
                latitude=lat,
                longitude=lon,
                language=p.language,
            )
        )
    buildings = [
        BuildingView(
            code=n.code,
            label=label(n.code),
            payload=f"{BUILDING_PREFIX}{n.qr_token}",
            link=building_link(bot_username, n.qr_token),
        )
        for n in sorted(by_code.values(), key=lambda n: n.ancestor_ids())  # import order
        if n.kind == NodeKind.BUILDING and n.qr_token
    ]
    return Directory(personas, buildings, _default_panes(by_code))


def _default_panes(by_code: dict[str, Node]) -> list[int]:
    """A resident, the grid worker of that resident's grid and the staff of that
    community: the three people one appeal travels between."""
    resident = next(p for p in DEMO_PERSONAS if p.role == "resident")
    building = by_code.get(resident.building_code or "")
    if building is None:  # a database that is not the demo's
        return [p.user_id for p in DEMO_PERSONAS[:3]]
    grid_id, community_id = building.parent_id, None
    for node in by_code.values():
        if node.id == grid_id:
            community_id = node.parent_id
    chosen = [resident.user_id]
    for role, node_id in (("worker", grid_id), ("community_staff", community_id)):
        match = next(
            (
                p
                for p in DEMO_PERSONAS
                if p.role == role and _node_id(by_code, p.scope_code) == node_id
            ),
            None,
        )
        if match is not None:
            chosen.append(match.user_id)
    return chosen


def _node_id(by_code: dict[str, Node], code: str | None) -> int | None:
    node = by_code.get(code) if code else None
    return node.id if node else None
