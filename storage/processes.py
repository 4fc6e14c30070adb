"""The processes that deliver the outbox. Each one has a row it renews every few seconds
(its heartbeat), and every claim it makes carries its id: a claim is held exactly as long
as its process lives, not for a fixed lease.

A process is dead when it has not beaten for ``silent_for`` (any live process finds that
out), or at once when a process starting on the same machine finds its pid gone (the
restart after a crash knows its predecessor). Liveness is measured on the wall clock,
never on the clock the tests and the sandbox move."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime


class OutboxProcess(Base):
    __tablename__ = "outbox_processes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Where the pid means something: host name and pid namespace (two containers on one
    # host have pids of their own).
    machine: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def beat(self, process_id: str, machine: str, pid: int, now: datetime) -> bool:
        """Renew the heartbeat, registering the process if it has no row (its first beat,
        or another process took it for dead: it is alive again from now). True when the
        row was new."""
        result = await self.session.execute(
            update(OutboxProcess).where(OutboxProcess.id == process_id).values(beat_at=now)
        )
        if getattr(result, "rowcount", 0):
            return False
        self.session.add(
            OutboxProcess(id=process_id, machine=machine, pid=pid, started_at=now, beat_at=now)
        )
        await self.session.flush()
        return True

    async def dead(
        self,
        me: str,
        now: datetime,
        silent_for: timedelta,
        *,
        machine: str,
        pid: int,
        pid_alive: Callable[[int], bool],
        everyone_else: bool = False,
    ) -> list[str]:
        """The processes that are gone: silent too long, or on this machine with a pid
        that no longer runs (or is this process's own pid: a container restarted).
        ``everyone_else``: every other process (a database only this process uses)."""
        rows = (
            await self.session.execute(
                select(
                    OutboxProcess.id,
                    OutboxProcess.machine,
                    OutboxProcess.pid,
                    OutboxProcess.beat_at,
                ).where(OutboxProcess.id != me)
            )
        ).all()
        gone = []
        for process_id, where, their_pid, beat_at in rows:
            if (
                everyone_else
                or beat_at < now - silent_for
                or (where == machine and (their_pid == pid or not pid_alive(their_pid)))
            ):
                gone.append(process_id)
        return gone

    async def forget(self, process_ids: Collection[str]) -> None:
        if process_ids:
            await self.session.execute(
                delete(OutboxProcess).where(OutboxProcess.id.in_(list(process_ids)))
            )
