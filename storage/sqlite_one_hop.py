"""SQLite statements in one trip to aiosqlite's thread each, not three or four.

aiosqlite runs the sqlite3 connection on a thread of its own, and SQLAlchemy's adapter
makes a separate trip there to open a cursor, to execute, to fetch the rows and to close
the cursor. Each trip wakes that thread and then the event loop again, and the two take
the GIL from each other: under a burst of council ballots (bench/vote_burst.py) those
trips were about a tenth of the event loop's busy time, spent on no work. Here a
statement opens, executes, fetches and closes its cursor in one function run on that
thread; what SQLAlchemy reads afterwards (rows, description, row count, last row id) is
kept on the adapter's cursor. Streaming (server-side) cursors are left as they were.

Two more things ride on the same cursor: writers of the engine take turns in the process
(storage/sqlite_turns.py) instead of sleeping in SQLite's busy handler, and once a
transaction holds the write lock its single statements run on the event loop's thread,
so the lock is held for the work and not for a trip to the thread and back per statement
(under 200 residents filing at once a confirm held it through 8 trips, 37 ms on average,
and every writer queued behind that).

Installed on an engine by ``install`` (storage/sessions.py does it for every SQLite
engine); the URL and dialect stay aiosqlite's."""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

from storage.sqlite_turns import WriteTurns, writes

# What a statement leaves for SQLAlchemy to read: description, row count, last row id, rows.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _statement(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        # sqlite3 counts the rows of an INSERT … RETURNING only once they are fetched.
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is opened here (that was a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._run(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = self._connection
        adapted = self._adapt_connection
        assert isinstance(adapted, OneHopConnection)
        if adapted.needs_turn(operation):
            await adapted.take_turn()
        outcome: _Outcome
        if adapted.writing and not many and not adapted._execute_mutex.locked():
            # The transaction holds SQLite's write lock: no lock this statement meets can
            # make it wait, so it runs here rather than a trip to the thread and back,
            # during which every other update would run a step while the lock stays held.
            # A batch (executemany: a notice's thousands of outbox rows) still goes to the
            # thread, so as not to stop the loop for its length.
            outcome = _statement(connection._conn, operation, parameters, many)
        else:
            async with adapted._execute_mutex:
                outcome = await connection._execute(
                    _statement, connection._conn, operation, parameters, many
                )
            adapted.wrote(operation)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        return None  # sqlite3 runs one statement per execute


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Also takes the engine's turn to write (storage/sqlite_turns.py) before its
    transaction's first write, and gives it back when the transaction ends."""

    __slots__ = ("_turn", "_turn_asked", "_turns", "_writing")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any, turns: WriteTurns) -> None:
        super().__init__(dbapi, connection)
        self._turns = turns
        self._turn: asyncio.Lock | None = None
        self._turn_asked = False  # asked in this transaction (had or waived after timeout)
        self._writing = False  # the transaction's first write went through

    def needs_turn(self, operation: str) -> bool:
        return not self._turn_asked and writes(operation)

    async def take_turn(self) -> None:
        self._turn_asked = True
        self._turn = await self._turns.take()

    @property
    def writing(self) -> bool:
        """Whether this connection's transaction holds SQLite's write lock by now."""
        return self._writing

    def wrote(self, operation: str) -> None:
        if self._turn is None:
            return
        if not self._connection._conn.in_transaction:
            # No transaction holds the write (autocommit): it is over already, and no
            # commit or rollback will come to give the turn back.
            self._give_turn_back()
        elif not self._writing and writes(operation):
            # A write that returned got the lock (one that waited for it raised instead).
            self._writing = True

    def _give_turn_back(self) -> None:
        turn, self._turn, self._turn_asked = self._turn, None, False
        self._writing = False
        if turn is not None:
            turn.release()

    def commit(self) -> None:
        try:
            if self._writing and not self._execute_mutex.locked():
                # As for its statements: a transaction holding the write lock meets no lock
                # at COMMIT, so it ends here, not after a trip to the thread during which
                # every other update runs a step and every other writer waits for the turn.
                try:
                    self._connection._conn.commit()
                except Exception as error:
                    self._handle_exception(error)
            else:
                super().commit()
        finally:
            self._give_turn_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_turn_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_turn_back()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self._give_turn_back()


def install(engine: AsyncEngine, *, busy_timeout: float) -> None:
    """Every connection the engine opens from now on runs each statement in one trip, and
    writes in turn with the engine's other connections."""
    turns = WriteTurns(busy_timeout)

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> OneHopConnection:
        adapted = dialect.loaded_dbapi.connect(*cargs, **cparams)
        return OneHopConnection(adapted.dbapi, adapted._connection, turns)
