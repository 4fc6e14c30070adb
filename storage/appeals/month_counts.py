"""The triggers that keep ``appeal_month_counts`` (models.AppealMonthCount): the KPI
counts of the settled appeals (not open) per grid, UTC month of submission, state and
category, moved by the database itself on every insert, update and delete of an appeal,
whoever writes it (the service, a bulk fill, a migration); storage.appeals.kpi reads
them and counts the open appeals live.

The SQL is built from the conditions ``kpi.counted`` defines (the ones the live count
uses), so the kept counts and the live ones cannot say different things; a change to
those conditions needs a migration that runs ``create`` again (and ``backfill``).

On PostgreSQL the counts move with ``INSERT … ON CONFLICT DO UPDATE`` in the writing
transaction: concurrent writers of one (grid, month, state, category) wait for each
other's commit, and a reader sees the counts and the appeals of one snapshot. An update
that moves a settled appeal between two keys (rated → closed) takes them in the order of
the states' life (resolved, rated, closed), the same for every such update."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import ColumnElement

from storage.appeals.kpi import COUNTS, counted, settled_clause, settled_late_clause
from storage.appeals.models import Appeal, AppealMonthCount

TABLE = AppealMonthCount.__tablename__
KEY = ("district_id", "month", "street_id", "community_id", "grid_id", "state", "category")
NUMBERS = ("filed", *COUNTS)
# The appeal columns the counts depend on: an update of no other moves them.
WATCHED = (
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "submitted_at",
    "state",
    "category",
    "duplicate_of",
    "accepted_in_time",
    "resolved_in_time",
    "resolved_at",
    "rating",
    "reopened",
)
NAMES = ("appeal_month_counts_insert", "appeal_month_counts_update", "appeal_month_counts_delete")


def month_of(dialect: str) -> ColumnElement[int]:
    """``kpi.utc_month`` of ``submitted_at`` in SQL (SQLite stores UTC, naive)."""
    if dialect == "sqlite":
        return cast(func.strftime("%Y%m", Appeal.submitted_at), Integer)
    return cast(func.to_char(func.timezone("UTC", Appeal.submitted_at), "YYYYMM"), Integer)


def _sql(element: ColumnElement[Any], dialect: str, row: str) -> str:
    """``element`` over one appeal row, ``NEW`` or ``OLD``, as trigger SQL."""
    d: Dialect = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()  # type: ignore[no-untyped-call]
    sql = str(element.compile(dialect=d, compile_kwargs={"literal_binds": True}))
    return sql.replace(f"{Appeal.__tablename__}.", f"{row}.")


def _values(dialect: str, row: str) -> tuple[list[str], list[str]]:
    """The key and the numbers of one appeal's contribution."""
    key = [
        f"{row}.district_id",
        _sql(month_of(dialect), dialect, row),
        f"{row}.street_id",
        f"{row}.community_id",
        f"{row}.grid_id",
        f"{row}.state",
        f"{row}.category",
    ]
    numbers = ["1"] + [
        f"CASE WHEN {_sql(c, dialect, row)} THEN 1 ELSE 0 END"
        for c in counted(settled_late_clause())
    ]
    return key, numbers


def _settled(dialect: str, row: str) -> str:
    return _sql(settled_clause(), dialect, row)


def _add(dialect: str) -> str:
    key, numbers = _values(dialect, "NEW")
    sets = ", ".join(f"{n} = {TABLE}.{n} + excluded.{n}" for n in NUMBERS)
    return (
        f"INSERT INTO {TABLE} ({', '.join((*KEY, *NUMBERS))}) "
        f"SELECT {', '.join((*key, *numbers))} WHERE {_settled(dialect, 'NEW')} "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {sets}"
    )


def _take(dialect: str) -> str:
    key, numbers = _values(dialect, "OLD")
    sets = ", ".join(f"{n} = {n} - {v}" for n, v in zip(NUMBERS, numbers, strict=True))
    where = " AND ".join(f"{k} = {v}" for k, v in zip(KEY, key, strict=True))
    return f"UPDATE {TABLE} SET {sets} WHERE {where} AND {_settled(dialect, 'OLD')}"


def _changed(dialect: str) -> str:
    if dialect == "sqlite":
        return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    olds = ", ".join(f"OLD.{c}" for c in WATCHED)
    news = ", ".join(f"NEW.{c}" for c in WATCHED)
    return f"({olds}) IS DISTINCT FROM ({news})"


def create_statements(dialect: str) -> list[str]:
    insert_, update_, delete_ = NAMES
    watched = ", ".join(WATCHED)
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {insert_} AFTER INSERT ON appeals BEGIN {_add(dialect)}; END",
            f"CREATE TRIGGER {update_} AFTER UPDATE OF {watched} ON appeals "
            f"WHEN {_changed(dialect)} BEGIN {_take(dialect)}; {_add(dialect)}; END",
            f"CREATE TRIGGER {delete_} AFTER DELETE ON appeals BEGIN {_take(dialect)}; END",
        ]
    return [
        f"CREATE FUNCTION {insert_}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_add(dialect)}; RETURN NULL; END $$",
        f"CREATE FUNCTION {update_}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_take(dialect)}; {_add(dialect)}; RETURN NULL; END $$",
        f"CREATE FUNCTION {delete_}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_take(dialect)}; RETURN NULL; END $$",
        f"CREATE TRIGGER {insert_} AFTER INSERT ON appeals "
        f"FOR EACH ROW EXECUTE FUNCTION {insert_}()",
        f"CREATE TRIGGER {update_} AFTER UPDATE OF {watched} ON appeals "
        f"FOR EACH ROW WHEN ({_changed(dialect)}) EXECUTE FUNCTION {update_}()",
        f"CREATE TRIGGER {delete_} AFTER DELETE ON appeals "
        f"FOR EACH ROW EXECUTE FUNCTION {delete_}()",
    ]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in NAMES]
    return [f"DROP TRIGGER IF EXISTS {name} ON appeals" for name in NAMES] + [
        f"DROP FUNCTION IF EXISTS {name}()" for name in NAMES
    ]


def create(conn: Connection) -> None:
    """Creates the triggers (replacing any) and counts every appeal again."""
    dialect = conn.dialect.name
    for statement in (*drop_statements(dialect), *create_statements(dialect)):
        conn.execute(text(statement))
    backfill(conn)


def backfill(conn: Connection) -> None:
    """The counts of every settled appeal, from scratch."""
    dialect = conn.dialect.name
    month = month_of(dialect)
    keys = (
        Appeal.district_id,
        month,
        Appeal.street_id,
        Appeal.community_id,
        Appeal.grid_id,
        Appeal.state,
        Appeal.category,
    )
    flags = [func.sum(case((c, 1), else_=0)) for c in counted(settled_late_clause())]
    conn.execute(text(f"DELETE FROM {TABLE}"))
    conn.execute(
        insert(AppealMonthCount).from_select(
            list(KEY) + list(NUMBERS),
            select(*keys, func.count(), *flags).where(settled_clause()).group_by(*keys),
        )
    )
