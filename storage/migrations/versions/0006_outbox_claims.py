"""outbox: claims (one sender per row, one message in flight per chat), the message id
sent, an index by subject

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("sent_at IS NULL AND failed_at IS NULL AND claimed_at IS NULL")
IN_FLIGHT = sa.text("sent_at IS NULL AND failed_at IS NULL AND claimed_at IS NOT NULL")
PENDING = sa.text("sent_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_outbox_waiting",
        "outbox",
        ["lane", "id"],
        unique=False,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )
    op.create_index(
        "ix_outbox_in_flight",
        "outbox",
        ["user_id"],
        unique=False,
        sqlite_where=IN_FLIGHT,
        postgresql_where=IN_FLIGHT,
    )
    op.create_index("ix_outbox_subject", "outbox", ["kind", "subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_subject", table_name="outbox")
    op.drop_index("ix_outbox_in_flight", table_name="outbox")
    op.drop_index("ix_outbox_waiting", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("message_id")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["lane", "id"],
        unique=False,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
