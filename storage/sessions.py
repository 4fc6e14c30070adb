"""Engine and session factory for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from storage import sqlite_one_hop as one_hop


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://, sqlite:///x.db) and pick
    the async driver the project ships."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str, *, echo: bool = False, pool: int = 32, connect_args: dict[str, Any] | None = None
) -> AsyncEngine:
    """``pool``: connections at most. Updates wait for a turn before they take one (the
    dispatcher's bound), so the pool is sized, not left to overflow without end."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "connect_args": dict(connect_args or {})}
    if url.startswith("sqlite"):
        # One writer at a time: wait for the lock instead of failing with "database is locked".
        kwargs["connect_args"].setdefault("timeout", 30)
        # Statements of a transaction that holds the write lock run on the event loop's
        # thread (storage/sqlite_one_hop.py), one at a time per connection as before.
        kwargs["connect_args"]["check_same_thread"] = False
    else:
        kwargs.update(pool_size=max(1, pool // 2), max_overflow=pool - pool // 2)
    # Reset on return is ours (below): rolling back only what is still open.
    engine = create_async_engine(url, pool_reset_on_return=None, **kwargs)
    _roll_back_only_open_transactions(engine)
    if engine.dialect.name != "sqlite":
        ping_only_after_idle(engine)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, float(kwargs["connect_args"]["timeout"]))
    return engine


IN_TRANSACTION = "gridbot.in_transaction"


def _roll_back_only_open_transactions(engine: AsyncEngine) -> None:
    """The pool rolls every returned connection back, even one whose unit of work just
    committed: a round trip to the database (on SQLite, a hop to its thread) for nothing,
    on every update, delivery and page (a quarter of a plain update's trips). The
    connection's own events say whether a transaction is still open; only then is it
    rolled back. Anything that failed counts as open."""
    sync = engine.sync_engine

    def note(conn: Connection, in_transaction: bool) -> None:
        # An invalidated connection is thrown away, not reset; and reading its info would
        # raise (over whatever invalidated it, a cancellation included).
        if not conn.invalidated:
            conn.info[IN_TRANSACTION] = in_transaction

    @event.listens_for(sync, "begin")
    def _begun(conn: Connection) -> None:
        note(conn, True)

    @event.listens_for(sync, "commit")
    @event.listens_for(sync, "rollback")
    def _ended(conn: Connection) -> None:
        note(conn, False)

    @event.listens_for(sync, "handle_error")
    def _failed(context: ExceptionContext) -> None:
        if context.connection is not None:
            note(context.connection, True)

    @event.listens_for(sync, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
        if state.terminate_only or not state.asyncio_safe:
            return  # being closed for good, or outside the event loop: nothing to do here
        if record.info.pop(IN_TRANSACTION, True) and not state.transaction_was_reset:
            dbapi_connection.rollback()


IDLE_BEFORE_PING = 10.0  # seconds a pooled connection may rest and still be trusted
CHECKED_IN = "gridbot.checked_in"


def ping_only_after_idle(engine: AsyncEngine) -> None:
    """A pooled connection is pinged before use only when it has rested IDLE_BEFORE_PING
    seconds.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on asyncpg three round trips
    (BEGIN, a bare statement, ROLLBACK) before each update's, delivery's and page's
    first statement, for a connection that was in use a moment before. A connection
    that rested is where a database restart or a dropped network shows; that one is
    still pinged, and replaced when it is found dead. One that dies while in use fails
    its statement, and SQLAlchemy then drops every connection of the pool made before
    (its disconnect handling), so the next checkouts connect afresh."""
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    @event.listens_for(sync, "checkin")
    def _rested_since(_dbapi: Any, record: Any) -> None:
        record.info[CHECKED_IN] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _ping_if_rested(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(CHECKED_IN)
        if since is not None and time.monotonic() - since < IDLE_BEFORE_PING:
            return
        try:
            sync.dialect.do_ping(dbapi_connection)
        except sync.dialect.loaded_dbapi.Error as error:
            if sync.dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError() from error  # the pool connects afresh
            raise


def _tune_sqlite(engine: AsyncEngine, busy_timeout: float) -> None:
    one_hop.install(engine, busy_timeout=busy_timeout)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
