"""One services object per unit of work (an update, a job run, a test step): the
database session, the clock, the features' configuration, and every repository and
feature service, each built on first use. Committing through it is the one commit of the
unit, and tells whoever listens (the outbox delivery) that new messages may be owed.

Feature services plug in without a list to edit: any class with a ``from_services``
class method is built by ``services.get(TheService)``, once per unit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.clock import Clock
from storage.hierarchy import HierarchyRepo
from storage.outbox import OutboxRepo, took_owed
from storage.roles import StaffRepo
from storage.users import UserRepo


class FromServices(Protocol):
    @classmethod
    def from_services(cls, services: Services) -> Self: ...


S = TypeVar("S", bound=FromServices)
C = TypeVar("C")


class Config:
    """Feature configuration objects by type (e.g. the appeal policy)."""

    def __init__(self, objects: Iterable[object] = ()) -> None:
        self._by_type: dict[type, object] = {type(o): o for o in objects}

    def get(self, kind: type[C]) -> C:
        try:
            value = self._by_type[kind]
        except KeyError:
            raise LookupError(f"no configuration of type {kind.__name__} registered") from None
        assert isinstance(value, kind)
        return value

    def with_overrides(self, objects: Iterable[object]) -> Config:
        merged = Config(self._by_type.values())
        merged._by_type.update({type(o): o for o in objects})
        return merged

    def items(self) -> Mapping[type, object]:
        return dict(self._by_type)


class Services:
    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        config: Config | None = None,
        *,
        on_owed: Callable[[], object] | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self._config = config or Config()
        self._on_owed = on_owed
        self._built: dict[type, Any] = {}

    def now(self) -> datetime:
        return self.clock.now()

    def config(self, kind: type[C]) -> C:
        return self._config.get(kind)

    def get(self, kind: type[S]) -> S:
        """The feature service ``kind`` for this unit of work, built on first use."""
        built = self._built.get(kind)
        if built is None:
            built = kind.from_services(self)
            self._built[kind] = built
        assert isinstance(built, kind)
        return built

    @cached_property
    def hierarchy(self) -> HierarchyRepo:
        return HierarchyRepo(self.session)

    @cached_property
    def users(self) -> UserRepo:
        return UserRepo(self.session)

    @cached_property
    def staff(self) -> StaffRepo:
        return StaffRepo(self.session)

    @cached_property
    def audit(self) -> AuditRepo:
        return AuditRepo(self.session)

    @cached_property
    def outbox(self) -> OutboxRepo:
        return OutboxRepo(self.session)

    async def commit(self) -> None:
        """Commit, and wake the delivery if what was committed owes a message."""
        await self.session.commit()
        if took_owed(self.session) and self._on_owed is not None:
            self._on_owed()

    async def rollback(self, *keep: object) -> None:
        """Undo what failed (a conflict with a concurrent change). A rollback expires
        everything loaded so far; ``keep`` are reloaded so the caller can go on using
        them."""
        await self.session.rollback()
        took_owed(self.session)  # what was rolled back owes nothing
        self._built.clear()
        for instance in keep:
            if instance is not None:
                await self.session.refresh(instance)
