"""Filing an appeal for a channel: where it goes (a building's code, the nearest building
to a point, a building named in an address, or else the community, street or district
the address names, to be placed by hand) and filing it through the appeals' own service,
so it is dispatched, pushed, timed and counted exactly as one filed in the chat.

A retry carrying the channel's ticket number (``external_id``) files nothing new: the
ticket becomes the appeal's filing key, unique in the database, so two retries racing
each other also end with one appeal."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appeals import (
    AppealError,
    AppealPolicy,
    AppealService,
    Draft,
    Problem,
    Rating,
)
from storage.appeals.models import MAX_CHANNEL_TEXT, Appeal
from storage.channels.models import BuildingPoint, Channel, ChannelAppeal
from storage.channels.rules import files_at
from storage.hierarchy import HierarchyRepo, Node, NodeKind, within_path

if TYPE_CHECKING:
    from storage.services import Services

NEAREST_METRES = 300.0
MAX_EXTERNAL_ID = 64
# Attributes a channel may send (GeoReport's attribute[code]); others are refused, so a
# typo is not silently lost.
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "紧急"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", ""})
_EARTH_METRES = 6_371_000.0


class IntakeError(Exception):
    """A field the channel sent that cannot be filed, and why (GeoReport answers 400
    with a description naming the field)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Intake:
    """A POSTed service request, its types checked by the web layer."""

    service_code: str
    description: str = ""
    address_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address_string: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    media_url: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def external_id(self) -> str | None:
        value = (self.attributes.get("external_id") or "").strip()
        return value or None

    @property
    def caller_name(self) -> str | None:
        name = " ".join(p.strip() for p in (self.last_name, self.first_name) if p and p.strip())
        return name or None


@dataclass(frozen=True)
class Placement:
    node: Node  # a building, or the community / street / district it waits at
    placed: bool


@dataclass(frozen=True)
class Filed:
    appeal: Appeal
    created: bool  # False: a retry of a ticket already filed


def filing_key(channel_id: int, external_id: str) -> str:
    """The appeal's filing key for a channel's ticket (fits the 32 characters of
    ``Appeal.draft_key``; the channel's id keeps tickets of two channels apart)."""
    digest = hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:22]
    return f"c{channel_id}:{digest}"


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_METRES * math.asin(math.sqrt(a))


def _squash(text: str) -> str:
    return "".join(text.split())


class ChannelIntake:
    def __init__(self, session: AsyncSession, appeals: AppealService) -> None:
        self.session = session
        self.appeals = appeals
        self.hierarchy = HierarchyRepo(session)

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session, services.get(AppealService))

    @property
    def policy(self) -> AppealPolicy:
        return self.appeals.policy

    async def file(self, channel: Channel, node: Node, intake: Intake) -> Filed:
        """File ``intake`` for ``channel`` (whose node is ``node``), or return the appeal
        its ticket number already filed. Raises IntakeError for what cannot be filed."""
        self._check(intake)
        external = intake.external_id
        key = filing_key(channel.id, external) if external else None
        if key is not None:
            existing = await self.appeals.by_draft(key)
            if existing is not None:
                return Filed(existing, created=False)
        placement = await self.place(node, intake)
        draft = Draft(
            category=intake.service_code,
            text=intake.description,
            latitude=intake.latitude,
            longitude=intake.longitude,
            urgent=_flag(intake.attributes.get("urgent")),
            # The caller's number: the phone field, else the call-back attribute.
            contact_phone=(intake.phone or intake.attributes.get("callback_phone") or "").strip()
            or None,
            key=key,
        )
        try:
            async with self.session.begin_nested():
                appeal = await self.appeals.file(None, placement.node, draft, channel=channel.name)
                self.session.add(
                    ChannelAppeal(
                        appeal_id=appeal.id,
                        channel_id=channel.id,
                        external_id=external,
                        caller_name=intake.caller_name,
                        caller_email=(intake.email or "").strip() or None,
                        media_url=(intake.media_url or "").strip() or None,
                        address_string=(intake.address_string or "").strip() or None,
                        placed=placement.placed,
                        attributes=dict(intake.attributes),
                    )
                )
                await self.session.flush()
        except IntegrityError:
            # Another retry of the same ticket filed it a moment ago: that appeal is it.
            if key is None:
                raise
            existing = await self.appeals.by_draft(key)
            if existing is None:
                raise
            return Filed(existing, created=False)
        except AppealError as exc:
            raise IntakeError(_field_of(exc.problem), str(exc)) from None
        return Filed(appeal, created=True)

    def _check(self, intake: Intake) -> None:
        if self.policy.category(intake.service_code) is None or intake.service_code == "urgent":
            raise IntakeError("service_code", f"unknown service_code {intake.service_code!r}")
        if not intake.description.strip():
            raise IntakeError("description", "description is required")
        if len(intake.description.strip()) > MAX_CHANNEL_TEXT:
            raise IntakeError("description", f"description is longer than {MAX_CHANNEL_TEXT}")
        external = intake.external_id
        if external is not None and len(external) > MAX_EXTERNAL_ID:
            raise IntakeError(
                "attribute[external_id]", f"external_id is longer than {MAX_EXTERNAL_ID}"
            )
        for name in ("urgent",):
            value = intake.attributes.get(name)
            if value is not None and value.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
                raise IntakeError(f"attribute[{name}]", f"{name} must be true or false")
        if len((intake.phone or "").strip()) > 32:
            raise IntakeError("phone", "phone is longer than 32")
        if len((intake.attributes.get("callback_phone") or "").strip()) > 32:
            raise IntakeError("attribute[callback_phone]", "callback_phone is longer than 32")

    async def place(self, node: Node, intake: Intake) -> Placement:
        """Where the appeal goes, within the channel's ``node``."""
        if intake.address_id:
            building = await self.hierarchy.by_code(intake.address_id.strip())
            if building is None or building.node_kind is not NodeKind.BUILDING:
                raise IntakeError("address_id", f"unknown address_id {intake.address_id!r}")
            if not files_at(node, building):
                raise IntakeError("address_id", "address_id is outside this channel's area")
            return Placement(building, True)
        if intake.latitude is not None and intake.longitude is not None:
            nearest = await self.nearest(node, intake.latitude, intake.longitude)
            if nearest is not None:
                return Placement(nearest, True)
        if intake.address_string and intake.address_string.strip():
            return await self.match_address(node, intake.address_string)
        if intake.latitude is not None and intake.longitude is not None:
            return Placement(node, False)
        raise IntakeError(
            "address_string", "a location is required: address_id, lat and long, or address_string"
        )

    async def nearest(self, node: Node, latitude: float, longitude: float) -> Node | None:
        """The nearest building of ``node`` within 300 m of the point, where buildings
        have coordinates."""
        dlat = NEAREST_METRES / 111_000
        dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
        stmt = (
            select(Node, BuildingPoint)
            .join(BuildingPoint, BuildingPoint.building_id == Node.id)
            .where(
                BuildingPoint.latitude.between(latitude - dlat, latitude + dlat),
                BuildingPoint.longitude.between(longitude - dlon, longitude + dlon),
                within_path(Node.path, node.path),
            )
        )
        best: tuple[float, Node] | None = None
        for building, point in (await self.session.execute(stmt)).all():
            metres = _metres(latitude, longitude, point.latitude, point.longitude)
            if metres <= NEAREST_METRES and (best is None or metres < best[0]):
                best = (metres, building)
        return best[1] if best else None

    async def match_address(self, node: Node, address: str) -> Placement:
        """A building whose community's and own names both appear in the address; else
        the community, or street, the address names (待定位 there); else the channel's
        node."""
        text = _squash(address)
        communities = await self._named(node, NodeKind.COMMUNITY, text)
        for community in communities:
            buildings = await self._named(community, NodeKind.BUILDING, text)
            if buildings:
                return Placement(buildings[0], True)
        if communities:
            return Placement(communities[0], False)
        streets = await self._named(node, NodeKind.STREET, text)
        if streets:
            return Placement(streets[0], False)
        return Placement(node, False)

    async def _named(self, within: Node, kind: NodeKind, text: str) -> Sequence[Node]:
        """Nodes of ``kind`` under ``within`` whose name the text contains, the longest
        name first ("12号楼" before "2号楼")."""
        nodes = await self.hierarchy.of_kind(kind, within)
        hits = [n for n in nodes if _squash(n.name) and _squash(n.name) in text]
        return sorted(hits, key=lambda n: -len(_squash(n.name)))


