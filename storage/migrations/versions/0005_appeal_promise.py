"""appeals: the promise never moves; a handling window per level instead of moving
deadlines; resolved on time; duplicates; the filing form's id

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

appeals = sa.table(
    "appeals",
    sa.column("id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("reopened", sa.Boolean),
    sa.column("accept_due", UTCDateTime()),
    sa.column("resolve_due", UTCDateTime()),
    sa.column("window_due", UTCDateTime()),
    sa.column("resolved_at", UTCDateTime()),
    sa.column("first_accept_due", UTCDateTime()),
    sa.column("first_resolve_due", UTCDateTime()),
    sa.column("resolved_in_time", sa.Boolean),
    sa.column("deadline_at", UTCDateTime()),
    sa.column("duplicate_of", sa.Integer),
)
events = sa.table(
    "appeal_events",
    sa.column("appeal_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("data", sa.JSON),
)
UNACCEPTED = ("submitted",)
WORKING = ("accepted", "in_progress", "reopened")


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_in_time", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("window_due", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("draft_key", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_appeals_draft_key"), ["draft_key"])

    conn = op.get_bind()
    # The deadline in force becomes the holding level's window; the sort key becomes the
    # promise of the step still to come.
    conn.execute(
        appeals.update()
        .where(appeals.c.state.in_(UNACCEPTED))
        .values(window_due=appeals.c.accept_due, deadline_at=appeals.c.first_accept_due)
    )
    conn.execute(
        appeals.update()
        .where(appeals.c.state.in_(WORKING))
        .values(window_due=appeals.c.resolve_due, deadline_at=appeals.c.first_resolve_due)
    )
    conn.execute(
        appeals.update()
        .where(appeals.c.state == "reopened")
        .values(deadline_at=appeals.c.resolve_due)
    )
    conn.execute(
        appeals.update()
        .where(appeals.c.resolved_at.is_not(None))
        .values(resolved_in_time=appeals.c.resolved_at <= appeals.c.first_resolve_due)
    )
    for appeal_id, data in conn.execute(
        sa.select(events.c.appeal_id, events.c.data).where(events.c.kind == "rejected")
    ):
        original = (data or {}).get("duplicate_of")
        if original is not None:
            conn.execute(
                appeals.update().where(appeals.c.id == appeal_id).values(duplicate_of=int(original))
            )

    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_column("accept_due")
        batch_op.drop_column("resolve_due")


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accept_due", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolve_due", UTCDateTime(), nullable=True))
    conn = op.get_bind()
    conn.execute(
        appeals.update()
        .where(appeals.c.state.in_(UNACCEPTED))
        .values(accept_due=appeals.c.window_due, resolve_due=appeals.c.first_resolve_due)
    )
    conn.execute(
        appeals.update()
        .where(appeals.c.state.not_in(UNACCEPTED))
        .values(accept_due=appeals.c.first_accept_due, resolve_due=appeals.c.window_due)
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_appeals_draft_key"), type_="unique")
        batch_op.drop_column("draft_key")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("window_due")
        batch_op.drop_column("resolved_in_time")
