"""notices: what staff broadcast, who acknowledged it, and quiet hours

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import TelegramId, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", TelegramId, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("buildings", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=True),
        sa.Column("source_chat_id", TelegramId, nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("ack_required", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("muted", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("send_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status_shown", sa.String(length=200), nullable=True),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("visits_sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_notices_node_id_nodes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_node", "notices", ["node_id", "created_at"], unique=False)
    op.create_index("ix_notices_state", "notices", ["state"], unique=False)
    op.create_table(
        "notice_acks",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("acked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_acks_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notice_id", "user_id", name=op.f("pk_notice_acks")),
    )

    op.create_table(
        "notice_preferences",
        sa.Column("user_id", TelegramId, autoincrement=False, nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("quiet_from", sa.SmallInteger(), nullable=False),
        sa.Column("quiet_to", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notice_preferences")),
    )


def downgrade() -> None:
    op.drop_table("notice_preferences")
    op.drop_table("notice_acks")
    op.drop_index("ix_notices_state", table_name="notices")
    op.drop_index("ix_notices_node", table_name="notices")
    op.drop_table("notices")
