"""partners: the channel or group a community's 晒单 are also posted to; whether an
order may be shown is unknown (NULL) until the resident answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import TelegramId, UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_orders") as batch:
        batch.alter_column("may_show", existing_type=sa.Boolean(), nullable=True)
    op.create_table(
        "partner_showcase_channels",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", TelegramId, nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("set_by", TelegramId, nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["nodes.id"],
            name=op.f("fk_partner_showcase_channels_community_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_partner_showcase_channels")),
    )


def downgrade() -> None:
    op.execute("UPDATE service_orders SET may_show = false WHERE may_show IS NULL")
    with op.batch_alter_table("service_orders") as batch:
        batch.alter_column("may_show", existing_type=sa.Boolean(), nullable=False)
    op.drop_table("partner_showcase_channels")
