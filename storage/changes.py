"""Changes committed to the database, announced to whoever listens in this process (the
desk's live pages, through a hub that carries them on to every process).

One general mechanism instead of a call in each handler: at every flush the unit of
work notes the rows of watched models it wrote (each feature says how such a row reads
as a ``Change``), and hands them over only once the transaction has committed; a
rollback drops them. Whatever commits through the sessionmaker (an update's handler, a
job, the desk, the sandbox) is announced the same way, and nothing that was rolled back
ever is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

_NOTED = "gridbot.changes"


@dataclass(frozen=True)
class Change:
    """One row that changed, as a live page needs to know of it: what it is, where in
    the hierarchy it lies (its scope paths, before and after a move) and when it next
    turns overdue by itself (no write marks that moment)."""

    topic: str
    id: int
    paths: tuple[str, ...]
    due: datetime | None = None

    def merged(self, other: Change) -> Change:
        paths = tuple(dict.fromkeys((*self.paths, *other.paths)))
        return Change(self.topic, self.id, paths, other.due if other.due else self.due)


# How a written row of a model reads as a change (None: nothing a page shows changed).
Describe = Callable[[Session, Any], Change | None]
# What an UPDATE or DELETE statement on a model's table (rows never loaded) changed.
DescribeBulk = Callable[[], Change]
Listener = Callable[[list[Change]], object]


class Announcer:
    """Installed on a sessionmaker: every commit of its sessions calls ``listener`` with
    the changes of the watched models (``describers``, by class) it wrote."""

    def __init__(
        self,
        describers: Mapping[type, Describe],
        listener: Listener,
        bulk: Mapping[type, DescribeBulk] | None = None,
    ) -> None:
        self.describers = dict(describers)
        self.bulk = dict(bulk or {})
        self.listener = listener
        self._installed: tuple[async_sessionmaker[AsyncSession], type[Session]] | None = None

    def install(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Sessions made from now on announce their commits. The sessionmaker gets a
        session class of its own, so other sessionmakers (another bot in the same
        process, a test's) are untouched."""
        if self._installed is not None:
            raise RuntimeError("already installed")
        base: type[Session] = sessionmaker.kw.get("sync_session_class") or Session
        announcing = type("AnnouncingSession", (base,), {})
        event.listen(announcing, "after_flush", self._noted)
        event.listen(announcing, "do_orm_execute", self._statement)
        event.listen(announcing, "after_commit", self._committed)
        event.listen(announcing, "after_soft_rollback", self._dropped)
        sessionmaker.configure(sync_session_class=announcing)
        self._installed = (sessionmaker, base)

    def uninstall(self) -> None:
        if self._installed is None:
            return
        sessionmaker, base = self._installed
        sessionmaker.configure(sync_session_class=base)
        self._installed = None

    def _noted(self, session: Session, _context: object) -> None:
        written: Iterable[object] = (*session.new, *session.dirty, *session.deleted)
        for row in written:
            describe = self.describers.get(type(row))
            change = describe(session, row) if describe is not None else None
            if change is not None:
                _note(session, change)

    def _statement(self, state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete) or state.bind_mapper is None:
            return
        describe = self.bulk.get(state.bind_mapper.class_)
        if describe is not None:
            _note(state.session, describe())

    def _committed(self, session: Session) -> None:
        noted: dict[tuple[str, int], Change] | None = session.info.pop(_NOTED, None)
        if noted:
            self.listener(list(noted.values()))

    def _dropped(self, session: Session, _previous: object) -> None:
        session.info.pop(_NOTED, None)


def _note(session: Session, change: Change) -> None:
    noted: dict[tuple[str, int], Change] = session.info.setdefault(_NOTED, {})
    key = (change.topic, change.id)
    earlier = noted.get(key)
    noted[key] = earlier.merged(change) if earlier else change