def _flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUE_WORDS


def _field_of(problem: Problem) -> str:
    return {
        Problem.TOO_LONG: "description",
        Problem.BAD_INPUT: "service_code",
    }.get(problem, "service_code")


SATISFACTION = {
    "satisfied": Rating.SATISFIED,
    "满意": Rating.SATISFIED,
    "basically": Rating.BASICALLY,
    "basically_satisfied": Rating.BASICALLY,
    "基本满意": Rating.BASICALLY,
    "unsatisfied": Rating.UNSATISFIED,
    "dissatisfied": Rating.UNSATISFIED,
    "不满意": Rating.UNSATISFIED,
}


async def relay_rating(
    session: AsyncSession,
    appeals: AppealService,
    channel: Channel,
    node: Node,
    appeal_id: int,
    satisfaction: str,
    comment: str | None,
    update_id: str | None = None,
) -> Appeal:
    """The caller's rating of a resolved appeal, relayed by the channel that filed it:
    the appeals' own rating, so it closes, reopens once and counts in the KPIs as a
    rating in the chat does. Another channel's appeal reads as one that does not exist.
    A retry carrying the same ``update_id`` (the channel's id of this update) rates
    nothing again and answers as the first did."""
    rating = SATISFACTION.get(satisfaction.strip().lower())
    if rating is None:
        raise IntakeError("attribute[satisfaction]", "satisfaction is not one of the values")
    stmt = (
        select(Appeal, ChannelAppeal)
        .join(ChannelAppeal, ChannelAppeal.appeal_id == Appeal.id)
        .where(Appeal.id == appeal_id, ChannelAppeal.channel_id == channel.id)
    )
    row = (await session.execute(stmt)).first()
    if row is None or not files_at(node, await _grid_node(session, row[0])):
        raise IntakeError("service_request_id", "not found")
    appeal, filed = row
    if update_id and update_id in filed.attributes.get("rating_updates", []):
        return appeal
    try:
        rated = await appeals.rate(appeal.id, None, rating, comment)
        if update_id:
            seen = [*filed.attributes.get("rating_updates", []), update_id[:64]]
            # A new dict: the JSON column is written only when it is replaced.
            filed.attributes = {**filed.attributes, "rating_updates": seen}
            await session.flush()
        return rated
    except AppealError as exc:
        if exc.problem is Problem.WRONG_STATE:
            raise IntakeError("status", "the appeal is not resolved") from None
        raise IntakeError("description", str(exc)) from None


async def _grid_node(session: AsyncSession, appeal: Appeal) -> Node:
    node = await HierarchyRepo(session).get(appeal.grid_id)
    assert node is not None
    return node
