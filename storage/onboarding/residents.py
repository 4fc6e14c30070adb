"""Binding a resident to their building, the one place that asks for consent: nobody's
building (and so nothing about them) is stored before they agreed to the privacy notice,
whichever path led here (a QR code, the menus, /building, the main menu)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.hierarchy import Node, NodeKind
from storage.users import User


class ConsentMissing(Exception):
    """The person has not agreed to the privacy notice: show it first."""


async def bind(
    session: AsyncSession, user: User, building: Node, now: datetime, *, consenting: bool
) -> None:
    """Bind ``user`` to ``building``. ``consenting``: they agreed to the notice just now,
    on the screen that showed it; otherwise they must have agreed before."""
    if building.node_kind is not NodeKind.BUILDING:
        raise ValueError("residents bind to a building")
    if user.consent_at is None and not consenting:
        raise ConsentMissing
    if user.consent_at is None:
        user.consent_at = now
    user.building_id = building.id
    await session.flush()
