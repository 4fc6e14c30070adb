"""What a feature keeps about a person, kind by kind.

Each feature lists, beside its ``forget`` hook, every column that names a person in
the rows the hook deletes or unlinks (``KEPT`` in ``storage/<feature>/privacy.py``).
The privacy screen counts each kind for the person asking, so it names everything
deleting would touch; a test holds the list and the hook together (tests/privacy), so a
kind added to one and not the other fails there, not in front of a resident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


@dataclass(frozen=True)
class Kept:
    """Rows naming the person in ``column``; ``label``: a locale key with ``{n}``."""

    label: str
    column: InstrumentedAttribute[Any]

    @property
    def where(self) -> str:
        """``table.column``, as the statements of a forget hook name it."""
        return f"{self.column.class_.__tablename__}.{self.column.key}"

    async def count(self, session: AsyncSession, user_id: int) -> int:
        stmt = select(func.count()).select_from(self.column.class_).where(self.column == user_id)
        return int((await session.execute(stmt)).scalar_one())
