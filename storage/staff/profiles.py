"""Staff members' public cards: the work phone and whether name and phone may be shown to
residents (door posters, acceptance notices)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Self

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.privacy.kept import Kept
from storage.roles import Role, RoleAssignment
from storage.staff.models import StaffProfile
from storage.users import User

if TYPE_CHECKING:
    from storage.services import Services

MAX_PHONE = 32

KEPT = (Kept("staff.privacy.profile", StaffProfile.user_id),)


@dataclass(frozen=True)
class PublicContact:
    """What a resident may see of a staff member who chose to be public."""

    user_id: int
    name: str
    phone: str | None


class ProfileRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_services(cls, services: Services) -> Self:
        return cls(services.session)

    async def get(self, user_id: int) -> StaffProfile | None:
        return await self.session.get(StaffProfile, user_id)

    async def update(
        self,
        user_id: int,
        now: datetime,
        *,
        work_phone: str | None = None,
        clear_phone: bool = False,
        public: bool | None = None,
    ) -> StaffProfile:
        profile = await self.get(user_id)
        if profile is None:
            profile = StaffProfile(user_id=user_id, public=False, updated_at=now)
            self.session.add(profile)
        if work_phone is not None:
            profile.work_phone = work_phone.strip()[:MAX_PHONE] or None
        if clear_phone:
            profile.work_phone = None
        if public is not None:
            profile.public = public
        profile.updated_at = now
        await self.session.flush()
        return profile

    async def public_contact(self, user_id: int) -> PublicContact | None:
        """The staff member as residents may see them, or None if they chose not to be."""
        row = (
            await self.session.execute(
                select(User, StaffProfile)
                .join(StaffProfile, StaffProfile.user_id == User.id)
                .where(User.id == user_id, StaffProfile.public.is_(True))
            )
        ).first()
        if row is None:
            return None
        user, profile = row
        return PublicContact(user.id, user.display_name, profile.work_phone)

    async def grid_contacts(self, grid_ids: Iterable[int]) -> dict[int, list[PublicContact]]:
        """The public grid workers of each grid, by grid id (grids without one are left
        out)."""
        ids = list(grid_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            select(RoleAssignment.node_id, User, StaffProfile)
            .join(User, User.id == RoleAssignment.user_id)
            .join(StaffProfile, StaffProfile.user_id == User.id)
            .where(
                RoleAssignment.role == Role.WORKER,
                RoleAssignment.node_id.in_(ids),
                RoleAssignment.revoked_at.is_(None),
                StaffProfile.public.is_(True),
            )
            .order_by(RoleAssignment.node_id, RoleAssignment.id)
        )
        contacts: dict[int, list[PublicContact]] = {}
        for node_id, user, profile in rows.all():
            if node_id is None:
                continue
            contacts.setdefault(int(node_id), []).append(
                PublicContact(user.id, user.display_name, profile.work_phone)
            )
        return contacts


async def forget(session: AsyncSession, user_id: int) -> None:
    """Deleting a staff member's data removes their public card."""
    await session.execute(delete(StaffProfile).where(StaffProfile.user_id == user_id))
