"""outbox: delivery lanes, a generic subject instead of the appeal, a partial index of
what is still owed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("sent_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")
        batch_op.alter_column("appeal_id", new_column_name="subject_id")
        batch_op.add_column(
            sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="2")
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("lane", server_default=None)
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["lane", "id"],
        unique=False,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lane")
        batch_op.alter_column("subject_id", new_column_name="appeal_id")
        batch_op.create_index(
            "ix_outbox_pending", ["sent_at", "failed_at", "not_before"], unique=False
        )
